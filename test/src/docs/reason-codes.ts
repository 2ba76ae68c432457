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
import { ERROR_CODES, REASON_CODES, type ReasonCode } from '@medimg/common';
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
    action:
      'Not a quarantine: structured reports, presentation states and RT objects are de-identified and stored without images (no preview, no model input).',
    fr: "L'objet ne contient pas d'image à normaliser (classe SOP sans image).",
    actionFr:
      'Pas une mise en quarantaine : comptes rendus structurés, états de présentation et objets RT sont désidentifiés et stockés sans image (ni aperçu ni entrée du modèle).',
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
  PROCESSING_TIMEOUT: {
    action: 'Export again, uncompressed if possible; report the file if it recurs (a decoder stuck on it).',
    fr: 'Le décodage de l’image (l’analyse du texte incrusté, le réencodage des pixels masqués ou le rendu) a dépassé la durée maximale par fichier (FILE_TIMEOUT_MS) ; le décodeur bloqué a été arrêté.',
    actionFr:
      'Réexporter, si possible sans compression ; signaler le fichier si cela se reproduit (un décodeur s’y bloque).',
  },
  BURNED_IN_ANNOTATION: {
    action:
      'The image may show patient text: review it at the source, or deploy with burnedInPolicy=blank and regions.',
    fr: "L'image peut contenir du texte incrusté et la politique la met en quarantaine.",
    actionFr:
      "L'image peut afficher du texte patient : la revoir à la source, ou déployer avec burnedInPolicy=blank et des zones définies.",
  },
  BURNED_IN_TEXT: {
    action:
      'Text was found in the pixels: review the image at the source, or run with --burned-in redact (BURNED_IN_POLICY=redact).',
    fr: 'Du texte a été trouvé dans les pixels et la politique de texte incrusté est la quarantaine.',
    actionFr:
      'Du texte a été trouvé dans les pixels : revoir l’image à la source, ou relancer avec --burned-in redact (BURNED_IN_POLICY=redact).',
  },
  BURNED_IN_TEXT_REMAINS: {
    action: 'The redaction left readable text: review the image by hand; never release it as is.',
    fr: 'Du texte était encore lisible dans les pixels après le masquage.',
    actionFr:
      'Le masquage a laissé du texte lisible : revoir l’image à la main, ne jamais la diffuser telle quelle.',
  },
  BURNED_IN_SCAN_TOO_LARGE: {
    action:
      'Too large to scan for text within the per-file budget: review it by hand, or raise the scan limits.',
    fr: 'L’image est trop grande pour être analysée à la recherche de texte incrusté dans le budget par fichier.',
    actionFr:
      'Trop grande pour la recherche de texte dans le budget par fichier : la revoir à la main, ou relever les limites de l’analyse.',
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

/**
 * French meaning of every other code of `ERROR_CODES` (job, store, configuration, inference,
 * trigger, model server); the English meaning is the registry's own text.
 */
export const ERROR_CODE_TEXTS_FR: Readonly<Record<string, string>> = {
  DICOM_WRITE_FAILED: "Un jeu de données n'a pas pu être encodé en fichier Part 10.",
  CHARSET_UNENCODABLE:
    'Un caractère ne peut pas être représenté dans le jeu de caractères du jeu de données.',
  NOT_FOUND: 'Objet introuvable (ou chemin inconnu du serveur de modèle).',
  ACCESS_DENIED: "Le stockage a refusé l'accès.",
  STORE_UNAVAILABLE:
    'Le stockage est resté injoignable, limité ou en erreur malgré les nouvelles tentatives.',
  STORE_ERROR: 'Le stockage a refusé la requête.',
  CONFIG_INVALID: 'Une variable de configuration manque ou est invalide (code de sortie 78).',
  DEID_KEY_MISSING: "Aucune clé de désidentification n'est configurée.",
  DEID_KEY_INVALID: 'La clé de désidentification est trop courte, mal formée ou interdite dans ce contexte.',
  DEID_KEY_UNREADABLE: "La clé de désidentification n'a pas pu être lue.",
  ENDPOINT_UNAVAILABLE:
    "Le point de terminaison du modèle est resté injoignable, limité ou en erreur, ou n'existe pas.",
  ENDPOINT_TIMEOUT:
    "Le point de terminaison du modèle n'a pas répondu à temps, malgré les nouvelles tentatives.",
  PAYLOAD_TOO_LARGE:
    'Une instance seule dépasse la taille maximale de requête, ou le point de terminaison a refusé la taille.',
  BAD_RESPONSE: 'Le point de terminaison du modèle a répondu par un corps qui ne respecte pas le contrat.',
  MODEL_ERROR: 'Le conteneur du modèle a refusé la requête ou a échoué en la traitant.',
  OUT_OF_SCOPE: "Une instance n'a pas d'attributs de périmètre, ou sort du périmètre déclaré du modèle.",
  NOTIFY_FAILED: "Une alerte n'a pas pu être publiée.",
  EVENT_INVALID: "Un message SQS n'est pas une notification d'événement S3.",
  MANIFEST_MISSING: "Le manifeste du lot n'existe pas.",
  MANIFEST_INVALID: "Le manifeste du lot n'est pas valide.",
  BATCH_INCOMPLETE: "Un fichier annoncé par le manifeste manque ou n'a pas la taille annoncée.",
  UNAUTHENTICATED: "La requête ne porte aucune identité d'appelant vérifiée.",
  ROUTE_NOT_FOUND: "L'API n'a pas cette route.",
  REQUEST_TOO_LARGE: "Le corps de la requête dépasse la limite de l'API.",
  BODY_INVALID: "Le corps de la requête n'est pas du JSON ou n'a pas la forme attendue par la route.",
  TOO_MANY_FILES: "Le lot annonce plus de fichiers que l'API n'en accepte.",
  FILE_TOO_LARGE: 'Un fichier annoncé dépasse la taille maximale.',
  CHECKSUM_NOT_SHA256: "Une empreinte annoncée n'est pas un SHA-256 en hexadécimal.",
  PARTS_INVALID: 'Les empreintes ou les ETag des parties ne correspondent pas au découpage en parties.',
  FILE_INDEX_INVALID: "Le lot n'a pas de fichier à cet index.",
  BATCH_NOT_FOUND: "Ce lot de dépôt n'existe pas.",
  BATCH_FOREIGN: 'Ce lot de dépôt appartient à un autre appelant.',
  BATCH_ALREADY_COMPLETED: 'Ce lot de dépôt est déjà terminé.',
  STORE_FAILED: "L'API de dépôt n'a pas pu lire ou écrire dans les buckets.",
  INTERNAL: "L'API de dépôt a échoué de façon inattendue.",
  TASK_LAUNCH_THROTTLED: 'ECS RunTask est resté limité à chaque tentative.',
  TASK_LAUNCH_CAPACITY: "ECS n'avait pas de capacité disponible, à chaque tentative.",
  TASK_LAUNCH_SERVICE_ERROR: 'ECS a répondu par des erreurs serveur à chaque tentative.',
  TASK_LAUNCH_REJECTED: 'ECS a refusé la requête RunTask.',
  TASK_LAUNCH_NO_TASK: "ECS n'a renvoyé ni tâche ni motif d'échec.",
  BAD_JSON: "Le corps de la requête n'est pas du JSON.",
  BAD_REQUEST: "La requête ne respecte pas le contrat d'inférence.",
  BAD_IMAGE: "Une instance n'est pas un PNG d'entrée du modèle.",
  UNSUPPORTED_CONTENT_TYPE: "Le type de contenu de la requête n'est pas pris en charge.",
  NOT_ACCEPTABLE: "Le type de réponse demandé n'est pas pris en charge.",
  METHOD_NOT_ALLOWED: "La méthode HTTP n'est pas autorisée sur ce chemin.",
  REQUEST_TIMEOUT: "Le corps de la requête n'est pas arrivé à temps.",
  MODEL_NOT_LOADED: "Le modèle n'est pas encore chargé.",
  MODEL_LOAD_FAILED: "Le modèle n'a pas pu être chargé.",
  UNEXPECTED: "Erreur sans code stable ; voir les journaux par type d'erreur.",
};

/** The codes of `ERROR_CODES` that are not reason codes, in registry order. */
export function otherErrorCodes(): string[] {
  return Object.keys(ERROR_CODES).filter((code) => !(code in REASON_CODES));
}

export function errorCodeTable(lang: 'en' | 'fr'): string {
  const header =
    lang === 'en' ? ['| code | meaning |', '| --- | --- |'] : ['| code | signification |', '| --- | --- |'];
  const rows = otherErrorCodes().map((code) => {
    const text = lang === 'en' ? ERROR_CODES[code as keyof typeof ERROR_CODES] : ERROR_CODE_TEXTS_FR[code];
    if (!text) throw new Error(`no French text for error code ${code} in test/src/docs/reason-codes.ts`);
    return `| \`${code}\` | ${cell(text)} |`;
  });
  return [...header, ...rows].join('\n');
}

export const ERROR_TABLE_START = '<!-- error-codes:start (generated by npm run docs:reason-codes) -->';
export const ERROR_TABLE_END = '<!-- error-codes:end -->';

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

function replaceBetween(markdown: string, startMarker: string, endMarker: string, table: string): string {
  const start = markdown.indexOf(startMarker);
  const end = markdown.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`no ${startMarker} ... ${endMarker} markers`);
  return `${markdown.slice(0, start + startMarker.length)}\n${table}\n${markdown.slice(end)}`;
}

/** The document with both tables replaced by the generated ones. */
export function withGeneratedTable(markdown: string, lang: 'en' | 'fr'): string {
  const reasons = replaceBetween(markdown, REASON_TABLE_START, REASON_TABLE_END, reasonCodeTable(lang));
  return replaceBetween(reasons, ERROR_TABLE_START, ERROR_TABLE_END, errorCodeTable(lang));
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
