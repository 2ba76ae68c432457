/**
 * The reason-code tables of docs/reason-codes.md and docs/fr/reason-codes.md, generated from
 * `REASON_CODES` in common/ (the English meaning is the code's own text there). The French meaning
 * and the advice for each code are kept here, next to the generator, and a test fails when a code
 * has none or when the committed tables differ from what this file generates.
 *
 *   npm run docs:reason-codes            rewrite the tables between their markers
 *   npm run docs:reason-codes -- --check exit 1 if a table is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REASON_CODES, type ReasonCode } from '@medimg/common';
import { REPO_ROOT } from './docs.ts';

interface CodeText {
  /** What a person does about it, in English. */
  readonly action: string;
  /** The meaning, in French. */
  readonly fr: string;
  /** What to do, in French. */
  readonly actionFr: string;
}

/** Advice and French text per code. Adding a code to common/ without an entry here fails a test. */
export const REASON_CODE_TEXTS: Readonly<Record<string, CodeText>> = {
  NOT_DICOM: {
    action: 'Check what was exported: a report, a ZIP or a DICOMDIR is not an image object.',
    fr: "L'objet n'est pas un fichier DICOM (ni préfixe DICM ni jeu de données lisible).",
    actionFr:
      "Vérifier ce qui a été exporté : un compte rendu, une archive ZIP ou un DICOMDIR n'est pas une image.",
  },
  DICOM_TRUNCATED: {
    action: 'Upload the file again; if it persists, export it again from the source system.',
    fr: "Le jeu de données s'arrête avant la fin d'un élément qu'il annonce.",
    actionFr: 'Renvoyer le fichier ; si le problème persiste, le réexporter depuis le système source.',
  },
  DICOM_MALFORMED: {
    action: 'Export again from the source; report the device if it recurs.',
    fr: 'Le jeu de données ne peut pas être lu (longueurs, VR ou imbrication incorrectes).',
    actionFr: "Réexporter depuis la source ; signaler l'appareil si cela se reproduit.",
  },
  DICOM_TOO_LARGE: {
    action: 'Split the export, or raise the worker memory and its limit.',
    fr: "L'objet dépasse la taille que le worker accepte.",
    actionFr: 'Découper l’export, ou augmenter la mémoire du worker et sa limite.',
  },
  DECODED_SIZE_LIMIT: {
    action:
      'Usually a hostile or broken file (a deflate bomb); if it is a real very large image, raise the worker memory.',
    fr: 'Une fois décodé, l’objet dépasserait le budget mémoire (jeu de données compressé par deflate ou image plus grande que MAX_DECODED_BYTES) : refusé avant d’être décodé en entier.',
    actionFr:
      'Le plus souvent un fichier malveillant ou défectueux (bombe de décompression) ; s’il s’agit vraiment d’une très grande image, augmenter la mémoire du worker.',
  },
  MISSING_REQUIRED_ATTRIBUTE: {
    action: 'The source system wrote an incomplete object: export again or fix at the source.',
    fr: 'Un attribut obligatoire manque (SOP Instance UID, Study ou Series Instance UID).',
    actionFr: 'Le système source a écrit un objet incomplet : réexporter ou corriger à la source.',
  },
  NO_PIXEL_DATA: {
    action: 'Nothing to do for structured reports or presentation states; they are not processed.',
    fr: "L'objet ne contient pas d'image à normaliser (classe SOP sans image).",
    actionFr:
      'Rien à faire pour les comptes rendus structurés ou les états de présentation : ils ne sont pas traités.',
  },
  UNSUPPORTED_TRANSFER_SYNTAX: {
    action: 'Export uncompressed (Explicit VR Little Endian) from the source.',
    fr: 'Aucun décodeur pour cette syntaxe de transfert.',
    actionFr: 'Exporter sans compression (Explicit VR Little Endian) depuis la source.',
  },
  UNSUPPORTED_PIXEL_FORMAT: {
    action: 'Export uncompressed, or as 8-bit colour.',
    fr: "Le format des pixels n'est pas pris en charge.",
    actionFr: 'Exporter sans compression, ou en couleur 8 bits.',
  },
  PIXEL_DATA_TRUNCATED: {
    action: 'Upload again; the transfer or the export was cut short.',
    fr: 'Les données de pixels sont plus courtes que lignes x colonnes x échantillons x images.',
    actionFr: "Renvoyer le fichier : le transfert ou l'export a été interrompu.",
  },
  PIXEL_DECODE_FAILED: {
    action: 'Export again, uncompressed if possible.',
    fr: 'Le codec a échoué à décoder les pixels.',
    actionFr: 'Réexporter, si possible sans compression.',
  },
  BURNED_IN_ANNOTATION: {
    action:
      'The image may show patient text: review it at the source, or deploy with burnedInPolicy=blank and regions.',
    fr: "L'image peut contenir du texte incrusté et la politique la met en quarantaine.",
    actionFr:
      "L'image peut afficher du texte patient : la revoir à la source, ou déployer avec burnedInPolicy=blank et des zones définies.",
  },
  DEID_FAILED: {
    action:
      'Report it to the team with the job id: it is a defect, never a reason to bypass de-identification.',
    fr: "La désidentification n'a pas pu aller jusqu'au bout.",
    actionFr:
      "Le signaler à l'équipe avec l'identifiant du job : c'est un défaut, jamais une raison de contourner la désidentification.",
  },
  FETCH_FAILED: {
    action: 'Re-run the job; check that the object still exists and the worker can read it.',
    fr: "L'objet n'a pas pu être lu dans le bucket brut.",
    actionFr: "Relancer le job ; vérifier que l'objet existe encore et que le worker peut le lire.",
  },
  INTERNAL_ERROR: {
    action: 'Report it with the job id; the job record holds the error code.',
    fr: "Erreur inattendue ; voir le code d'erreur dans l'enregistrement du job.",
    actionFr: "Le signaler avec l'identifiant du job ; l'enregistrement du job donne le code d'erreur.",
  },
};

