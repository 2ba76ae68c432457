/**
 * Specific Character Set (0008,0005) decoding and encoding, after DICOM PS3.3 C.12.1.1.2 and
 * PS3.5 section 6.1. Single-byte sets, UTF-8, GB18030/GBK, and ISO 2022 code extensions with
 * escape sequences (Japanese, Korean, Chinese) are handled with Node's full-ICU TextDecoder;
 * encode tables are built lazily by inverting the decoders.
 */

/** VRs whose values use the Specific Character Set; all others use the default repertoire. */
import { TextDecoder } from 'node:util';
import { CodedError } from '@medimg/common';

const EXTENDED_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'PN', 'UC', 'UT']);
/** VRs in which a backslash is a value delimiter rather than a character. */
const SINGLE_VALUED_TEXT_VRS = new Set(['ST', 'LT', 'UT', 'UR']);

export const usesSpecificCharacterSet = (vr: string): boolean => EXTENDED_VRS.has(vr);
export const isMultiValuedTextVr = (vr: string): boolean => !SINGLE_VALUED_TEXT_VRS.has(vr);

/** Thrown by encodeText when a character cannot be represented in the data set's character set. */
export class CharsetError extends CodedError<'CHARSET_UNENCODABLE'> {
  override readonly name = 'CharsetError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CHARSET_UNENCODABLE', message, options);
  }
}

type G0 = 'ascii' | 'romaji' | 'jisx0208' | 'jisx0212';
type G1 =
  | { readonly kind: 'single'; readonly term: string }
  | { readonly kind: 'ksx1001' }
  | { readonly kind: 'gb2312' }
  | { readonly kind: 'katakana' }
  | null;

/** Single-byte (ISO 8859-like) sets: DICOM term number -> WHATWG label for 0xA0-0xFF and ESC final byte. */
const SINGLE_BYTE: Record<string, { readonly label: string; readonly esc: number }> = {
  '100': { label: 'latin1', esc: 0x41 },
  '101': { label: 'iso-8859-2', esc: 0x42 },
  '109': { label: 'iso-8859-3', esc: 0x43 },
  '110': { label: 'iso-8859-4', esc: 0x44 },
  '144': { label: 'iso-8859-5', esc: 0x4c },
  '127': { label: 'iso-8859-6', esc: 0x47 },
  '126': { label: 'iso-8859-7', esc: 0x46 },
  '138': { label: 'iso-8859-8', esc: 0x48 },
  '148': { label: 'iso-8859-9', esc: 0x4d },
  '166': { label: 'tis-620', esc: 0x54 },
  '203': { label: 'iso-8859-15', esc: 0x62 },
};

const ESC = 0x1b;

/** Normalise common misspellings: 'ISO_IR100', 'ISO-IR 100', 'ISO 2022 IR100'. */
export function normaliseTerm(raw: string): string {
  const t = raw.trim().toUpperCase();
  let m = /^ISO[_ -]?IR[_ -]?(\d+)$/.exec(t);
  if (m) return `ISO_IR ${m[1]}`;
  m = /^ISO[_ -]?2022[_ -]?IR[_ -]?(\d+)$/.exec(t);
  if (m) return `ISO 2022 IR ${m[1]}`;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Tables

const decoders = new Map<string, TextDecoder>();
function decoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) {
    d = new TextDecoder(label, { fatal: false });
    decoders.set(label, d);
  }
  return d;
}

const singleTables = new Map<string, string[]>();
/** 256 chars: ASCII, C1 controls, then the set's 0xA0-0xFF (ISO 8859-1 is the identity). */
function singleTable(num: string): string[] {
  let t = singleTables.get(num);
  if (t) return t;
  const def = SINGLE_BYTE[num];
  t = [];
  for (let b = 0; b < 0xa0; b++) t.push(String.fromCharCode(b));
  for (let b = 0xa0; b < 0x100; b++) {
    t.push(!def || num === '100' ? String.fromCharCode(b) : decoder(def.label).decode(Uint8Array.of(b)));
  }
  singleTables.set(num, t);
  return t;
}

const reverseSingle = new Map<string, Map<string, number>>();
function singleReverse(num: string): Map<string, number> {
  let r = reverseSingle.get(num);
  if (r) return r;
  r = new Map();
  const t = singleTable(num);
  for (let b = 0xa0; b < 0x100; b++) {
    const c = t[b]!;
    if (c !== '\ufffd' && !r.has(c)) r.set(c, b);
  }
  reverseSingle.set(num, r);
  return r;
}

