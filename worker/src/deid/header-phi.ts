/**
 * The ORIGINAL header's identifying values, as tokens that words read in the pixels are matched
 * against: names and their parts, patient IDs, accession number, institution and station words,
 * and dates in common written forms. Only counts ever leave this module, never a value.
 */
import { type DataSet, getStrings, T, type Tag, tag } from '@medimg/dicom';

const NAME_TAGS: readonly Tag[] = [
  T.PatientName,
  tag(0x0010, 0x1001), // Other Patient Names
  tag(0x0010, 0x1060), // Patient's Mother's Birth Name
  T.ReferringPhysicianName,
  tag(0x0008, 0x1050), // Performing Physician's Name
  tag(0x0008, 0x1060), // Name of Physician(s) Reading Study
  T.OperatorsName,
];
const ID_TAGS: readonly Tag[] = [
  T.PatientID,
  tag(0x0010, 0x1000), // Other Patient IDs
  T.AccessionNumber,
  tag(0x0020, 0x0010), // Study ID
];
const PLACE_TAGS: readonly Tag[] = [
  T.InstitutionName,
  tag(0x0008, 0x0081), // Institution Address
  tag(0x0008, 0x1010), // Station Name
  tag(0x0008, 0x1040), // Institutional Department Name
];
const DATE_TAGS: readonly Tag[] = [
  tag(0x0010, 0x0030), // Patient's Birth Date
  tag(0x0008, 0x0020), // Study Date
  tag(0x0008, 0x0021), // Series Date
  tag(0x0008, 0x0022), // Acquisition Date
  tag(0x0008, 0x0023), // Content Date
];

/** Words that name places generically: a match on them alone says nothing about the patient. */
const GENERIC = new Set([
  'HOSPITAL',
  'HOPITAL',
  'CLINIC',
  'CLINIQUE',
  'CENTER',
  'CENTRE',
  'MEDICAL',
  'GENERAL',
  'UNIVERSITY',
  'SAINT',
  'ST',
  'THE',
  'OF',
  'DE',
  'DU',
  'LA',
  'LE',
  'DR',
  'MD',
]);

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** Upper case, accents removed, only letters and digits. */
export const normaliseToken = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '');

/** The written forms of a DA value (YYYYMMDD) people put on images. */
export function dateForms(da: string): string[] {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  if (!m) return [];
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  const yy = y.slice(2);
  const mon = MONTHS[Number(mo) - 1] ?? '';
  return [
    `${y}${mo}${d}`,
    `${d}${mo}${y}`,
    `${mo}${d}${y}`,
    `${d}${mo}${yy}`,
    `${mo}${d}${yy}`,
    `${d}${mon}${y}`,
    `${d}${mon}${yy}`,
  ];
}

export class HeaderPhi {
  private readonly tokens: Set<string>;

  constructor(ds: DataSet) {
    const tokens = new Set<string>();
    const add = (s: string): void => {
      const t = normaliseToken(s);
      if (t.length >= 2 && !GENERIC.has(t)) tokens.add(t);
    };
    for (const t of NAME_TAGS) {
      for (const v of getStrings(ds, t)) for (const part of v.split(/[\^=\s,]+/)) add(part);
    }
    for (const t of ID_TAGS) {
      for (const v of getStrings(ds, t)) {
        add(v);
        for (const part of v.split(/[\s\-_/.]+/)) if (/\d/.test(part) && part.length >= 4) add(part);
      }
    }
    for (const t of PLACE_TAGS) {
      for (const v of getStrings(ds, t)) for (const part of v.split(/[\s,.;:/-]+/)) add(part);
    }
    for (const t of DATE_TAGS) for (const v of getStrings(ds, t)) for (const f of dateForms(v)) tokens.add(f);
    this.tokens = tokens;
  }

  get size(): number {
    return this.tokens.size;
  }

  /**
   * Whether the words of one text line contain an identifying value: a word equal to a token (one
   * letter off for words of six letters or more, OCR being OCR), or two or three neighbouring words
   * that join into one (a date written 12/03/2024 may be read as three words; ^ as a space).
   */
  matches(words: readonly string[]): boolean {
    const ws = words.map(normaliseToken).filter((w) => w.length > 0);
    for (let i = 0; i < ws.length; i++) {
      let joined = '';
      for (let k = i; k < Math.min(ws.length, i + 3); k++) {
        joined += ws[k];
        if (this.has(joined)) return true;
      }
      // A date's parts in other separators: 12.03.2024 read as one word keeps only its digits.
    }
    return false;
  }

  private has(word: string): boolean {
    if (word.length < 2) return false;
    if (this.tokens.has(word)) return true;
    if (word.length < 6) return false;
    // One misread character, for tokens with a letter: a number one digit off is another number.
    for (const t of this.tokens) {
      if (/[A-Z]/.test(t) && Math.abs(t.length - word.length) <= 1 && oneEditApart(t, word)) return true;
    }
    return false;
  }
}

/** Levenshtein distance of at most one. */
function oneEditApart(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length > b.length) [a, b] = [b, a];
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length === b.length) i++;
    j++;
  }
  return edits + (b.length - j) + (a.length - i) <= 1;
}
