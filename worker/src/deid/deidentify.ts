/**
 * De-identification of one DICOM object per PS3.15 Annex E (DESIGN.md D3): the Basic Application
 * Level Confidentiality Profile, table-driven from Table E.1-1 (profile-table.ts), with options.
 *
 * The data set is rewritten element by element into a new one; what is kept keeps its bytes (so
 * text in any Specific Character Set and pixel data, compressed or not, pass through untouched);
 * replacements are ASCII, encoded in the object's character set.
 *
 * Rules beyond the table (the table is not exhaustive; these are the conservative choices):
 *   - Combined actions without per-IOD Type information: see rules.ts resolveBasic.
 *   - Patient Name and Patient ID get keyed pseudonyms (HMAC of the original Patient ID) instead
 *     of Z / Z-or-D, so objects of one patient stay linked across uploads.
 *   - Attributes not in the table are removed unless the reviewed safe list keeps them
 *     (safe-list.ts, decision 011): numbers and strict code strings, pixel and LUT data, device
 *     identity under Retain Device Identity, closed vocabularies, whole-value-clean labels. Also:
 *       * DA/DT values -> shifted (Modified Dates), kept (Full Dates) or removed (neither); TM kept;
 *       * UI values -> replaced like U unless Retain UIDs, or they are a well-known UID
 *         (1.2.840.10008.*) or sit in a class/transfer-syntax/coding-scheme attribute;
 *       * sequences -> walked, the same rules inside at any depth;
 *       * group lengths, unknown and made-up tags, UN-encoded content -> removed.
 *   - Codes (Code Sequence Macro) at any depth: kept only for known schemes (codes.ts).
 *   - Under Modified Dates every DA and DT in the object, at any depth, is shifted by the
 *     patient's offset; TM values are kept, so intervals survive.
 *   - Inside a sequence whose action is C, D or U (a "cleaned" sequence), free text that the
 *     table does not cover is cleaned whole (clean.ts), with a dummy when it cannot be kept.
 *   - Free text kept by Retain Patient Characteristics is cleaned whole; Patient's Age over 89 is
 *     aggregated to 090Y when `aggregateAgesOver89` (the safe-harbor profile).
 *   - Overlay groups (60xx) are removed whole: the table removes Overlay Data (Clean Graphics
 *     would allow cleaning it, but a bitmap cannot be checked for text), and an overlay without
 *     its data would be an invalid module. Curve groups (50xx) are removed whole (table: X).
 *   - Private attributes are removed; with Retain Safe Private, elements listed in
 *     `safePrivateTags` are kept with their private creator elements.
 *   - C on binary values (OB/OW/UN ...) -> removed: there is no way to clean them.
 *   - Burned-in text under policy 'blank': native pixel data is blanked here; encapsulated pixel
 *     data is left to blankEncapsulated (blank-encapsulated.ts, async: it decodes), flagged by
 *     `blankingPending`. Either way 113101 (Clean Pixel Data) is recorded: a pending file either
 *     gets blanked or is refused, never written unblanked. Burned In Annotation keeps its value:
 *     the regions are configured, not detected, so nothing shows that all text is gone (setting NO
 *     would claim what is not known; PS3.3 defines it as whether the image carries enough burned-in
 *     annotation to identify the patient). The method codes say what was done.
 */
import { CodedError } from '@medimg/common';
import {
  type ByteOrder,
  buildFileMeta,
  type CharacterSet,
  characterSetOf,
  type DataElement,
  type DataSet,
  type DicomFile,
  decodeText,
  elementOf,
  getString,
  getStrings,
  groupOf,
  isPrivateTag,
  keywordToTag,
  lookupTag,
  STRING_VRS,
  sequenceElement,
  stringElement,
  T,
  type Tag,
  tag,
} from '@medimg/dicom';
import { blankNativePixelData, blankRegionsFor, burnedInReason } from './burned-in.ts';
import { cleanText, identifyingWords } from './clean.ts';
import {
  CID_7050,
  CODE,
  CODE_ELEMENT_TAGS,
  CODE_PRESENCE_TAGS,
  type CodeDecision,
  decideCode,
  decideScheme,
} from './codes.ts';
import { shiftDateValues } from './dates.ts';
import type { BlankRegion, DeidOptions } from './options.ts';
import type { OptionColumn } from './profile-table.ts';
import {
  dateShiftDays,
  keyedBatchRef,
  pseudonymousPatientId,
  pseudonymousPatientName,
  remapUid,
} from './pseudonyms.ts';
import {
  type Action,
  actionFor,
  enabledColumns,
  isCurveGroup,
  isOverlayGroup,
  profileRowOf,
} from './rules.ts';
import { SAFE_ATTRIBUTES, SAFE_VALUE_REPRESENTATIONS, type SafeAttribute } from './safe-list.ts';
import { bodyPartTerm, modalityTerm } from './vocabularies.ts';