/** Reverse map for a 94x94 double-byte set, from a decoder fed GR bytes (0xA1-0xFE pairs). */
const reverseDouble = new Map<string, Map<string, number>>();
function doubleReverse(kind: 'jisx0208' | 'jisx0212' | 'ksx1001' | 'gb2312'): Map<string, number> {
  let r = reverseDouble.get(kind);
  if (r) return r;
  r = new Map();
  const label = kind === 'jisx0208' || kind === 'jisx0212' ? 'euc-jp' : kind === 'ksx1001' ? 'euc-kr' : 'gbk';
  const d = decoder(label);
  for (let b1 = 0xa1; b1 <= 0xfe; b1++) {
    for (let b2 = 0xa1; b2 <= 0xfe; b2++) {
      const bytes = kind === 'jisx0212' ? Uint8Array.of(0x8f, b1, b2) : Uint8Array.of(b1, b2);
      const c = d.decode(bytes);
      if (c.length > 0 && !c.includes('\ufffd') && [...c].length === 1 && !r.has(c)) r.set(c, (b1 << 8) | b2);
    }
  }
  reverseDouble.set(kind, r);
  return r;
}

/** Reverse map for GBK / GB18030 (2-byte and, for GB18030, 4-byte BMP sequences). */
const reverseGb = new Map<string, Map<string, Uint8Array>>();
function gbReverse(label: 'gbk' | 'gb18030'): Map<string, Uint8Array> {
  let r = reverseGb.get(label);
  if (r) return r;
  r = new Map();
  const d = decoder(label);
  for (let b1 = 0x81; b1 <= 0xfe; b1++) {
    for (let b2 = 0x40; b2 <= 0xfe; b2++) {
      if (b2 === 0x7f) continue;
      const bytes = Uint8Array.of(b1, b2);
      const c = d.decode(bytes);
      if ([...c].length === 1 && c !== '\ufffd' && !r.has(c)) r.set(c, bytes);
    }
  }
  if (label === 'gb18030') {
    for (let b1 = 0x81; b1 <= 0x84; b1++) {
      for (let b2 = 0x30; b2 <= 0x39; b2++) {
        for (let b3 = 0x81; b3 <= 0xfe; b3++) {
          for (let b4 = 0x30; b4 <= 0x39; b4++) {
            const bytes = Uint8Array.of(b1, b2, b3, b4);
            const c = d.decode(bytes);
            if ([...c].length === 1 && c !== '\ufffd' && !r.has(c)) r.set(c, bytes);
          }
        }
      }
    }
  }
  reverseGb.set(label, r);
  return r;
}

/** GB18030 four-byte encoding of a supplementary-plane code point (linear mapping from 0x90308130). */
function gb18030Supplementary(cp: number): Uint8Array {
  let n = cp - 0x10000;
  const b4 = 0x30 + (n % 10);
  n = Math.floor(n / 10);
  const b3 = 0x81 + (n % 126);
  n = Math.floor(n / 126);
  const b2 = 0x30 + (n % 10);
  const b1 = 0x90 + Math.floor(n / 10);
  return Uint8Array.of(b1, b2, b3, b4);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Bytes as ISO 8859-1 characters: lossless, used for the default repertoire and non-text VRs. */
export function decodeLatin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 8192)));
  }
  return s;
}

interface State {
  g0: G0;
  g1: G1;
}

function initialState(terms: readonly string[]): State {
  const first = normaliseTerm(terms[0] ?? '');
  const m = /^ISO(?:_| 2022 )IR (\d+)$/.exec(first);
  const num = m?.[1];
  if (num === '13') return { g0: 'romaji', g1: { kind: 'katakana' } };
  if (num && SINGLE_BYTE[num]) return { g0: 'ascii', g1: { kind: 'single', term: num } };
  if (num === '149') return { g0: 'ascii', g1: { kind: 'ksx1001' } };
  if (num === '58') return { g0: 'ascii', g1: { kind: 'gb2312' } };
  return { g0: 'ascii', g1: null };
}

const isIso2022 = (terms: readonly string[]): boolean =>
  terms.length > 1 || terms.some((t) => normaliseTerm(t).startsWith('ISO 2022'));

