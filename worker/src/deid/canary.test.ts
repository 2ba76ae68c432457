/**
 * PHI canary: every attribute of Table E.1-1 gets a distinct canary value valid for its VR, at the
 * top level and in a sequence item three levels deep, plus canaries in private tags, curves and
 * overlays. After de-identification the written Part 10 bytes are scanned for every canary: none
 * may survive except those an enabled option keeps by design (computed below and asserted to be
 * exactly the ones found, so the scan is shown to see what it looks for).
 */
import { describe, expect, it } from 'vitest';
import type { DataElement, DataSet, DicomFile, Tag } from '../dicom/dataset.ts';
import { tag } from '../dicom/dataset.ts';
import { T } from '../dicom/tags.ts';
import { sequenceElement, stringElement } from '../dicom/values.ts';
import { writePart10 } from '../dicom/writer.ts';
import { deidentify } from './deidentify.ts';
import { BASIC_PROFILE_OPTIONS, DEFAULT_DEID_OPTIONS, type DeidOptions } from './options.ts';
import { PROFILE_TABLE, type ProfileTableRow } from './profile-table.ts';
import { enabledColumns, profileRowOf } from './rules.ts';

const KEY = new Uint8Array(32).fill(0x5a);
const NEST = tag(0x0008, 0x1250); // Related Series Sequence: not in Table E.1-1, so kept and recursed
const TEXT_VALUE = tag(0x0040, 0xa160); // Text Value (UT): not in the table; carries the canary of an SQ row