export type { BlankRegion } from './options.ts';

export interface DeidContext {
  /** HMAC-SHA256 key (key.ts loadDeidKey). */
  readonly key: Uint8Array;
  readonly options: DeidOptions;
  /** Upload batch, recorded in the linkage record only. */
  readonly batchId?: string;
  /**
   * Set when the caller scanned the pixels for burned-in text (text-scan.ts): the regions to blank
   * (empty: none found, or the image needs no scan). The modality/flag rules are then not applied.
   */
  readonly textRegions?: readonly BlankRegion[];
}

/** Pseudonym -> original identifiers. Restricted linkage store only, never the processed bucket. */
export interface LinkageRecord {
  readonly pseudonymousPatientId: string;
  readonly pseudonymousStudyUid: string;
  readonly originalPatientId: string;
  readonly originalStudyUid: string;
  readonly accessionNumber: string;
  /** The upload batch id as the uploader named it, and the keyed reference outputs use instead. */
  readonly batchId?: string;
  readonly batchRef?: string;
}

export interface DeidResult {
  /** New File Meta (MediaStorageSOPInstanceUID = new SOP UID) + new data set, same transfer syntax. */
  readonly file: DicomFile;
  /** Pseudonymous identifiers (safe for keys, logs and notifications). */
  readonly ids: {
    readonly patientId: string;
    readonly studyUid: string;
    readonly seriesUid: string;
    readonly sopUid: string;
  };
  readonly modality?: string;
  readonly bodyPart?: string;
  readonly linkage: LinkageRecord;
  /** Days added to every date (negative); 0 when dates were not modified. */
  readonly dateShiftDays: number;
  /** CID 7050 code values applied (written to DeidentificationMethodCodeSequence). */
  readonly methodCodes: readonly string[];
  /**
   * Regions blanked for burned-in text (burnedInPolicy 'blank'). For native pixel data the output
   * already has them zeroed in every frame; anything rendered from the output inherits the blanks.
   */
  readonly needsBlanking?: readonly BlankRegion[];
  /**
   * True when the pixel data is encapsulated (compressed) and NOT blanked yet: `file` must go
   * through `blankEncapsulated(file, needsBlanking)` (blank-encapsulated.ts; async, it decodes),
   * which re-encodes it as native pixel data, before it is rendered, stored or sent anywhere.
   */
  readonly blankingPending?: boolean;
}

export type DeidErrorCode = 'BURNED_IN_ANNOTATION' | 'DEID_FAILED';

/** Messages never carry values of the object. `reason` is a stable sub-code. */
export class DeidError extends CodedError<DeidErrorCode> {
  override readonly name = 'DeidError';
  readonly reason: string | undefined;
  constructor(code: DeidErrorCode, message: string, options?: { cause?: unknown; reason?: string }) {
    super(code, message, options);
    this.reason = options?.reason;
  }
}

const TAGS = {
  PatientIdentityRemoved: tag(0x0012, 0x0062),
  DeidentificationMethod: tag(0x0012, 0x0063),
  DeidentificationMethodCodeSequence: tag(0x0012, 0x0064),
  LongitudinalTemporalInformationModified: tag(0x0028, 0x0303),
  CodeValue: tag(0x0008, 0x0100),
  CodingSchemeDesignator: tag(0x0008, 0x0102),
  CodeMeaning: tag(0x0008, 0x0104),
  PatientName: tag(0x0010, 0x0010),
  PatientID: tag(0x0010, 0x0020),
} as const;

/** UI attributes that hold class, transfer syntax, coding scheme or implementation UIDs: kept. */
const CLASS_UID_TAGS = new Set<Tag>([
  tag(0x0002, 0x0002), // Media Storage SOP Class UID
  tag(0x0002, 0x0010), // Transfer Syntax UID
  tag(0x0002, 0x0012), // Implementation Class UID
  tag(0x0004, 0x1510), // Referenced SOP Class UID in File
  tag(0x0004, 0x1512), // Referenced Transfer Syntax UID in File
  tag(0x0004, 0x151a), // Referenced Related General SOP Class UID in File
  tag(0x0008, 0x0016), // SOP Class UID
  tag(0x0008, 0x001a), // Related General SOP Class UID
  tag(0x0008, 0x001b), // Original Specialized SOP Class UID
  tag(0x0008, 0x0062), // SOP Classes in Study
  tag(0x0008, 0x010c), // Coding Scheme UID
  tag(0x0008, 0x0118), // Mapping Resource UID
  tag(0x0008, 0x1150), // Referenced SOP Class UID
  tag(0x0008, 0x3002), // Available Transfer Syntax UID
]);

