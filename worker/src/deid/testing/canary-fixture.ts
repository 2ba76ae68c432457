/**
 * PHI canary fixture, shared by the de-identification unit test (deid/canary.test.ts) and the
 * whole-pipeline canary test (test/src/e2e/phi-canary.test.ts).
 *
 * Every attribute of PS3.15 Table E.1-1 gets a distinct canary value valid for its VR, at the top
 * level and in a sequence item three levels deep, plus canaries in private tags, curves and
 * overlays, and in the input File Meta. A test writes the object through whatever it checks and
 * scans the output for every canary's text: none may survive except those an enabled option keeps
 * by design (`keptByDesign`).
 *
 * The canaries are chosen so that a scan cannot be fooled:
 *   - text canaries (CNRY...Q, CNRY...SQ, CNRYBIN...X) are never a substring of one another;
 *   - UIDs end in `.9` after the row number, so no UID canary is a prefix of another;
 *   - IS and DS canaries are negative (a timing or a score in a log line or a JSON record is
 *     positive, so it cannot spell one by chance);
 *   - DA canaries lie more than `maxDateShiftDays` (3650 days) apart, so a per-patient date shift
 *     (Modified Dates) can never turn one canary date into another;
 *   - DT and TM canaries carry the row number in their fraction of a second.
 *
 * With a `base` object (a real image), the canary object keeps the base's elements that are not in
 * the table (image pixel module, modality, body part, geometry, SOP class), so the worker can
 * render it and the model can infer on it, while every Table E.1-1 attribute holds a canary.
 * Objects built with the same base and different `instance` numbers share every canary except the
 * SOP Instance UID and the input Media Storage SOP Instance UID: they form one study of one
 * (canary) patient.
 */
import {
  type DataElement,
  type DataSet,
  type DicomFile,
  sequenceElement,
  stringElement,
  T,
  type Tag,
  tag,
} from '@medimg/dicom';
import type { DeidOptions } from '../options.ts';
import { PROFILE_TABLE, type ProfileTableRow } from '../profile-table.ts';
import { enabledColumns, profileRowOf } from '../rules.ts';

export interface Canary {
  /** Table tag key (8 hex digits), 'extra' (private, curve, overlay) or 'path' (file/folder names). */
  readonly row: string;
  readonly name: string;
  readonly vr: string;
  /** ASCII text searched for in the output; undefined for binary numbers (checked structurally). */
  readonly text?: string;
}

/** Related Series Sequence: not in Table E.1-1, so kept and recursed into. Nests the deep copy. */
export const CANARY_NEST = tag(0x0008, 0x1250);
/** Text Value (UT): not in the table; carries the canary of an SQ row inside its item. */
export const CANARY_TEXT_VALUE = tag(0x0040, 0xa160);

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Table rows that get a canary: standard tags of the data set (not group 0000/0002, not patterns). */
export const CANARY_ROWS: readonly ProfileTableRow[] = PROFILE_TABLE.filter(
  (r) => /^[0-9a-f]{8}$/.test(r[0]) && !r[0].startsWith('0000') && !r[0].startsWith('0002'),
);
/** The rows left out, as '<tag key> <name>' (group 0000/0002 and pattern rows). */
export const CANARY_EXCLUDED_ROWS: string[] = PROFILE_TABLE.filter((r) => !CANARY_ROWS.includes(r)).map(
  (r) => `${r[0]} ${r[5]}`,
);

const vrOf = (r: ProfileTableRow): string => r[4].split(' or ')[0] ?? '';

/** DA canaries, 11 years apart (more than the largest date shift, 3650 days): 10000615, 10110615 ... */
const canaryDate = (n: number): string => `${pad(1000 + 11 * n, 4)}0615`;

const canaryUid = (k: number, instance?: number): string =>
  instance === undefined
    ? `1.2.826.0.1.3680043.99999.${k}.9`
    : `1.2.826.0.1.3680043.99999.${k}.${instance}.9`;

interface BuildState {
  /** Next DA canary number (dates are numbered in build order, not by row). */
  dates: number;
}