interface Canary {
  readonly row: string; // table tag key
  readonly name: string;
  readonly vr: string;
  /** ASCII text searched for in the output; undefined for binary numbers (checked structurally). */
  readonly text?: string;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** A canary value for row i at depth d (0 top, 3 deep): distinct, valid for the VR. */
function canaryValue(vr: string, i: number, d: number): { bytes?: Uint8Array; text: string } | undefined {
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
    case 'DA': {
      const day = new Date(Date.UTC(1820, 0, 1) + k * 86_400_000 * 3);
      return { text: `${day.getUTCFullYear()}${pad(day.getUTCMonth() + 1, 2)}${pad(day.getUTCDate(), 2)}` };
    }
    case 'DT':
      return { text: `1830${pad((k % 12) + 1, 2)}15101010.${pad(k, 6)}` };
    case 'TM':
      return { text: `1${(k % 10).toString()}${pad(k % 60, 2)}59.${pad(k, 6)}` };
    case 'AS':
      return { text: `0${pad(k % 100, 2)}Y` };
    case 'UI':
      return { text: `1.2.826.0.1.3680043.99999.${k}` };
    case 'DS':
      return { text: `0.7310${pad(k, 4)}` };
    case 'IS':
      return { text: `731${pad(k, 4)}` };
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
): { el: DataElement; text?: string } | undefined {
  if (vr === 'SQ') {
    const text = `CNRY${pad(d * 1000 + i, 4)}SQ`;
    const item: DataSet = new Map([[TEXT_VALUE, stringElement(TEXT_VALUE, 'UT', text)]]);
    return { el: sequenceElement(t, [item]), text };
  }
  if (vr === 'US') {
    const v = new Uint8Array([0x39, 0x30]);
    return { el: { tag: t, vr, value: v } };
  }
  const c = canaryValue(vr, i, d);
  if (!c) return undefined;
  if (c.bytes) return { el: { tag: t, vr, value: c.bytes }, text: c.text };
  return { el: stringElement(t, vr, c.text), text: c.text };
}

/** Table rows that get a canary: standard tags of the data set (not group 0000/0002, not patterns). */
const rows = PROFILE_TABLE.filter(
  (r) => /^[0-9a-f]{8}$/.test(r[0]) && !r[0].startsWith('0000') && !r[0].startsWith('0002'),
);
const excluded = PROFILE_TABLE.filter((r) => !rows.includes(r)).map((r) => `${r[0]} ${r[5]}`);

const vrOf = (r: ProfileTableRow): string => r[4].split(' or ')[0] ?? '';

function buildDataSet(depth: number, canaries: Canary[]): DataSet {
  const ds: DataSet = new Map();
  rows.forEach((r, i) => {
    const t = Number.parseInt(r[0], 16) >>> 0;
    const c = canaryElement(t, vrOf(r), i, depth);
    if (!c) throw new Error(`no canary for VR ${r[4]} (${r[5]})`);
    ds.set(t, c.el);
    canaries.push({ row: r[0], name: `${r[5]} @${depth}`, vr: vrOf(r), ...(c.text ? { text: c.text } : {}) });
  });
  // Private block, curve and overlay groups.
  const priv: [Tag, string, string][] = [
    [tag(0x0029, 0x0010), 'LO', `CNRYPRIVCREATOR${depth}`],
    [tag(0x0029, 0x1010), 'LO', `CNRYPRIVLO${depth}`],
    [tag(0x0029, 0x1011), 'DA', `1811010${depth}`],
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

function canaryFile(canaries: Canary[]): DicomFile {
  const top = buildDataSet(0, canaries);
  const deep = buildDataSet(3, canaries);
  const lvl2: DataSet = new Map([[NEST, sequenceElement(NEST, [deep])]]);
  const lvl1: DataSet = new Map([[NEST, sequenceElement(NEST, [lvl2])]]);
  top.set(NEST, sequenceElement(NEST, [lvl1]));
  top.set(T.SOPClassUID, stringElement(T.SOPClassUID, 'UI', '1.2.840.10008.5.1.4.1.1.2'));
  top.set(T.Modality, stringElement(T.Modality, 'CS', 'CT'));
  top.delete(T.BurnedInAnnotation);
  const meta: DataSet = new Map([
    [
      T.MediaStorageSOPInstanceUID,
      stringElement(T.MediaStorageSOPInstanceUID, 'UI', '1.2.826.0.1.3680043.99999.777777'),
    ],
  ]);
  canaries.push({
    row: '00020003',
    name: 'Media Storage SOP Instance UID (input meta)',
    vr: 'UI',
    text: '1.2.826.0.1.3680043.99999.777777',
  });
  return {
    meta,
    dataset: top,
    transferSyntax: {
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
 * under Modified Dates, which shifts them), and TM rows under Modified Dates (times are kept).
 */
function keptByDesign(options: DeidOptions, c: Canary): boolean {
  if (c.row === 'extra' || c.row === '00020003') return false;
  const row = profileRowOf(Number.parseInt(c.row, 16) >>> 0);
  if (!row) return false;
  const enabled = enabledColumns(options);
  const modified = options.retainLongitudinal === 'modified';
  if (c.vr === 'TM' && modified && row.options.rtnLongModifDatesOpt) return true;
  if ((c.vr === 'DA' || c.vr === 'DT') && modified && row.options.rtnLongModifDatesOpt) return false;
  return Object.entries(row.options).some(([col, a]) => a === 'K' && enabled.has(col as never));
}

describe('PHI canary over every Table E.1-1 attribute', () => {
  for (const [label, options] of [
    ['default options', DEFAULT_DEID_OPTIONS],
    ['basic profile, no retain options', BASIC_PROFILE_OPTIONS],
  ] as const) {
    it(`${label}: no canary survives except those kept by design`, () => {
      const canaries: Canary[] = [];
      const file = canaryFile(canaries);
      const out = Buffer.from(writePart10(deidentify(file, { key: KEY, options }).file)).toString('latin1');
      const found = canaries.filter((c) => c.text !== undefined && out.includes(c.text)).map((c) => c.name);
      const expected = canaries
        .filter((c) => c.text !== undefined && keptByDesign(options, c))
        .map((c) => c.name);
      expect(found.sort()).toEqual(expected.sort());
      // Sanity: the canaries are many, and the kept-by-design list is what the options promise.
      expect(canaries.length).toBeGreaterThan(2 * 600);
      if (options === BASIC_PROFILE_OPTIONS) expect(expected).toEqual([]);
    });
  }

  it('binary-valued rows (US) do not keep their canary value unless retained', () => {
    const canaries: Canary[] = [];
    const r = deidentify(canaryFile(canaries), { key: KEY, options: BASIC_PROFILE_OPTIONS });
    for (const key of ['00160075', '001021c0']) {
      const el = r.file.dataset.get(Number.parseInt(key, 16) >>> 0);
      expect(el === undefined || el.value[0] !== 0x39).toBe(true);
    }
  });

  it('covers every row except the group 0000/0002 and pattern rows, which are listed', () => {
    expect(rows.length + excluded.length).toBe(621);
    expect(excluded.sort()).toEqual([
      '00001000 Affected SOP Instance UID',
      '00001001 Requested SOP Instance UID',
      '00020003 Media Storage SOP Instance UID',
      '50xxxxxx Curve Data',
      '60xx3000 Overlay Data',
      '60xx4000 Overlay Comments',
      'private Private Attributes',
    ]);
  });
});