const FREE_TEXT_VRS = new Set(['LO', 'SH', 'ST', 'LT', 'UT', 'UC', 'UR', 'AE', 'CS', 'PN']);
const SINGLE_VALUED_TEXT_VRS = new Set(['LT', 'ST', 'UT', 'UR']);
const BINARY_SIZES: Readonly<Record<string, number>> = {
  US: 2,
  SS: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  FD: 8,
  SV: 8,
  UV: 8,
  AT: 4,
  OD: 8,
  OF: 4,
  OL: 4,
  OV: 8,
  OW: 2,
  OB: 2,
  UN: 2,
};
const WELL_KNOWN_UID_PREFIX = '1.2.840.10008.';
const PATIENT_AGE = tag(0x0010, 0x1010);

/** The safe list by tag (safe-list.ts names keywords; an unknown keyword is a bug, thrown here). */
const SAFE_BY_TAG: ReadonlyMap<Tag, SafeAttribute> = new Map(
  SAFE_ATTRIBUTES.map((a) => {
    const t = keywordToTag(a.keyword);
    if (t === undefined) throw new Error(`safe list: unknown keyword ${a.keyword}`);
    return [t, a] as const;
  }),
);

/** The form a value of a safe VR must have (string VRs only; binary numbers have a fixed form). */
const SAFE_FORMS: Readonly<Record<string, RegExp>> = {
  DS: /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/,
  IS: /^[+-]?\d{1,12}$/,
  CS: /^[A-Z0-9_ ]{0,16}$/,
};

type Mode = 'normal' | 'clean';

interface Run {
  readonly key: Uint8Array;
  readonly options: DeidOptions;
  readonly enabled: ReadonlySet<OptionColumn>;
  readonly byteOrder: ByteOrder;
  readonly shiftDays: number;
  readonly pseudoId: string;
  readonly identifying: ReadonlySet<string>;
  readonly uids: Map<string, string>;
}

const trimPadding = (s: string, vr: string): string =>
  SINGLE_VALUED_TEXT_VRS.has(vr) ? s.replace(/[\0 ]+$/, '') : s.replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');

function textValues(el: DataElement, vr: string, cs: CharacterSet): string[] {
  if (el.value.length === 0) return [];
  const text = decodeText(el.value, vr, cs);
  const parts = SINGLE_VALUED_TEXT_VRS.has(vr) ? [text] : text.split('\\');
  return parts.map((p) => trimPadding(p, vr));
}

/** A new text element; ASCII replacements, encoded in the object's charset when it can. */
function textElement(t: Tag, vr: string, values: string | readonly string[], cs: CharacterSet): DataElement {
  try {
    return stringElement(t, vr, values, cs);
  } catch {
    return stringElement(t, vr, values);
  }
}

const emptyElement = (el: DataElement, vr: string): DataElement =>
  vr === 'SQ' || el.items ? sequenceElement(el.tag, []) : { tag: el.tag, vr, value: new Uint8Array(0) };

function remap(run: Run, uid: string): string {
  let v = run.uids.get(uid);
  if (v === undefined) {
    v = remapUid(run.key, uid);
    run.uids.set(uid, v);
  }
  return v;
}

function remapUidElement(run: Run, el: DataElement, cs: CharacterSet): DataElement {
  const values = textValues(el, 'UI', cs).map((u) => (u === '' ? '' : remap(run, u)));
  return textElement(el.tag, 'UI', values, cs);
}

function dummyElement(run: Run, el: DataElement, vr: string, cs: CharacterSet): DataElement | undefined {
  switch (vr) {
    case 'PN':
      return textElement(el.tag, vr, 'ANONYMOUS', cs);
    case 'LO':
    case 'SH':
    case 'LT':
    case 'ST':
    case 'UT':
    case 'UC':
    case 'CS':
    case 'AE':
      return textElement(el.tag, vr, 'ANONYMIZED', cs);
    case 'UR':
      return textElement(el.tag, vr, 'urn:oid:2.25.0', cs);
    case 'AS':
      return textElement(el.tag, vr, '000D', cs);
    case 'DA':
      return textElement(el.tag, vr, '19000101', cs);
    case 'DT':
      return textElement(el.tag, vr, '19000101000000', cs);
    case 'TM':
      return textElement(el.tag, vr, '000000', cs);
    case 'IS':
    case 'DS':
      return textElement(el.tag, vr, '0', cs);
    case 'UI': {
      const values = textValues(el, 'UI', cs);
      return values.length > 0
        ? remapUidElement(run, el, cs)
        : textElement(el.tag, vr, remap(run, 'dummy'), cs);
    }
    default: {
      const size = BINARY_SIZES[vr];
      if (size === undefined) return undefined;
      return { tag: el.tag, vr, value: new Uint8Array(size) };
    }
  }
}

