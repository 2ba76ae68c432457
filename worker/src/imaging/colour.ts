/**
 * Colour conversions as pure functions on interleaved 8-bit samples: YBR_FULL to RGB, YBR_FULL_422
 * upsampling, planar to interleaved, and PALETTE COLOR lookup (normal and segmented tables, PS3.3
 * C.7.6.3.1.5 and C.7.9.2).
 */
import { ImagingError } from './errors.ts';
import { type Lut, lookup } from './lut.ts';

const clamp8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** YBR_FULL (ITU-R BT.601 full range, PS3.3 C.7.6.3.1.2) to RGB, in place on interleaved samples. */
export function ybrFullToRgb(pixels: Uint8Array): Uint8Array {
  for (let i = 0; i + 2 < pixels.length; i += 3) {
    const y = pixels[i]!;
    const cb = pixels[i + 1]! - 128;
    const cr = pixels[i + 2]! - 128;
    pixels[i] = clamp8(y + 1.402 * cr);
    pixels[i + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
    pixels[i + 2] = clamp8(y + 1.772 * cb);
  }
  return pixels;
}

/**
 * Native YBR_FULL_422 stores two pixels in four bytes, Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2). Returns
 * interleaved Y Cb Cr per pixel. `source` holds `rows * ceil(columns / 2) * 4` bytes.
 */
export function expandYbr422(source: Uint8Array, rows: number, columns: number): Uint8Array {
  const out = new Uint8Array(rows * columns * 3);
  const pairsPerRow = Math.ceil(columns / 2);
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < pairsPerRow; p++) {
      const s = (r * pairsPerRow + p) * 4;
      const cb = source[s + 2]!;
      const cr = source[s + 3]!;
      for (let k = 0; k < 2; k++) {
        const c = p * 2 + k;
        if (c >= columns) break;
        const o = (r * columns + c) * 3;
        out[o] = source[s + k]!;
        out[o + 1] = cb;
        out[o + 2] = cr;
      }
    }
  }
  return out;
}

export interface Palette {
  readonly red: Lut;
  readonly green: Lut;
  readonly blue: Lut;
}

/**
 * Palette lookup of each index to interleaved RGB 8-bit. 16-bit tables keep their high byte, except
 * when no entry exceeds 255 (older writers put 8-bit values in 16-bit tables), as dcmtk does.
 */
export function applyPalette(indices: ArrayLike<number>, palette: Palette): Uint8Array {
  const shift = paletteShift(palette);
  const out = new Uint8Array(indices.length * 3);
  const tables = [palette.red, palette.green, palette.blue];
  for (let i = 0; i < indices.length; i++) {
    const x = indices[i]!;
    for (let c = 0; c < 3; c++) {
      const v = lookup(tables[c]!, x);
      out[i * 3 + c] = clamp8(Math.floor(v / shift));
    }
  }
  return out;
}

function paletteShift(palette: Palette): number {
  const bits = Math.max(palette.red.bitsPerEntry, palette.green.bitsPerEntry, palette.blue.bitsPerEntry);
  if (bits <= 8) return 1;
  let max = 0;
  for (const t of [palette.red, palette.green, palette.blue]) {
    for (let i = 0; i < t.data.length; i++) if (t.data[i]! > max) max = t.data[i]!;
  }
  return max <= 255 ? 1 : 2 ** (bits - 8);
}

const MAX_SEGMENTED_ENTRIES = 65536;

/**
 * Expands Segmented Palette Color LUT Data (PS3.3 C.7.9.2): a sequence of 16-bit words forming discrete
 * (opcode 0: count, values), linear (opcode 1: count, end value, interpolated from the previous value)
 * and indirect (opcode 2: segment count, 32-bit byte offset as two words, low word first) segments.
 */
export function expandSegmentedLut(words: ArrayLike<number>, maxEntries = MAX_SEGMENTED_ENTRIES): number[] {
  const out: number[] = [];
  const fail = (why: string): never => {
    throw new ImagingError('UNSUPPORTED_PIXEL_FORMAT', `segmented palette: ${why}`);
  };
  const run = (start: number, segments: number, depth: number): void => {
    if (depth > 2) fail('indirect segments nest too deep');
    let i = start;
    let done = 0;
    while (i < words.length && done < segments) {
      const opcode = words[i]!;
      const length = words[i + 1];
      if (length === undefined) fail('segment header is cut short');
      const n = length!;
      if (out.length + n > maxEntries) fail('table is longer than allowed');
      if (opcode === 0) {
        if (i + 2 + n > words.length) fail('discrete segment is cut short');
        for (let k = 0; k < n; k++) out.push(words[i + 2 + k]!);
        i += 2 + n;
      } else if (opcode === 1) {
        const y1 = words[i + 2];
        if (y1 === undefined) fail('linear segment is cut short');
        if (out.length === 0) fail('linear segment has no previous value');
        const y0 = out[out.length - 1]!;
        for (let k = 1; k <= n; k++) out.push(Math.round(y0 + ((y1! - y0) * k) / n));
        i += 3;
      } else if (opcode === 2) {
        const lo = words[i + 2];
        const hi = words[i + 3];
        if (lo === undefined || hi === undefined) fail('indirect segment is cut short');
        const byteOffset = lo! + hi! * 65536;
        if (byteOffset % 2 !== 0 || byteOffset / 2 >= i)
          fail('indirect segment points forward or off a word');
        run(byteOffset / 2, n, depth + 1);
        i += 4;
      } else {
        fail('unknown segment opcode');
      }
      done++;
    }
  };
  run(0, Number.POSITIVE_INFINITY, 0);
  return out;
}
