/**
 * Reading and building element values on the raw-bytes model of `dataset.ts`: text in the data
 * set's Specific Character Set, binary and decimal-string numbers, and new elements.
 */
import { decodeLatin1, decodeWithTerms, encodeWithTerms, isMultiValuedTextVr } from './charset.ts';
import type { ByteOrder, DataElement, DataSet, Tag } from './dataset.ts';
import { T } from './tags.ts';

export { CharsetError } from './charset.ts';

/** Values of Specific Character Set (0008,0005), e.g. ['ISO_IR 100'] or ['', 'ISO 2022 IR 87']. */
export interface CharacterSet {
  readonly terms: readonly string[];
}

/** The default repertoire (ISO-IR 6), used when (0008,0005) is absent. */
export const DEFAULT_CHARACTER_SET: CharacterSet = Object.freeze({
  terms: Object.freeze([]) as readonly string[],
});

/** VRs whose value is text (decoded by getString). */
export const STRING_VRS: ReadonlySet<string> = new Set([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'ST',
  'TM',
  'UC',
  'UI',
  'UR',
  'UT',
]);

/** Specific Character Set of a data set (the default repertoire when absent). */
export function characterSetOf(ds: DataSet): CharacterSet {
  const el = ds.get(T.SpecificCharacterSet);
  if (!el) return DEFAULT_CHARACTER_SET;
  const raw = decodeLatin1(el.value);
  const terms = raw.split('\\').map((s) => s.replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, ''));
  // A single empty value means the default repertoire.
  if (terms.length === 1 && terms[0] === '') return DEFAULT_CHARACTER_SET;
  return { terms };
}

/** Decodes text bytes of the given VR; only SH LO ST LT PN UC UT use the extended character set. */
export function decodeText(bytes: Uint8Array, vr: string, charset?: CharacterSet): string {
  return decodeWithTerms(bytes, vr, charset?.terms ?? []);
}

/** Encodes text for the given VR (no padding); throws CharsetError for unrepresentable characters. */
export function encodeText(text: string, vr: string, charset?: CharacterSet): Uint8Array {
  return encodeWithTerms(text, vr, charset?.terms ?? []);
}

const TEXT_VRS = new Set(['LT', 'ST', 'UT']);

function trimValue(s: string, vr: string): string {
  // Leading spaces are significant in LT, ST and UT; padding is trailing space or NUL.
  if (TEXT_VRS.has(vr) || vr === 'UR') return s.replace(/[\0 ]+$/, '');
  return s.replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
}

/**
 * All values of a text element, decoded and with padding removed. Empty when absent or when the
 * element is not text. Inside a sequence item, pass the charset of the enclosing data set unless
 * the item declares its own.
 */
export function getStrings(ds: DataSet, t: Tag, charset?: CharacterSet): string[] {
  const el = ds.get(t);
  if (!el || !STRING_VRS.has(el.vr)) return [];
  if (el.value.length === 0) return [];
  const cs = ds.has(T.SpecificCharacterSet) ? characterSetOf(ds) : (charset ?? DEFAULT_CHARACTER_SET);
  const text = decodeText(el.value, el.vr, cs);
  const parts = isMultiValuedTextVr(el.vr) ? text.split('\\') : [text];
  return parts.map((p) => trimValue(p, el.vr));
}

/** A text element's value, decoded, padding removed, multiple values joined with '\\'. */
export function getString(ds: DataSet, t: Tag, charset?: CharacterSet): string | undefined {
  const el = ds.get(t);
  if (!el || !STRING_VRS.has(el.vr)) return undefined;
  return getStrings(ds, t, charset).join('\\');
}

const BINARY_SIZE: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, SV: 8, UV: 8 };