function shiftOrDrop(run: Run, el: DataElement, vr: 'DA' | 'DT', cs: CharacterSet): DataElement {
  const shifted = shiftDateValues(textValues(el, vr, cs), vr, run.shiftDays);
  // A value that is not a valid date cannot be shifted: it goes (zero length), it does not stay.
  return shifted === undefined ? emptyElement(el, vr) : textElement(el.tag, vr, shifted, cs);
}

/** A date under the longitudinal option in force: shifted, kept, or undefined (= basic action). */
function temporal(run: Run, el: DataElement, vr: string, cs: CharacterSet): DataElement | undefined {
  if (vr !== 'DA' && vr !== 'DT') return undefined;
  if (run.options.retainLongitudinal === 'modified') return shiftOrDrop(run, el, vr, cs);
  if (run.options.retainLongitudinal === 'full') return el;
  return undefined;
}

function cleanElement(
  run: Run,
  el: DataElement,
  vr: string,
  cs: CharacterSet,
  basic: Action,
): DataElement | undefined {
  if (!STRING_VRS.has(vr)) return undefined; // binary values cannot be cleaned: removed
  if (vr === 'UI') return remapUidElement(run, el, cs);
  if (!FREE_TEXT_VRS.has(vr)) return el; // numbers, ages, times: nothing to clean
  const cleaned = textValues(el, vr, cs).map((v) => cleanText(v, run.identifying));
  if (cleaned.every((v) => v === ''))
    return basic === 'D' ? dummyElement(run, el, vr, cs) : emptyElement(el, vr);
  return textElement(
    el.tag,
    vr,
    vr === 'CS' ? cleaned.map((v) => v.toUpperCase().slice(0, 16)) : cleaned,
    cs,
  );
}

function applyAction(
  run: Run,
  action: Action,
  basic: Action,
  el: DataElement,
  vr: string,
  cs: CharacterSet,
  mode: Mode,
): DataElement | undefined {
  if (vr === 'SQ' || el.items) {
    switch (action) {
      case 'X':
        return undefined;
      case 'Z':
        return sequenceElement(el.tag, []);
      case 'K':
        return sequenceElement(el.tag, processItems(run, el, cs, mode));
      default: // C, D, U: keep the structure, clean what is inside
        return sequenceElement(el.tag, processItems(run, el, cs, 'clean'));
    }
  }
  switch (action) {
    case 'X':
      return undefined;
    case 'Z':
      return emptyElement(el, vr);
    case 'K':
      return temporal(run, el, vr, cs) ?? el;
    case 'U':
      return vr === 'UI' ? remapUidElement(run, el, cs) : emptyElement(el, vr);
    case 'D':
      return dummyElement(run, el, vr, cs);
    case 'C': {
      if (vr === 'DA' || vr === 'DT') return temporal(run, el, vr, cs) ?? emptyElement(el, vr);
      if (vr === 'TM') return el; // Modified Dates keeps times of day
      return cleanElement(run, el, vr, cs, basic);
    }
  }
}

function processItems(run: Run, el: DataElement, cs: CharacterSet, mode: Mode): DataSet[] {
  return (el.items ?? []).map((item) => processDataSet(run, item, cs, mode));
}

/** The element's VR; for UN, the table's or dictionary's VR so that its value can be judged. */
function effectiveVr(el: DataElement, tableVr: string | undefined): string {
  if (el.vr !== 'UN') return el.vr;
  if (tableVr && /^[A-Z]{2}$/.test(tableVr)) return tableVr;
  const d = lookupTag(el.tag);
  return d && d.vr !== 'NONE' ? d.vr : 'UN';
}