/** A canary value for row i at depth d (0 top, 3 deep): distinct, valid for the VR. */
function canaryValue(
  vr: string,
  i: number,
  d: number,
  state: BuildState,
): { bytes?: Uint8Array; text: string } | undefined {
  const k = d * 1000 + i; // unique per row and depth
  switch (vr) {
    case 'AE':
    case 'CS':
    case 'SH':
    case 'LO':
    case 'LT':
    case 'ST':
    case 'UT':
    case 'UC':
    case 'PN':
      return { text: `CNRY${pad(k, 4)}Q` };
    case 'UR':
      return { text: `http://cnry${pad(k, 4)}.example/` };
    case 'DA':
      return { text: canaryDate(state.dates++) };
    case 'DT':
      return { text: `1830${pad((k % 12) + 1, 2)}15101010.${pad(k, 6)}` };
    case 'TM':
      return { text: `1${(k % 10).toString()}${pad(k % 60, 2)}59.${pad(k, 6)}` };
    case 'AS':
      return { text: `0${pad(k % 100, 2)}Y` };
    case 'UI':
      return { text: canaryUid(k) };
    case 'DS':
      return { text: `-0.7310${pad(k, 4)}` };
    case 'IS':
      return { text: `-731${pad(k, 4)}` };
    case 'OB':
    case 'UN':
      return { text: `CNRYBIN${pad(k, 4)}X`, bytes: new TextEncoder().encode(`CNRYBIN${pad(k, 4)}X`) };
    default:
      return undefined;
  }
}

function canaryElement(
  t: Tag,
  vr: string,
  i: number,
  d: number,
  state: BuildState,
): { el: DataElement; text?: string } | undefined {
  if (vr === 'SQ') {
    const text = `CNRY${pad(d * 1000 + i, 4)}SQ`;
    const item: DataSet = new Map([[CANARY_TEXT_VALUE, stringElement(CANARY_TEXT_VALUE, 'UT', text)]]);
    return { el: sequenceElement(t, [item]), text };
  }
  if (vr === 'US') {
    const v = new Uint8Array([0x39, 0x30]);
    return { el: { tag: t, vr, value: v } };
  }
  const c = canaryValue(vr, i, d, state);
  if (!c) return undefined;
  if (c.bytes) return { el: { tag: t, vr, value: c.bytes }, text: c.text };
  return { el: stringElement(t, vr, c.text), text: c.text };
}

/** Every canary row at one depth, plus private, curve and overlay canaries. */
function canaryDataSet(depth: number, canaries: Canary[], state: BuildState, instance?: number): DataSet {
  const ds: DataSet = new Map();
  CANARY_ROWS.forEach((r, i) => {
    const t = Number.parseInt(r[0], 16) >>> 0;
    let c = canaryElement(t, vrOf(r), i, depth, state);
    if (!c) throw new Error(`no canary for VR ${r[4]} (${r[5]})`);
    // The one value that differs between the instances of a canary study.
    if (depth === 0 && t === T.SOPInstanceUID && instance !== undefined) {
      const text = canaryUid(i, instance);
      c = { el: stringElement(t, 'UI', text), text };
    }
    ds.set(t, c.el);
    canaries.push({ row: r[0], name: `${r[5]} @${depth}`, vr: vrOf(r), ...(c.text ? { text: c.text } : {}) });
  });
  const priv: [Tag, string, string][] = [
    [tag(0x0029, 0x0010), 'LO', `CNRYPRIVCREATOR${depth}`],
    [tag(0x0029, 0x1010), 'LO', `CNRYPRIVLO${depth}`],
    [tag(0x0029, 0x1011), 'DA', canaryDate(state.dates++)],
    [tag(0x0029, 0x1012), 'PN', `CNRYPRIV^PN${depth}`],
    [tag(0x5000, 0x3000), 'OB', `CNRYCURVE${depth}X`],
    [tag(0x6000, 0x3000), 'OB', `CNRYOVERLAY${depth}`],
    [tag(0x6000, 0x4000), 'LT', `CNRYOVLCOMMENT${depth}`],
  ];
  for (const [t, vr, text] of priv) {
    ds.set(
      t,
      vr === 'OB' ? { tag: t, vr, value: new TextEncoder().encode(text) } : stringElement(t, vr, text),
    );
    canaries.push({ row: 'extra', name: `${text} @${depth}`, vr, text });
  }
  return ds;
}

export interface CanaryFileOptions {
  /**
   * A real object whose elements outside Table E.1-1 are kept (pixel data, image pixel module,
   * modality, body part, geometry, SOP class, transfer syntax). Without it: an image-less CT
   * object in Explicit VR Little Endian.
   */
  readonly base?: DicomFile;
  /**
   * Instance number within a canary study: varies the SOP Instance UID and the input Media
   * Storage SOP Instance UID only. Without it, the single-object values.
   */
  readonly instance?: number;
}