export const REASON_TABLE_START = '<!-- reason-codes:start (generated by npm run docs:reason-codes) -->';
export const REASON_TABLE_END = '<!-- reason-codes:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function reasonCodeTable(lang: 'en' | 'fr'): string {
  const codes = Object.keys(REASON_CODES) as ReasonCode[];
  const header =
    lang === 'en'
      ? ['| code | meaning | what to do |', '| --- | --- | --- |']
      : ['| code | signification | que faire |', '| --- | --- | --- |'];
  const rows = codes.map((code) => {
    const t = REASON_CODE_TEXTS[code];
    if (!t)
      throw new Error(`no French text and advice for reason code ${code} in test/src/docs/reason-codes.ts`);
    return lang === 'en'
      ? `| \`${code}\` | ${cell(REASON_CODES[code])} | ${cell(t.action)} |`
      : `| \`${code}\` | ${cell(t.fr)} | ${cell(t.actionFr)} |`;
  });
  return [...header, ...rows].join('\n');
}

export const REASON_CODE_DOCS = { en: 'docs/reason-codes.md', fr: 'docs/fr/reason-codes.md' } as const;

/** The document with its table replaced by the generated one. */
export function withGeneratedTable(markdown: string, lang: 'en' | 'fr'): string {
  const start = markdown.indexOf(REASON_TABLE_START);
  const end = markdown.indexOf(REASON_TABLE_END);
  if (start < 0 || end < start) throw new Error(`no reason-codes markers in the ${lang} document`);
  return `${markdown.slice(0, start + REASON_TABLE_START.length)}\n${reasonCodeTable(lang)}\n${markdown.slice(end)}`;
}

function main(): void {
  const check = process.argv.includes('--check');
  let stale = false;
  for (const lang of ['en', 'fr'] as const) {
    const file = path.join(REPO_ROOT, REASON_CODE_DOCS[lang]);
    const current = readFileSync(file, 'utf8');
    const next = withGeneratedTable(current, lang);
    if (next === current) continue;
    stale = true;
    if (!check) {
      writeFileSync(file, next);
      console.log(`docs:reason-codes: ${REASON_CODE_DOCS[lang]} updated`);
    } else {
      console.error(`docs:reason-codes: ${REASON_CODE_DOCS[lang]} is out of date`);
    }
  }
  if (check && stale) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) main();