function processStandard(run: Run, el: DataElement, cs: CharacterSet, mode: Mode): DataElement | undefined {
  const t = el.tag;
  if (elementOf(t) === 0) return undefined; // group length
  const group = groupOf(t);
  if (group === 0x0002 || isOverlayGroup(group) || isCurveGroup(group)) return undefined;
  // Patient ID at any depth: the keyed pseudonym of that value (the top level is set at the end).
  if (t === TAGS.PatientID) {
    const v = textValues(el, 'LO', cs)[0] ?? '';
    return v === '' ? emptyElement(el, 'LO') : textElement(t, 'LO', pseudonymousPatientId(run.key, v), cs);
  }
  const row = profileRowOf(t);
  const vr = effectiveVr(el, row?.vr);
  if (el.vr === 'UN' && vr === 'SQ' && !el.items) return undefined; // cannot look inside
  if (el.vr === 'UN' && vr === 'UN') return undefined; // unknown tag, unknown content
  const value = el.vr === 'UN' && vr !== 'UN' && STRING_VRS.has(vr) ? { ...el, vr } : el;
  if (row) {
    const hasValue = el.value.length > 0 || (el.items?.length ?? 0) > 0 || el.encapsulated !== undefined;
    const { action, basic } = actionFor(row, run.enabled, vr, hasValue);
    if (t === PATIENT_AGE && action === 'K' && run.options.aggregateAgesOver89) {
      return aggregateAge(value, cs);
    }
    // Free text kept only by Retain Patient Characteristics (Ethnic Group ...) is cleaned whole:
    // the option is about sex, age, size and weight, not about whatever was typed there.
    if (action === 'K' && basic !== 'K' && row.options.rtnPatCharsOpt === 'K' && isFreeText(vr)) {
      const cleaned = cleanElement(run, value, vr, cs, 'Z');
      return cleaned && cleaned.value.length > 0 ? cleaned : undefined;
    }
    const out = applyAction(run, action, basic, value, vr, cs, mode);
    // Keep a UN element's original VR when its bytes are passed through untouched.
    return out === value && value !== el ? el : out;
  }
  // Not in Table E.1-1: removed unless the safe list (safe-list.ts) keeps it.
  if (vr === 'SQ' || el.items) return sequenceElement(t, processItems(run, el, cs, mode));
  if (vr === 'DA' || vr === 'DT') {
    const out = temporal(run, value, vr, cs);
    return out === value ? el : out;
  }
  if (vr === 'TM') return el; // a time of day alone identifies no one
  if (vr === 'UI') {
    if (run.options.retainUids || CLASS_UID_TAGS.has(t)) return el;
    const values = textValues(value, 'UI', cs);
    if (values.every((u) => u === '' || u.startsWith(WELL_KNOWN_UID_PREFIX))) return el;
    return remapUidElement(run, value, cs);
  }
  const safe = SAFE_BY_TAG.get(t);
  if (safe) return safeAttribute(run, safe, el, value, vr, cs);
  if (Object.hasOwn(SAFE_VALUE_REPRESENTATIONS, vr)) return hasSafeForm(value, vr, cs) ? el : undefined;
  // In a cleaned sequence, free text is cleaned whole (a Type 1 text such as an SR TEXT item's
  // Text Value gets a dummy when it cannot be kept); anywhere else it is removed.
  if (mode === 'clean' && FREE_TEXT_VRS.has(vr) && vr !== 'CS' && vr !== 'PN') {
    return cleanElement(run, value, vr, cs, 'D');
  }
  return undefined;
}

const isFreeText = (vr: string): boolean => FREE_TEXT_VRS.has(vr) && vr !== 'CS';

/**
 * HIPAA Safe Harbor: ages over 89 are aggregated into one category, written as 090Y ("90 or
 * older"). Ages in days, weeks or months are at most 999 units (under 84 years): kept.
 */
function aggregateAge(el: DataElement, cs: CharacterSet): DataElement | undefined {
  const values = textValues(el, 'AS', cs);
  const out = values.map((v) => {
    const m = /^(\d{3})([DWMY])$/.exec(v);
    if (!m) return '';
    return m[2] === 'Y' && Number(m[1]) > 89 ? '090Y' : v;
  });
  return textElement(el.tag, 'AS', out, cs);
}

/** True when every value of a string VR has the form the VR defines (binary VRs: always). */
function hasSafeForm(el: DataElement, vr: string, cs: CharacterSet): boolean {
  const form = SAFE_FORMS[vr];
  if (!form || !STRING_VRS.has(vr)) return true;
  return textValues(el, vr, cs).every((v) => v === '' || form.test(v));
}

function safeAttribute(
  run: Run,
  safe: SafeAttribute,
  el: DataElement,
  value: DataElement,
  vr: string,
  cs: CharacterSet,
): DataElement | undefined {
  const otherwise = (): DataElement | undefined => {
    if (safe.otherwise === 'empty') return emptyElement(el, vr);
    if (safe.otherwise === 'dummy') return dummyElement(run, el, vr, cs);
    return undefined;
  };
  if (safe.keep === 'always') return el;
  if (safe.keep === 'device') return run.options.retainDeviceIdentity ? el : otherwise();
  const values = textValues(value, vr, cs);
  if (safe.keep === 'clean') {
    const ok = values.length > 0 && values.every((v) => v === '' || cleanText(v, run.identifying) !== '');
    return ok ? el : otherwise();
  }
  const terms = safe.keep;
  if (values.every((v) => v === '' || terms.includes(v.trim().toUpperCase()))) return el;
  return safe.fallback !== undefined ? textElement(el.tag, vr, safe.fallback, cs) : otherwise();
}