function readBinary(view: DataView, vr: string, offset: number, little: boolean): number {
  switch (vr) {
    case 'US':
      return view.getUint16(offset, little);
    case 'SS':
      return view.getInt16(offset, little);
    case 'UL':
      return view.getUint32(offset, little);
    case 'SL':
      return view.getInt32(offset, little);
    case 'FL':
      return view.getFloat32(offset, little);
    case 'FD':
      return view.getFloat64(offset, little);
    case 'SV':
      return Number(view.getBigInt64(offset, little));
    case 'UV':
      return Number(view.getBigUint64(offset, little));
    default:
      throw new Error('unreachable');
  }
}

/**
 * All numeric values of an element: binary US SS UL SL FL FD SV UV in the given byte order, or
 * decimal strings IS DS. Unparsable decimal strings are skipped. OB/OW and others give [].
 */
export function getNumbers(ds: DataSet, t: Tag, byteOrder: ByteOrder): number[] {
  const el = ds.get(t);
  if (!el) return [];
  const size = BINARY_SIZE[el.vr];
  if (size !== undefined) {
    const v = el.value;
    const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
    const out: number[] = [];
    for (let o = 0; o + size <= v.byteLength; o += size)
      out.push(readBinary(view, el.vr, o, byteOrder === 'little'));
    return out;
  }
  if (el.vr === 'IS' || el.vr === 'DS') {
    const out: number[] = [];
    for (const s of decodeLatin1(el.value).split('\\')) {
      const trimmed = s.trim().replace(/\0+$/, '');
      if (trimmed === '') continue;
      const n = Number(trimmed);
      if (Number.isFinite(n)) out.push(n);
    }
    return out;
  }
  return [];
}

/** One numeric value (index 0 by default); undefined when absent, out of range or not numeric. */
export function getNumber(ds: DataSet, t: Tag, byteOrder: ByteOrder, index = 0): number | undefined {
  return getNumbers(ds, t, byteOrder)[index];
}

/**
 * A new text element: values joined with '\\', encoded with the charset (for SH LO ST LT PN UC
 * UT), padded to even length with a space (NUL for UI).
 */
export function stringElement(
  t: Tag,
  vr: string,
  value: string | readonly string[],
  charset?: CharacterSet,
): DataElement {
  const text = typeof value === 'string' ? value : value.join('\\');
  const bytes = encodeText(text, vr, charset);
  if (bytes.length % 2 === 0) return { tag: t, vr, value: bytes };
  const padded = new Uint8Array(bytes.length + 1);
  padded.set(bytes);
  padded[bytes.length] = vr === 'UI' ? 0x00 : 0x20;
  return { tag: t, vr, value: padded };
}

/** A new binary numeric element in the given byte order. */
export function numberElement(
  t: Tag,
  vr: 'US' | 'SS' | 'UL' | 'SL' | 'FL' | 'FD',
  values: readonly number[],
  byteOrder: ByteOrder,
): DataElement {
  const size = BINARY_SIZE[vr]!;
  const bytes = new Uint8Array(size * values.length);
  const view = new DataView(bytes.buffer);
  const little = byteOrder === 'little';
  values.forEach((n, i) => {
    const o = i * size;
    if (vr === 'US') view.setUint16(o, n, little);
    else if (vr === 'SS') view.setInt16(o, n, little);
    else if (vr === 'UL') view.setUint32(o, n, little);
    else if (vr === 'SL') view.setInt32(o, n, little);
    else if (vr === 'FL') view.setFloat32(o, n, little);
    else view.setFloat64(o, n, little);
  });
  return { tag: t, vr, value: bytes };
}

/** A new sequence element (VR SQ) holding the given items. */
export function sequenceElement(t: Tag, items: readonly DataSet[]): DataElement {
  return { tag: t, vr: 'SQ', value: new Uint8Array(0), items };
}

/** Formats a number as a DS value (at most 16 characters). */
export function formatDS(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError('DS value must be finite');
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  for (let p = 15; p > 0; p--) {
    const s = String(Number(n.toPrecision(p)));
    if (s.length <= 16) return s;
  }
  return n.toExponential(8);
}
