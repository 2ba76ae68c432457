/**
 * Codes (Code Sequence Macro, PS3.3 Table 8.8-1) in a de-identified object. A code's elements are
 * kept only for a code of a known coding scheme whose value has that scheme's form: a local or
 * private code (99XXX schemes, free-text "codes") can carry anything, and Code Meaning is free
 * text. Decided per item (a code is the set of elements of one item):
 *
 *   - known scheme, valid value: Code Value / Long Code Value / URN Code Value and the designator
 *     are kept; Coding Scheme Version kept when it looks like a version; Code Meaning kept when it
 *     is the standard's meaning (DCM codes we list) or passes Clean Descriptors as a whole value,
 *     else replaced by "<designator> <value>" (built from the safe code alone);
 *   - anything else: the code is replaced by a fixed dummy code (scheme 99MEDIMG), so that the
 *     item stays valid (its elements are Type 1) and carries nothing of the original.
 *
 * Free-text companions (Extended Code Meaning, Coding Scheme Name/URL/Registry, Mapping Resource
 * Name ...) are not on the safe list: removed by the general rule.
 */
import { type Tag, tag } from '@medimg/dicom';
import { cleanText } from './clean.ts';

export const CODE = {
  CodeValue: tag(0x0008, 0x0100),
  CodingSchemeDesignator: tag(0x0008, 0x0102),
  CodingSchemeVersion: tag(0x0008, 0x0103),
  CodeMeaning: tag(0x0008, 0x0104),
  LongCodeValue: tag(0x0008, 0x0119),
  URNCodeValue: tag(0x0008, 0x0120),
} as const;

/** The elements a code decision rewrites. */
export const CODE_ELEMENT_TAGS: ReadonlySet<Tag> = new Set(Object.values(CODE));