/** Private elements: removed, unless Retain Safe Private lists them (then with their creator). */
function processPrivate(run: Run, el: DataElement, ds: DataSet, cs: CharacterSet): DataElement | undefined {
  const o = run.options;
  if (!o.retainSafePrivate || o.safePrivateTags.length === 0) return undefined;
  const group = groupOf(el.tag);
  const element = elementOf(el.tag);
  const creatorOf = (block: number): string | undefined => {
    const c = ds.get(tag(group, block));
    return c
      ? decodeText(c.value, 'LO', cs)
          .replace(/[\0 ]+$/, '')
          .replace(/^[\0 ]+/, '')
      : undefined;
  };
  if (element >= 0x0010 && element <= 0x00ff) {
    const creator = creatorOf(element);
    const used = [...ds.keys()].some(
      (k) =>
        groupOf(k) === group &&
        elementOf(k) >> 8 === element &&
        o.safePrivateTags.some(
          (s) => s.group === group && s.creator === creator && s.offset === (elementOf(k) & 0xff),
        ),
    );
    return used ? el : undefined;
  }
  if (element < 0x1000) return undefined;
  const creator = creatorOf(element >> 8);
  const safe = o.safePrivateTags.some(
    (s) => s.group === group && s.creator === creator && s.offset === (element & 0xff),
  );
  if (!safe) return undefined;
  // A safe private sequence still has its items de-identified.
  if (el.items) return sequenceElement(el.tag, processItems(run, el, cs, 'normal'));
  return el;
}

function processDataSet(run: Run, ds: DataSet, inherited: CharacterSet, mode: Mode): DataSet {
  const cs = ds.has(T.SpecificCharacterSet) ? characterSetOf(ds) : inherited;
  const out: DataSet = new Map();
  const hasCode = [...CODE_ELEMENT_TAGS].some((t) => ds.has(t));
  for (const el of ds.values()) {
    if (hasCode && CODE_ELEMENT_TAGS.has(el.tag)) continue; // written below, as one code
    const r = isPrivateTag(el.tag) ? processPrivate(run, el, ds, cs) : processStandard(run, el, cs, mode);
    if (r) out.set(r.tag, r);
  }
  if (hasCode) for (const el of codeElements(run, ds, cs)) out.set(el.tag, el);
  return out;
}

/** The elements of the item's code (codes.ts): the original code when known, else a dummy code. */
function codeElements(run: Run, ds: DataSet, cs: CharacterSet): DataElement[] {
  const read = (t: Tag, vr: string): string | undefined => {
    const el = ds.get(t);
    if (!el) return undefined;
    const v = textValues(el, vr, cs)[0];
    return v === undefined || v === '' ? undefined : v;
  };
  const decision: CodeDecision = decideCode(
    {
      value: read(CODE.CodeValue, 'SH'),
      longValue: read(CODE.LongCodeValue, 'UC'),
      urnValue: read(CODE.URNCodeValue, 'UR'),
      designator: read(CODE.CodingSchemeDesignator, 'SH'),
      version: read(CODE.CodingSchemeVersion, 'SH'),
      meaning: read(CODE.CodeMeaning, 'LO'),
    },
    run.identifying,
  );
  const out: DataElement[] = [];
  const put = (t: Tag, vr: string, v: string | undefined) => {
    if (v !== undefined) out.push(textElement(t, vr, v, cs));
  };
  if (!CODE_PRESENCE_TAGS.some((t) => ds.has(t))) {
    const scheme = decideScheme(
      read(CODE.CodingSchemeDesignator, 'SH'),
      read(CODE.CodingSchemeVersion, 'SH'),
    );
    put(CODE.CodingSchemeDesignator, 'SH', scheme.designator);
    put(CODE.CodingSchemeVersion, 'SH', scheme.version);
    return out;
  }
  if (!decision.known) {
    put(CODE.CodeValue, 'SH', decision.value);
    put(CODE.CodingSchemeDesignator, 'SH', decision.designator);
    put(CODE.CodeMeaning, 'LO', decision.meaning);
    return out;
  }
  put(CODE.CodeValue, 'SH', decision.value);
  put(CODE.CodingSchemeDesignator, 'SH', decision.designator);
  put(CODE.CodingSchemeVersion, 'SH', decision.version);
  put(CODE.CodeMeaning, 'LO', decision.meaning);
  put(CODE.LongCodeValue, 'UC', decision.longValue);
  put(CODE.URNCodeValue, 'UR', decision.urnValue);
  return out;
}

function methodCodes(o: DeidOptions, blanked: boolean): string[] {
  const codes = ['113100'];
  if (blanked) codes.push('113101');
  if (o.cleanGraphics) codes.push('113103');
  if (o.cleanStructuredContent) codes.push('113104');
  if (o.cleanDescriptors) codes.push('113105');
  if (o.retainLongitudinal === 'full') codes.push('113106');
  if (o.retainLongitudinal === 'modified') codes.push('113107');
  if (o.retainPatientCharacteristics) codes.push('113108');
  if (o.retainDeviceIdentity) codes.push('113109');
  if (o.retainUids) codes.push('113110');
  if (o.retainSafePrivate) codes.push('113111');
  if (o.retainInstitutionIdentity) codes.push('113112');
  return codes;
}