function isDelimiter(b: number, vr: string): boolean {
  if (b === 0x0d || b === 0x0a || b === 0x0c || b === 0x09) return true;
  if (b === 0x5c && isMultiValuedTextVr(vr)) return true;
  if (vr === 'PN' && (b === 0x5e || b === 0x3d)) return true;
  return false;
}

function decodeIso2022(bytes: Uint8Array, vr: string, terms: readonly string[]): string {
  const init = initialState(terms);
  let g0: G0 = init.g0;
  let g1: G1 = init.g1;
  const out: string[] = [];
  let pending: number[] = [];
  let pendingLabel = '';
  const flush = (): void => {
    if (pending.length > 0) out.push(decoder(pendingLabel).decode(Uint8Array.from(pending)));
    pending = [];
  };
  const push = (label: string, ...bs: number[]): void => {
    if (label !== pendingLabel) {
      flush();
      pendingLabel = label;
    }
    pending.push(...bs);
  };
  const text = (s: string): void => {
    flush();
    out.push(s);
  };
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b === ESC) {
      const b1 = bytes[i + 1];
      const b2 = bytes[i + 2];
      const b3 = bytes[i + 3];
      const g0Next: [G0, number] | undefined =
        b1 === 0x28 && b2 === 0x42
          ? ['ascii', 3]
          : b1 === 0x28 && b2 === 0x4a
            ? ['romaji', 3]
            : b1 === 0x24 && (b2 === 0x42 || b2 === 0x40)
              ? ['jisx0208', 3]
              : b1 === 0x24 && b2 === 0x28 && b3 === 0x44
                ? ['jisx0212', 4]
                : undefined;
      const g1Next: [NonNullable<G1>, number] | undefined =
        b1 === 0x29 && b2 === 0x49
          ? [{ kind: 'katakana' }, 3]
          : b1 === 0x24 && b2 === 0x29 && b3 === 0x43
            ? [{ kind: 'ksx1001' }, 4]
            : b1 === 0x24 && b2 === 0x29 && b3 === 0x41
              ? [{ kind: 'gb2312' }, 4]
              : undefined;
      if (g0Next) {
        g0 = g0Next[0];
        i += g0Next[1];
      } else if (g1Next) {
        g1 = g1Next[0];
        i += g1Next[1];
      } else if (b1 === 0x2d && b2 !== undefined) {
        const num = Object.keys(SINGLE_BYTE).find((k) => SINGLE_BYTE[k]!.esc === b2);
        if (num) g1 = { kind: 'single', term: num };
        i += 3;
      } else {
        text('\u001b');
        i += 1;
      }
      continue;
    }
    if (b < 0x80) {
      if (b < 0x21 || b === 0x7f) {
        text(String.fromCharCode(b));
        if (isDelimiter(b, vr)) ({ g0, g1 } = initialState(terms));
        i += 1;
        continue;
      }
      if (g0 === 'jisx0208' || g0 === 'jisx0212') {
        const c2 = bytes[i + 1];
        if (c2 === undefined || c2 < 0x21 || c2 > 0x7e) {
          text('\ufffd');
          i += 1;
          continue;
        }
        if (g0 === 'jisx0212') push('euc-jp', 0x8f, b | 0x80, c2 | 0x80);
        else push('euc-jp', b | 0x80, c2 | 0x80);
        i += 2;
        continue;
      }
      if (g0 === 'romaji' && b === 0x5c && !isDelimiter(b, vr)) text('\u00a5');
      else if (g0 === 'romaji' && b === 0x7e) text('\u203e');
      else text(String.fromCharCode(b));
      if (isDelimiter(b, vr)) ({ g0, g1 } = initialState(terms));
      i += 1;
      continue;
    }
    // GR byte: interpret through G1.
    if (g1 === null) {
      text(String.fromCharCode(b));
      i += 1;
    } else if (g1.kind === 'single') {
      text(singleTable(g1.term)[b]!);
      i += 1;
    } else if (g1.kind === 'katakana') {
      text(b >= 0xa1 && b <= 0xdf ? String.fromCharCode(0xff61 + b - 0xa1) : '\ufffd');
      i += 1;
    } else {
      const c2 = bytes[i + 1];
      if (c2 === undefined || c2 < 0xa1) {
        text('\ufffd');
        i += 1;
        continue;
      }
      push(g1.kind === 'ksx1001' ? 'euc-kr' : 'gbk', b, c2);
      i += 2;
    }
  }
  flush();
  return out.join('');
}

