/**
 * Marker fixture (issue 11): a unique marker in EVERY free-text attribute of the data dictionary
 * (VR LO, SH, LT, ST, UT, UC, UR, PN, AE; retired ones included; in or out of Table E.1-1), at the
 * top level and again three levels deep in a sequence that Table E.1-1 does not list, plus
 * made-up tags: (0010,9999) LO, (0020,9999) UT, (1234,5678) LO. A test writes the object through
 * the de-identification and scans the output for every marker.
 *
 * Markers are `MRK` + 5 digits + `Z` (URs: `http://mrk<5 digits>z.example/`): fixed width with a
 * terminator, so no marker is a substring of another.
 */
import {
  type DataSet,
  type DicomFile,
  dictionaryEntries,
  sequenceElement,
  stringElement,
  T,
  type Tag,
  tag,
} from '@medimg/dicom';
import { profileRowOf } from '../rules.ts';
import { SAFE_ATTRIBUTES } from '../safe-list.ts';

export const FREE_TEXT_VRS = ['LO', 'SH', 'LT', 'ST', 'UT', 'UC', 'UR', 'PN', 'AE'] as const;

export interface Marker {
  readonly tag: Tag;
  readonly keyword: string;
  readonly vr: string;
  readonly depth: 0 | 3;
  readonly text: string;
}

/** Related Series Sequence (0008,1250): not in Table E.1-1; nests the deep copy three levels down. */
export const MARKER_NEST = tag(0x0008, 0x1250);

export const MADE_UP_TAGS: readonly { tag: Tag; vr: string; keyword: string }[] = [
  { tag: tag(0x0010, 0x9999), vr: 'LO', keyword: 'made-up (0010,9999)' },
  { tag: tag(0x0020, 0x9999), vr: 'UT', keyword: 'made-up (0020,9999)' },
  { tag: tag(0x1234, 0x5678), vr: 'LO', keyword: 'made-up (1234,5678)' },
];

/** Free-text attributes of the dictionary: [tag, VR, keyword] (data set groups only). */
export function freeTextAttributes(): { tag: Tag; vr: string; keyword: string }[] {
  const out: { tag: Tag; vr: string; keyword: string }[] = [];
  for (const entry of dictionaryEntries()) {
    const { tag: t, keyword } = entry;
    const vr = entry.vr;
    if (!(FREE_TEXT_VRS as readonly string[]).includes(vr)) continue;
    const group = t >>> 16;
    // Command (0000) and File Meta (0002) groups are not data set attributes; items are not elements.
    if (group === 0x0000 || group === 0x0002 || group === 0xfffe) continue;
    out.push({ tag: t, vr, keyword });
  }
  return out;
}

const pad = (n: number) => String(n).padStart(5, '0');
const markerText = (vr: string, n: number) =>
  vr === 'UR' ? `http://mrk${pad(n)}z.example/` : `MRK${pad(n)}Z`;

function markerDataSet(depth: 0 | 3, markers: Marker[]): DataSet {
  const ds: DataSet = new Map();
  const all = [...freeTextAttributes(), ...MADE_UP_TAGS];
  all.forEach((a, i) => {
    const text = markerText(a.vr, depth * 10_000 + i);
    ds.set(a.tag, stringElement(a.tag, a.vr, text));
    markers.push({ tag: a.tag, keyword: a.keyword, vr: a.vr, depth, text });
  });
  return ds;
}

/** The marker object (an image-less CT object, Explicit VR Little Endian); fills `markers`. */
export function markerFile(markers: Marker[]): DicomFile {
  const top = markerDataSet(0, markers);
  const deep = markerDataSet(3, markers);
  const lvl2: DataSet = new Map([[MARKER_NEST, sequenceElement(MARKER_NEST, [deep])]]);
  const lvl1: DataSet = new Map([[MARKER_NEST, sequenceElement(MARKER_NEST, [lvl2])]]);
  top.set(MARKER_NEST, sequenceElement(MARKER_NEST, [lvl1]));
  top.set(T.SOPClassUID, stringElement(T.SOPClassUID, 'UI', '1.2.840.10008.5.1.4.1.1.2'));
  top.set(T.SOPInstanceUID, stringElement(T.SOPInstanceUID, 'UI', '1.2.826.0.1.3680043.99998.1.1'));
  top.set(T.StudyInstanceUID, stringElement(T.StudyInstanceUID, 'UI', '1.2.826.0.1.3680043.99998.1'));
  top.set(T.SeriesInstanceUID, stringElement(T.SeriesInstanceUID, 'UI', '1.2.826.0.1.3680043.99998.1.0'));
  top.set(T.Modality, stringElement(T.Modality, 'CS', 'CT'));
  return {
    meta: new Map(),
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
 * Markers that Retain Device Identity keeps by design: the safe list's device entries and the
 * table's rows whose Retain Device Identity column says K. Nothing else may survive.
 */
export function keptUnderDeviceIdentity(m: Marker, deviceIdentity: boolean): boolean {
  if (!deviceIdentity) return false;
  const safe = SAFE_ATTRIBUTES.find((a) => a.keyword === m.keyword);
  if (safe) return safe.keep === 'device';
  return profileRowOf(m.tag)?.options.rtnDevIdOpt === 'K';
}