/**
 * Builds a canary object and appends its canaries to `canaries` (every Table E.1-1 row at depth 0
 * and 3, private/curve/overlay elements at both depths, the input Media Storage SOP Instance UID).
 */
export function canaryFile(canaries: Canary[], options: CanaryFileOptions = {}): DicomFile {
  const { base, instance } = options;
  const state: BuildState = { dates: 0 };
  const top = canaryDataSet(0, canaries, state, instance);
  const deep = canaryDataSet(3, canaries, state);
  const lvl2: DataSet = new Map([[CANARY_NEST, sequenceElement(CANARY_NEST, [deep])]]);
  const lvl1: DataSet = new Map([[CANARY_NEST, sequenceElement(CANARY_NEST, [lvl2])]]);
  top.set(CANARY_NEST, sequenceElement(CANARY_NEST, [lvl1]));

  let dataset: DataSet;
  if (base) {
    // The base's elements, then every canary on top (a table row of the base is replaced).
    dataset = new Map(base.dataset);
    for (const [t, el] of top) dataset.set(t, el);
  } else {
    dataset = top;
    dataset.set(T.SOPClassUID, stringElement(T.SOPClassUID, 'UI', '1.2.840.10008.5.1.4.1.1.2'));
    dataset.set(T.Modality, stringElement(T.Modality, 'CS', 'CT'));
  }
  dataset.delete(T.BurnedInAnnotation);

  const mediaUid =
    instance === undefined
      ? '1.2.826.0.1.3680043.99999.777777'
      : `1.2.826.0.1.3680043.99999.777777.${instance}.9`;
  const meta: DataSet = new Map([
    [T.MediaStorageSOPInstanceUID, stringElement(T.MediaStorageSOPInstanceUID, 'UI', mediaUid)],
  ]);
  const sopClass = base?.meta.get(T.MediaStorageSOPClassUID);
  if (sopClass) meta.set(T.MediaStorageSOPClassUID, sopClass);
  canaries.push({
    row: '00020003',
    name: 'Media Storage SOP Instance UID (input meta)',
    vr: 'UI',
    text: mediaUid,
  });
  return {
    meta,
    dataset,
    transferSyntax: base?.transferSyntax ?? {
      uid: '1.2.840.10008.1.2.1',
      explicitVr: true,
      byteOrder: 'little',
      deflated: false,
      encapsulated: false,
    },
  };
}

/**
 * Canaries an option keeps by design: a row whose enabled option column says K (dates excepted
 * under Modified Dates, which shifts them; sequences, whose items follow the rules; free text of
 * Retain Patient Characteristics, cleaned whole), and TM rows under Modified Dates (times kept).
 * Private/curve/overlay canaries, path canaries and the input meta are never kept.
 */
export function keptByDesign(options: DeidOptions, c: Canary): boolean {
  if (!/^[0-9a-f]{8}$/.test(c.row) || c.row === '00020003') return false;
  const row = profileRowOf(Number.parseInt(c.row, 16) >>> 0);
  if (!row) return false;
  const enabled = enabledColumns(options);
  const modified = options.retainLongitudinal === 'modified';
  if (c.vr === 'TM' && modified && row.options.rtnLongModifDatesOpt) return true;
  if ((c.vr === 'DA' || c.vr === 'DT') && modified && row.options.rtnLongModifDatesOpt) return false;
  // A kept sequence keeps its structure only: its items follow the rules (the canary is free text).
  if (c.vr === 'SQ') return false;
  // Free text kept by Retain Patient Characteristics (Ethnic Group) is cleaned whole.
  if (FREE_TEXT.has(c.vr) && row.options.rtnPatCharsOpt === 'K' && !row.options.rtnDevIdOpt) return false;
  return Object.entries(row.options).some(([col, a]) => a === 'K' && enabled.has(col as never));
}

const FREE_TEXT = new Set(['LO', 'SH', 'LT', 'ST', 'UT', 'UC', 'UR', 'PN', 'AE']);

/** A canary for a file or folder name: `CNRYPATH0001Q`, `CNRYFILE0002Q` (safe in any file system). */
export function pathCanary(kind: 'PATH' | 'FILE', n: number): Canary {
  const text = `CNRY${kind}${pad(n, 4)}Q`;
  return { row: 'path', name: `${kind === 'PATH' ? 'folder' : 'file'} name ${text}`, vr: 'path', text };
}