function codeItem(code: string): DataSet {
  return new Map([
    [TAGS.CodeValue, stringElement(TAGS.CodeValue, 'SH', code)],
    [TAGS.CodingSchemeDesignator, stringElement(TAGS.CodingSchemeDesignator, 'SH', 'DCM')],
    [TAGS.CodeMeaning, stringElement(TAGS.CodeMeaning, 'LO', CID_7050[code] ?? '')],
  ]);
}

const firstString = (ds: DataSet, t: Tag): string => getStrings(ds, t)[0] ?? '';

/** De-identifies one object. Throws DeidError (BURNED_IN_ANNOTATION, DEID_FAILED) only. */
export function deidentify(file: DicomFile, ctx: DeidContext): DeidResult {
  try {
    return deidentifyUnchecked(file, ctx);
  } catch (e) {
    if (e instanceof DeidError) throw e;
    throw new DeidError('DEID_FAILED', 'de-identification failed', { cause: e, reason: 'INTERNAL' });
  }
}

function deidentifyUnchecked(file: DicomFile, ctx: DeidContext): DeidResult {
  const o = ctx.options;
  const ds = file.dataset;
  const byteOrder = file.transferSyntax.byteOrder;
  if (ctx.key.length < 32)
    throw new DeidError('DEID_FAILED', 'de-identification key shorter than 32 bytes', { reason: 'KEY' });

  // Burned-in text first: refuse before doing any work.
  const blanked = burnedInCheck(ds, o, byteOrder, ctx.textRegions);

  const id = identityOf(file, ctx);
  const { originalSopUid, originalStudyUid, originalSeriesUid, sopClassUid } = id;
  const { originalPatientId, accessionNumber, pseudoId, shiftDays } = id;

  const run: Run = {
    key: ctx.key,
    options: o,
    enabled: enabledColumns(o),
    byteOrder,
    shiftDays,
    pseudoId,
    identifying: identifyingWords(id.names.filter((n) => n.length > 0)),
    uids: new Map(),
  };

  const charset = characterSetOf(ds);
  const out = processDataSet(run, ds, charset, 'normal');

  const keepUids = o.retainUids;
  const sopUid = keepUids ? originalSopUid : remap(run, originalSopUid);
  const studyUid = keepUids ? originalStudyUid : remap(run, originalStudyUid);
  const seriesUid = keepUids ? originalSeriesUid : remap(run, originalSeriesUid);

  // Patient identity: always present, pseudonymous.
  out.set(TAGS.PatientID, textElement(TAGS.PatientID, 'LO', pseudoId, charset));
  out.set(TAGS.PatientName, textElement(TAGS.PatientName, 'PN', pseudonymousPatientName(pseudoId), charset));
  if (blanked?.value) {
    const pixel = ds.get(T.PixelData)!;
    out.set(T.PixelData, { tag: pixel.tag, vr: pixel.vr, value: blanked.value });
  }

  const codes = stampDeidentificationMethod(out, o, blanked !== undefined);

  const meta = buildFileMeta({
    sopClassUid,
    sopInstanceUid: sopUid,
    transferSyntaxUid: file.transferSyntax.uid,
  });
  // Values shown to people (emails, results.json) come from the de-identified data set, and only
  // as defined terms of the standard.
  const modality = modalityTerm(getString(out, T.Modality));
  const bodyPart = bodyPartTerm(getString(out, T.BodyPartExamined));
  return {
    file: { meta, dataset: out, transferSyntax: file.transferSyntax },
    ids: { patientId: pseudoId, studyUid, seriesUid, sopUid },
    ...(modality ? { modality } : {}),
    ...(bodyPart ? { bodyPart } : {}),
    linkage: {
      pseudonymousPatientId: pseudoId,
      pseudonymousStudyUid: studyUid,
      originalPatientId,
      originalStudyUid,
      accessionNumber,
      ...(ctx.batchId !== undefined
        ? { batchId: ctx.batchId, batchRef: keyedBatchRef(ctx.key, ctx.batchId) }
        : {}),
    },
    dateShiftDays: shiftDays,
    methodCodes: codes,
    ...(blanked ? { needsBlanking: blanked.regions } : {}),
    ...(blanked && !blanked.value ? { blankingPending: true } : {}),
  };
}

/**
 * The burned-in text policy, before any other work: quarantine throws BURNED_IN_ANNOTATION; blank
 * answers the regions, with the blanked native pixel data (encapsulated pixel data is blanked
 * later, asynchronously, by blankEncapsulated). Undefined when the image is not suspect.
 */