/**
 * Decodes a text value. `terms` are the values of Specific Character Set (empty: the default
 * repertoire). VRs outside SH LO ST LT PN UC UT always use the default repertoire. Bytes outside
 * the default repertoire are kept as ISO 8859-1 characters rather than dropped.
 */
export function decodeWithTerms(bytes: Uint8Array, vr: string, terms: readonly string[]): string {
  if (!usesSpecificCharacterSet(vr) || terms.length === 0) return decodeLatin1(bytes);
  if (isIso2022(terms)) return decodeIso2022(bytes, vr, terms);
  const term = normaliseTerm(terms[0] ?? '');
  if (term === 'ISO_IR 192') return decoder('utf-8').decode(bytes);
  if (term === 'GB18030') return decoder('gb18030').decode(bytes);
  if (term === 'GBK') return decoder('gbk').decode(bytes);
  if (term === 'ISO_IR 13') {
    let s = '';
    for (const b of bytes)
      s += b >= 0xa1 && b <= 0xdf ? String.fromCharCode(0xff61 + b - 0xa1) : String.fromCharCode(b);
    return s;
  }
  const m = /^ISO_IR (\d+)$/.exec(term);
  if (m && SINGLE_BYTE[m[1]!]) {
    const table = singleTable(m[1]!);
    let s = '';
    for (const b of bytes) s += table[b]!;
    return s;
  }
  return decodeLatin1(bytes);
}

// ---------------------------------------------------------------------------------------------
// Encoding

function encodeLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new CharsetError('character outside the default repertoire and ISO 8859-1');
    out[i] = c;
  }
  return out;
}