/** Known coding schemes (PS3.16 Table 8-1 designators) and the form of their code values. */
const SCHEMES: Readonly<Record<string, RegExp>> = {
  DCM: /^(\d{1,7}|[A-Z]{2,10})$/, // numeric concepts, and modality codes (CID 29: 'CT', 'MR')
  SCT: /^\d{6,18}$/, // SNOMED CT concept ids
  SRT: /^[A-Z0-9]{1,2}-[0-9A-Z]{3,6}$/, // SNOMED RT ids ('T-D3000', 'R-42453')
  LN: /^(LP|LA)?\d{1,8}-\d$/, // LOINC
  FMA: /^\d{1,7}$/,
  RADLEX: /^RID\d{1,7}$/,
  NCIt: /^C\d{1,7}$/,
  UMLS: /^C\d{7}$/,
  I10: /^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$/,
  ICD10: /^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$/,
  UBERON: /^\d{7}$/,
  MDC: /^\d{1,10}$/,
  UCUM: /^(mm|cm|m|um|nm|mm2|cm2|mm3|cm3|ml|l|s|ms|min|h|d|wk|mo|a|kg|g|mg|ug|%|1|deg|Hz|kHz|MHz|T|mT|Gy|mGy|cGy|Sv|mSv|Bq|MBq|kBq|GBq|[hnsf'U]|{ratio}|{counts}|{pixels}|mm\/s|cm\/s|m\/s|ml\/s|ml\/min|g\/ml|mg\/ml|kg\/m2|mm\[Hg\]|kV|mA|mAs|keV|W|J|mm2\/s|\/min|{beats}\/min|dB)$/,
};

/** CID 7050 De-identification Method code meanings (coding scheme DCM): what the worker writes. */
export const CID_7050: Readonly<Record<string, string>> = {
  '113100': 'Basic Application Confidentiality Profile',
  '113101': 'Clean Pixel Data Option',
  '113102': 'Clean Recognizable Visual Features Option',
  '113103': 'Clean Graphics Option',
  '113104': 'Clean Structured Content Option',
  '113105': 'Clean Descriptors Option',
  '113106': 'Retain Longitudinal Temporal Information Full Dates Option',
  '113107': 'Retain Longitudinal Temporal Information Modified Dates Option',
  '113108': 'Retain Patient Characteristics Option',
  '113109': 'Retain Device Identity Option',
  '113110': 'Retain UIDs Option',
  '113111': 'Retain Safe Private Option',
  '113112': 'Retain Institution Identity Option',
};

/** DCM code meanings we write or know (CID 7050 and a few structural ones). */
const DCM_MEANINGS: Readonly<Record<string, string>> = {
  ...CID_7050,
  CT: 'Computed Tomography',
  MR: 'Magnetic Resonance',
  CR: 'Computed Radiography',
  DX: 'Digital Radiography',
  US: 'Ultrasound',
  MG: 'Mammography',
  NM: 'Nuclear Medicine',
  PT: 'Positron emission tomography',
  XA: 'X-Ray Angiography',
};

export const DUMMY_CODE = {
  value: 'REMOVED',
  designator: '99MEDIMG',
  meaning: 'Code removed by de-identification',
} as const;

export interface CodeInput {
  readonly value?: string;
  readonly longValue?: string;
  readonly urnValue?: string;
  readonly designator?: string;
  readonly version?: string;
  readonly meaning?: string;
}

/** What to write for a code's elements: a value per element, or undefined = remove the element. */
export type CodeDecision =
  | {
      readonly known: true;
      readonly value?: string;
      readonly longValue?: string;
      readonly urnValue?: string;
      readonly designator: string;
      readonly version?: string;
      readonly meaning?: string;
    }
  | { readonly known: false; readonly value: string; readonly designator: string; readonly meaning: string };

const URN = /^urn:oid:[0-2](\.(0|[1-9]\d{0,38})){1,20}$/;
const VERSION = /^[0-9][0-9A-Za-z.-]{0,15}$/;

/** Decides a code from its values (trimmed strings as read from the item). */
export function decideCode(code: CodeInput, identifying: ReadonlySet<string>): CodeDecision {
  const designator = code.designator ?? '';
  const form = Object.hasOwn(SCHEMES, designator) ? SCHEMES[designator] : undefined;
  const value = code.value ?? code.longValue;
  const valueOk =
    (value !== undefined && form?.test(value) === true) ||
    (code.value === undefined &&
      code.longValue === undefined &&
      code.urnValue !== undefined &&
      URN.test(code.urnValue));
  if (!form || !valueOk || (code.value !== undefined && code.longValue !== undefined)) {
    return {
      known: false,
      value: DUMMY_CODE.value,
      designator: DUMMY_CODE.designator,
      meaning: DUMMY_CODE.meaning,
    };
  }
  const label = `${designator} ${value ?? code.urnValue ?? ''}`.trim();
  const standard = designator === 'DCM' && value !== undefined ? DCM_MEANINGS[value] : undefined;
  const cleaned = code.meaning !== undefined ? cleanText(code.meaning, identifying) : '';
  const meaning = code.meaning === undefined ? undefined : (standard ?? (cleaned !== '' ? cleaned : label));
  return {
    known: true,
    designator,
    ...(code.value !== undefined ? { value: code.value } : {}),
    ...(code.longValue !== undefined ? { longValue: code.longValue } : {}),
    ...(code.urnValue !== undefined && URN.test(code.urnValue) ? { urnValue: code.urnValue } : {}),
    ...(code.version !== undefined && VERSION.test(code.version) ? { version: code.version } : {}),
    ...(meaning !== undefined ? { meaning } : {}),
  };
}

/** Elements whose presence makes an item a code (a designator alone is a coding scheme item). */
export const CODE_PRESENCE_TAGS: readonly Tag[] = [
  CODE.CodeValue,
  CODE.LongCodeValue,
  CODE.URNCodeValue,
  CODE.CodeMeaning,
];

/**
 * A designator (and version) outside a code, e.g. in a Coding Scheme Identification item: a known
 * designator is kept, any other becomes the dummy scheme's; a version is kept when it looks like one.
 */
export function decideScheme(designator: string | undefined, version: string | undefined) {
  return {
    ...(designator !== undefined
      ? { designator: Object.hasOwn(SCHEMES, designator) ? designator : DUMMY_CODE.designator }
      : {}),
    ...(version !== undefined && VERSION.test(version) ? { version } : {}),
  };
}