function burnedInCheck(
  ds: DataSet,
  o: DeidOptions,
  byteOrder: ByteOrder,
  textRegions?: readonly BlankRegion[],
): { regions: BlankRegion[]; value?: Uint8Array } | undefined {
  let regions: BlankRegion[] | undefined;
  if (textRegions) {
    // The caller scanned the pixels (text-scan.ts): blank what it found, nothing when it found none.
    if (textRegions.length === 0) return undefined;
    regions = textRegions.map((r) => ({ ...r }));
  } else {
    const burnedIn = burnedInReason(ds, o);
    if (!burnedIn) return undefined;
    if (o.burnedInPolicy !== 'blank') {
      throw new DeidError(
        'BURNED_IN_ANNOTATION',
        `image may carry burned-in text (${burnedIn}); policy is ${o.burnedInPolicy} and the pixels were not scanned`,
        {
          reason: burnedIn,
        },
      );
    }
    regions = blankRegionsFor(ds, o.blankRegions, byteOrder);
    if (!regions) {
      throw new DeidError(
        'BURNED_IN_ANNOTATION',
        `image may carry burned-in text (${burnedIn}); no blank regions configured for its modality and size`,
        {
          reason: 'NO_BLANK_RULE',
        },
      );
    }
  }
  const r = blankNativePixelData(ds, regions, byteOrder);
  if ('failure' in r && r.failure !== 'ENCAPSULATED') {
    throw new DeidError(
      'BURNED_IN_ANNOTATION',
      `image may carry burned-in text; pixel data cannot be blanked (${r.failure})`,
      { reason: r.failure },
    );
  }
  // Encapsulated: decoding is async, so blankEncapsulated does it after this (blankingPending).
  return 'failure' in r ? { regions } : { regions, value: r.value };
}

/** The UIDs and patient identity the output is derived from, and the pseudonyms derived from them. */
function identityOf(file: DicomFile, ctx: DeidContext) {
  const o = ctx.options;
  const ds = file.dataset;
  const originalSopUid = firstString(ds, T.SOPInstanceUID);
  const originalStudyUid = firstString(ds, T.StudyInstanceUID);
  const originalSeriesUid = firstString(ds, T.SeriesInstanceUID);
  const sopClassUid = firstString(ds, T.SOPClassUID) || firstString(file.meta, T.MediaStorageSOPClassUID);
  if (!originalSopUid || !originalStudyUid || !originalSeriesUid || !sopClassUid) {
    throw new DeidError('DEID_FAILED', 'object lacks SOP Class, SOP Instance, Study or Series Instance UID', {
      reason: 'MISSING_UID',
    });
  }
  const originalPatientId = getString(ds, T.PatientID) ?? '';
  const accessionNumber = getString(ds, T.AccessionNumber) ?? '';
  const patientBasis = originalPatientId !== '' ? originalPatientId : `no-patient-id:${originalStudyUid}`;
  const pseudoId = pseudonymousPatientId(ctx.key, patientBasis);
  const shiftDays =
    o.retainLongitudinal === 'modified' ? dateShiftDays(ctx.key, patientBasis, o.maxDateShiftDays) : 0;
  const names = [
    originalPatientId,
    accessionNumber,
    ...getStrings(ds, TAGS.PatientName).flatMap((n) => n.split(/[\^=]/)),
  ];
  return {
    originalSopUid,
    originalStudyUid,
    originalSeriesUid,
    sopClassUid,
    originalPatientId,
    accessionNumber,
    pseudoId,
    shiftDays,
    names,
  };
}

/** Patient Identity Removed, De-identification Method (text and CID 7050 codes), Longitudinal Temporal Information Modified. */
function stampDeidentificationMethod(out: DataSet, o: DeidOptions, blanked: boolean): string[] {
  const codes = methodCodes(o, blanked);
  out.set(TAGS.PatientIdentityRemoved, stringElement(TAGS.PatientIdentityRemoved, 'CS', 'YES'));
  out.set(
    TAGS.DeidentificationMethod,
    stringElement(TAGS.DeidentificationMethod, 'LO', [
      'DICOM PS3.15 Annex E',
      ...codes.map((c) => CID_7050[c] ?? c),
    ]),
  );
  out.set(
    TAGS.DeidentificationMethodCodeSequence,
    sequenceElement(TAGS.DeidentificationMethodCodeSequence, codes.map(codeItem)),
  );
  const ltim =
    o.retainLongitudinal === 'modified'
      ? 'MODIFIED'
      : o.retainLongitudinal === 'full'
        ? 'UNMODIFIED'
        : 'REMOVED';
  out.set(
    TAGS.LongitudinalTemporalInformationModified,
    stringElement(TAGS.LongitudinalTemporalInformationModified, 'CS', ltim),
  );
  return codes;
}
