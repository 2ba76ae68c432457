/**
 * Grey-scale transforms of PS3.3 C.11 as pure functions: the Modality LUT (rescale or table), the
 * VOI LUT (window with LINEAR, LINEAR_EXACT or SIGMOID, or a table), a window derived from the data
 * when the header has none, and the MONOCHROME1 inversion. Everything takes its data as arguments
 * and returns new arrays; no DICOM parsing here (see attributes.ts for reading the header).
 */

/** A lookup table as described by a LUT Descriptor: entry i maps input value `firstMapped + i`. */
export interface Lut {
  readonly firstMapped: number;
  /** Bits per entry (8 or 16 in practice), from the third value of the descriptor. */
  readonly bitsPerEntry: number;
  readonly data: ArrayLike<number>;
}

export type ModalityTransform =
  | { readonly kind: 'rescale'; readonly slope: number; readonly intercept: number }
  | { readonly kind: 'table'; readonly lut: Lut };

export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export interface WindowLevel {
  readonly center: number;
  readonly width: number;
  readonly function: VoiFunction;
}

/** Values of the stored pixel range that are padding, not image (Pixel Padding Value / Range Limit). */
export interface PaddingRange {
  readonly low: number;
  readonly high: number;
}

export const IDENTITY_MODALITY: ModalityTransform = { kind: 'rescale', slope: 1, intercept: 0 };

/** Table lookup with clamping: inputs below the first mapped value take the first entry, above the last
 * take the last (PS3.3 C.11.1.1.1). */
export function lookup(lut: Lut, x: number): number {
  const n = lut.data.length;
  if (n === 0) return 0;
  const i = Math.round(x) - lut.firstMapped;
  if (i <= 0) return lut.data[0]!;
  if (i >= n - 1) return lut.data[n - 1]!;
  return lut.data[i]!;
}

export const isIdentity = (m: ModalityTransform): boolean =>
  m.kind === 'rescale' && m.slope === 1 && m.intercept === 0;

/** Stored values -> modality values (e.g. Hounsfield units). Returns the input unchanged for identity. */
export function applyModalityLut(stored: ArrayLike<number>, m: ModalityTransform): ArrayLike<number> {
  if (isIdentity(m)) return stored;
  // Float32 halves the memory of a large frame; display precision does not need more.
  const out = new Float32Array(stored.length);
  if (m.kind === 'rescale') {
    const { slope, intercept } = m;
    for (let i = 0; i < stored.length; i++) out[i] = stored[i]! * slope + intercept;
  } else {
    for (let i = 0; i < stored.length; i++) out[i] = lookup(m.lut, stored[i]!);
  }
  return out;
}

/** Parses VOI LUT Function (0028,1056); anything unknown or absent is LINEAR, the default. */
export function parseVoiFunction(value: string | undefined): VoiFunction {
  const v = value?.trim().toUpperCase();
  return v === 'LINEAR_EXACT' || v === 'SIGMOID' ? v : 'LINEAR';
}

/**
 * One value through a window, to [0, 255] (not rounded), per PS3.3 C.11.2.1.2 with y_min 0 and y_max 255.
 * LINEAR needs width >= 1; LINEAR_EXACT and SIGMOID need width > 0 (see `isValidWindow`).
 */
export function windowValue(x: number, w: WindowLevel): number {
  const { center: c, width } = w;
  switch (w.function) {
    case 'LINEAR_EXACT': {
      if (x <= c - width / 2) return 0;
      if (x > c + width / 2) return 255;
      return ((x - c) / width + 0.5) * 255;
    }
    case 'SIGMOID':
      return 255 / (1 + Math.exp((-4 * (x - c)) / width));
    default: {
      // LINEAR. Width 1 is a threshold at c - 0.5.
      const lower = c - 0.5 - (width - 1) / 2;
      const upper = c - 0.5 + (width - 1) / 2;
      if (x <= lower) return 0;
      if (x > upper) return 255;
      return ((x - (c - 0.5)) / (width - 1) + 0.5) * 255;
    }
  }
}

export function isValidWindow(w: WindowLevel): boolean {
  if (!Number.isFinite(w.center) || !Number.isFinite(w.width)) return false;
  return w.function === 'LINEAR' ? w.width >= 1 : w.width > 0;
}

/** Modality values through a window to 8-bit. */
export function applyWindow(values: ArrayLike<number>, w: WindowLevel): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(windowValue(values[i]!, w));
  return out;
}