class ByteSink {
  private buf = new Uint8Array(64);
  private len = 0;
  push(...bs: number[]): void {
    for (const b of bs) {
      if (this.len === this.buf.length) {
        const n = new Uint8Array(this.buf.length * 2);
        n.set(this.buf);
        this.buf = n;
      }
      this.buf[this.len++] = b;
    }
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function designateG0(g0: G0): number[] {
  switch (g0) {
    case 'ascii':
      return [ESC, 0x28, 0x42];
    case 'romaji':
      return [ESC, 0x28, 0x4a];
    case 'jisx0208':
      return [ESC, 0x24, 0x42];
    case 'jisx0212':
      return [ESC, 0x24, 0x28, 0x44];
  }
}

function designateG1(g1: NonNullable<G1>): number[] {
  switch (g1.kind) {
    case 'single':
      return [ESC, 0x2d, SINGLE_BYTE[g1.term]!.esc];
    case 'katakana':
      return [ESC, 0x29, 0x49];
    case 'ksx1001':
      return [ESC, 0x24, 0x29, 0x43];
    case 'gb2312':
      return [ESC, 0x24, 0x29, 0x41];
  }
}

const sameG1 = (a: G1, b: G1): boolean =>
  a === b ||
  (a !== null &&
    b !== null &&
    a.kind === b.kind &&
    (a.kind !== 'single' || a.term === (b as { term: string }).term));

type Option = { g0?: G0; g1?: NonNullable<G1>; bytes: number[] };

/** The ways each ISO 2022 term could encode one character. */
function optionFor(term: string, ch: string, cp: number): Option | undefined {
  const m = /^ISO(?:_| 2022 )IR (\d+)$/.exec(normaliseTerm(term));
  const num = term.trim() === '' ? '6' : m?.[1];
  if (num === '6') return cp < 0x80 ? { g0: 'ascii', bytes: [cp] } : undefined;
  if (num && SINGLE_BYTE[num]) {
    if (cp < 0x80) return { g0: 'ascii', bytes: [cp] };
    const b = singleReverse(num).get(ch);
    return b === undefined ? undefined : { g1: { kind: 'single', term: num }, bytes: [b] };
  }
  if (num === '13') {
    if (cp >= 0xff61 && cp <= 0xff9f) return { g1: { kind: 'katakana' }, bytes: [cp - 0xff61 + 0xa1] };
    if (cp === 0xa5) return { g0: 'romaji', bytes: [0x5c] };
    if (cp === 0x203e) return { g0: 'romaji', bytes: [0x7e] };
    if (cp < 0x80 && cp !== 0x5c && cp !== 0x7e) return { g0: 'romaji', bytes: [cp] };
    return undefined;
  }
  if (num === '87' || num === '159') {
    const kind = num === '87' ? 'jisx0208' : 'jisx0212';
    const v = doubleReverse(kind).get(ch);
    return v === undefined ? undefined : { g0: kind, bytes: [(v >> 8) & 0x7f, v & 0x7f] };
  }
  if (num === '149' || num === '58') {
    const kind = num === '149' ? 'ksx1001' : 'gb2312';
    const v = doubleReverse(kind).get(ch);
    return v === undefined ? undefined : { g1: { kind }, bytes: [v >> 8, v & 0xff] };
  }
  return undefined;
}

function encodeIso2022(text: string, vr: string, terms: readonly string[]): Uint8Array {
  const init = initialState(terms);
  let g0 = init.g0;
  let g1 = init.g1;
  const sink = new ByteSink();
  const reset = (): void => {
    if (g0 !== init.g0) sink.push(...designateG0(init.g0));
    if (init.g1 !== null && !sameG1(g1, init.g1)) sink.push(...designateG1(init.g1));
    g0 = init.g0;
    g1 = init.g1;
  };
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80 && isDelimiter(cp, vr)) {
      reset();
      sink.push(cp);
      continue;
    }
    // Prefer the current state, then the terms in order.
    let chosen: Option | undefined;
    for (const term of terms) {
      const o = optionFor(term, ch, cp);
      if (o && (o.g0 === undefined || o.g0 === g0) && (o.g1 === undefined || sameG1(o.g1, g1))) {
        chosen = o;
        break;
      }
    }
    if (!chosen) {
      for (const term of terms) {
        chosen = optionFor(term, ch, cp);
        if (chosen) break;
      }
    }
    if (!chosen) throw new CharsetError('character not representable in the Specific Character Set');
    if (chosen.g0 !== undefined && chosen.g0 !== g0) {
      sink.push(...designateG0(chosen.g0));
      g0 = chosen.g0;
    }
    if (chosen.g1 !== undefined && !sameG1(chosen.g1, g1)) {
      sink.push(...designateG1(chosen.g1));
      g1 = chosen.g1;
    }
    sink.push(...chosen.bytes);
  }
  reset();
  return sink.bytes();
}

/** Encodes a text value with the given Specific Character Set terms (inverse of decodeWithTerms). */
export function encodeWithTerms(text: string, vr: string, terms: readonly string[]): Uint8Array {
  if (!usesSpecificCharacterSet(vr) || terms.length === 0) return encodeLatin1(text);
  if (isIso2022(terms)) return encodeIso2022(text, vr, terms);
  const term = normaliseTerm(terms[0] ?? '');
  if (term === 'ISO_IR 192') return new TextEncoder().encode(text);
  if (term === 'GB18030' || term === 'GBK') {
    const label = term === 'GB18030' ? 'gb18030' : 'gbk';
    const sink = new ByteSink();
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x80) sink.push(cp);
      else if (label === 'gb18030' && cp > 0xffff) sink.push(...gb18030Supplementary(cp));
      else {
        const b = gbReverse(label).get(ch);
        if (!b) throw new CharsetError('character not representable in the Specific Character Set');
        sink.push(...b);
      }
    }
    return sink.bytes();
  }
  if (term === 'ISO_IR 13') {
    const sink = new ByteSink();
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x80) sink.push(cp);
      else if (cp >= 0xff61 && cp <= 0xff9f) sink.push(cp - 0xff61 + 0xa1);
      else throw new CharsetError('character not representable in the Specific Character Set');
    }
    return sink.bytes();
  }
  const m = /^ISO_IR (\d+)$/.exec(term);
  if (m && SINGLE_BYTE[m[1]!]) {
    const rev = singleReverse(m[1]!);
    const sink = new ByteSink();
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0xa0) sink.push(cp);
      else {
        const b = rev.get(ch);
        if (b === undefined)
          throw new CharsetError('character not representable in the Specific Character Set');
        sink.push(b);
      }
    }
    return sink.bytes();
  }
  return encodeLatin1(text);
}