/**
 * Stored integer values straight to 8-bit through the modality transform and a window, with one
 * table per distinct stored value: one pass over the pixels and no intermediate array of modality
 * values. Gives the same bytes as `applyWindow(applyModalityLut(stored, m), w)` (the modality value
 * is rounded to float32 as there). Undefined when the values are not an integer typed array or
 * their range is wider than the frame (the table would cost more than it saves).
 */
export function applyWindowToStored(
  stored: ArrayLike<number>,
  m: ModalityTransform,
  w: WindowLevel,
): Uint8Array | undefined {
  if (
    !(
      stored instanceof Uint16Array ||
      stored instanceof Int16Array ||
      stored instanceof Uint8Array ||
      stored instanceof Int8Array ||
      stored instanceof Int32Array ||
      stored instanceof Uint32Array
    )
  )
    return undefined;
  const n = stored.length;
  if (n === 0) return new Uint8Array(0);
  const [lo, hi] = rangeOf(stored);
  const span = hi - lo + 1;
  if (span > n) return undefined;
  const table = new Uint8Array(span);
  for (let s = lo; s <= hi; s++) table[s - lo] = displayValue(s, m, w);
  return throughTable(stored, table, lo);
}

/** One stored value through the modality transform (rounded to float32) and the window, to 0..255. */
function displayValue(s: number, m: ModalityTransform, w: WindowLevel): number {
  if (m.kind === 'table') return Math.round(windowValue(Math.fround(lookup(m.lut, s)), w));
  if (m.slope === 1 && m.intercept === 0) return Math.round(windowValue(s, w));
  return Math.round(windowValue(Math.fround(s * m.slope + m.intercept), w));
}

// The two passes over the pixels are functions of their own, each always called with the same kinds
// of arguments, so that V8 keeps them optimised from frame to frame (a closure per frame made it
// throw their optimised code away again and again: decision 018, part 3).

/** Smallest and largest value. */
function rangeOf(values: ArrayLike<number>): [number, number] {
  let lo = values[0]!;
  let hi = lo;
  for (let i = 1; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Each value v as table[v - lo]. */
function throughTable(values: ArrayLike<number>, table: Uint8Array, lo: number): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = table[values[i]! - lo]!;
  return out;
}

/**
 * Grey integer samples as the file stores them (8 or 16-bit words), before masking to Bits Stored,
 * shifting down from High Bit and sign extension (decode.ts normaliseIntegers does those).
 */
export interface StoredWords {
  readonly words: Uint8Array | Uint16Array;
  /** High Bit + 1 - Bits Stored. */
  readonly shift: number;
  readonly bitsStored: number;
  readonly signed: boolean;
}

/** The stored value a word holds: shifted, masked to Bits Stored, sign-extended. */
export function storedValueOf(word: number, s: Omit<StoredWords, 'words'>): number {
  const v = (word >>> s.shift) & (2 ** s.bitsStored - 1);
  return s.signed && v >= 2 ** (s.bitsStored - 1) ? v - 2 ** s.bitsStored : v;
}

/**
 * `applyWindowToStored` straight from the words of the file (decision 018): the table is indexed by
 * the word, each entry made through masking, sign extension, the modality transform and the window,
 * so the frame is read once and no array of stored values is made. Same bytes as
 * `applyWindowToStored(normaliseIntegers(words), m, w)`. Undefined when the words span a wider range
 * than the frame has pixels.
 */
export function applyWindowToWords(
  s: StoredWords,
  m: ModalityTransform,
  w: WindowLevel,
): Uint8Array | undefined {
  const { words } = s;
  const n = words.length;
  if (n === 0) return new Uint8Array(0);
  const table = wordTable(s, m, w);
  if (table) return throughWordTable(words, table);
  const [lo, hi] = rangeOf(words);
  const span = hi - lo + 1;
  if (span > n) return undefined;
  const range = new Uint8Array(span);
  const mask = 2 ** s.bitsStored - 1;
  const full = 2 ** s.bitsStored;
  const signBit = 2 ** (s.bitsStored - 1);
  for (let word = lo; word <= hi; word++) {
    const v = (word >>> s.shift) & mask; // storedValueOf, its constants taken out of the loop
    range[word - lo] = displayValue(s.signed && v >= signBit ? v - full : v, m, w);
  }
  return throughTable(words, range, lo);
}

/**
 * The display value of every possible word (256 or 65,536 entries), when that is cheap to make: a
 * rescale (the modality transform of CT, MR, PET...) and a valid window make the display value a
 * monotonic function of the stored value, so a run of stored values whose two ends have the same
 * display value has it throughout and is filled at once (fillMonotonic); a few hundred values are
 * computed, not one per word. The words then need no pass to find their range. Undefined otherwise
 * (a modality table, stored values not at the bottom of the word, odd sizes).
 */
function wordTable(s: StoredWords, m: ModalityTransform, w: WindowLevel): Uint8Array | undefined {
  const wordBits = s.words instanceof Uint16Array ? 16 : 8;
  const bits = s.bitsStored;
  if (m.kind !== 'rescale' || !Number.isFinite(m.slope) || !Number.isFinite(m.intercept)) return undefined;
  if (!isValidWindow(w) || s.shift !== 0 || !Number.isInteger(bits) || bits < 1 || bits > wordBits)
    return undefined;
  const table = new Uint8Array(2 ** wordBits);
  const period = 2 ** bits;
  const value = (stored: number) => displayValue(stored, m, w);
  if (s.signed) {
    // Words 0 .. 2^(bits-1) - 1 hold the stored values 0 up; the words above, the negative ones.
    fillMonotonic(table, 0, 0, period / 2 - 1, value);
    fillMonotonic(table, period / 2, -period / 2, -1, value);
  } else {
    fillMonotonic(table, 0, 0, period - 1, value);
  }
  // Masking drops the bits above Bits Stored: the table repeats every 2^bitsStored words.
  for (let filled = period; filled < table.length; filled *= 2) table.copyWithin(filled, 0, filled);
  return table;
}

/** table[at + (x - a)] = f(x) for the integers x of [a, b], f monotonic (either way). */
function fillMonotonic(table: Uint8Array, at: number, a: number, b: number, f: (x: number) => number): void {
  const first = a;
  const run = (a: number, b: number, fa: number, fb: number): void => {
    if (fa === fb) {
      table.fill(fa, at + a - first, at + b - first + 1);
    } else if (b - a <= 1) {
      table[at + a - first] = fa;
      table[at + b - first] = fb;
    } else {
      const mid = Math.floor((a + b) / 2);
      const fm = f(mid);
      run(a, mid, fa, fm);
      run(mid, b, fm, fb);
    }
  };
  run(a, b, f(a), f(b));
}

/** Each word w as table[w]. */
function throughWordTable(words: Uint8Array | Uint16Array, table: Uint8Array): Uint8Array {
  const out = new Uint8Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = table[words[i]!]!;
  return out;
}

/** Modality values through a VOI LUT table to 8-bit, scaling the table's range (2^bits - 1) to 255. */
export function applyVoiLut(values: ArrayLike<number>, lut: Lut): Uint8Array {
  const max = 2 ** lut.bitsPerEntry - 1;
  const scale = max > 0 ? 255 / max : 0;
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const y = lookup(lut, values[i]!) * scale;
    out[i] = y <= 0 ? 0 : y >= 255 ? 255 : Math.round(y);
  }
  return out;
}

/** Padding range from Pixel Padding Value and optional Pixel Padding Range Limit (stored values). */
export function paddingRange(value: number | undefined, rangeLimit?: number): PaddingRange | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  if (rangeLimit === undefined || !Number.isFinite(rangeLimit)) return { low: value, high: value };
  return { low: Math.min(value, rangeLimit), high: Math.max(value, rangeLimit) };
}

/**
 * A window spanning the data's range (min to max of the modality values), ignoring padding pixels
 * (tested on the stored values) and non-finite values. Integer data gets a LINEAR window that maps min
 * to 0 and max to 255 (the same as dcmtk's min-max window); non-integer data a LINEAR_EXACT one.
 * Undefined when no pixel is left.
 */
export function windowFromData(
  values: ArrayLike<number>,
  stored: ArrayLike<number>,
  padding?: PaddingRange,
): WindowLevel | undefined {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let integers = true;
  for (let i = 0; i < values.length; i++) {
    if (padding) {
      const s = stored[i]!;
      if (s >= padding.low && s <= padding.high) continue;
    }
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (integers && !Number.isInteger(v)) integers = false;
  }
  if (lo > hi) return undefined;
  if (integers) return { center: (lo + hi + 1) / 2, width: hi - lo + 1, function: 'LINEAR' };
  const width = hi - lo;
  return width > 0
    ? { center: (lo + hi) / 2, width, function: 'LINEAR_EXACT' }
    : { center: lo, width: 1, function: 'LINEAR_EXACT' };
}

/** MONOCHROME1: minimum is white. Applied after the VOI transform; inverts in place and returns it. */
export function invert8(pixels: Uint8Array): Uint8Array {
  for (let i = 0; i < pixels.length; i++) pixels[i] = 255 - pixels[i]!;
  return pixels;
}
