import { describe, expect, it } from 'vitest';
import { applyPalette, expandSegmentedLut, expandYbr422, ybrFullToRgb } from './colour.ts';

describe('YBR_FULL to RGB', () => {
  it('keeps neutral grey grey', () => {
    expect(Array.from(ybrFullToRgb(Uint8Array.from([128, 128, 128])))).toEqual([128, 128, 128]);
  });

  it('recovers pure red from its BT.601 full-range YCbCr (76, 85, 255)', () => {
    const [r, g, b] = ybrFullToRgb(Uint8Array.from([76, 85, 255]));
    expect(r).toBeGreaterThanOrEqual(253);
    expect(g).toBeLessThanOrEqual(1);
    expect(b).toBeLessThanOrEqual(1);
  });
});

describe('YBR_FULL_422 expansion', () => {
  it('shares each Cb Cr pair between two horizontal neighbours', () => {
    // One row of two pixels: Y1 Y2 Cb Cr.
    expect(Array.from(expandYbr422(Uint8Array.from([10, 20, 100, 200]), 1, 2))).toEqual([
      10, 100, 200, 20, 100, 200,
    ]);
  });
});

describe('palette colour', () => {
  it('maps 8-bit indexes through the three tables, clamping out-of-range indexes', () => {
    const palette = {
      red: { firstMapped: 0, bitsPerEntry: 8, data: [0, 255] },
      green: { firstMapped: 0, bitsPerEntry: 8, data: [10, 20] },
      blue: { firstMapped: 0, bitsPerEntry: 8, data: [255, 0] },
    };
    expect(Array.from(applyPalette([0, 1, 7], palette))).toEqual([0, 10, 255, 255, 20, 0, 255, 20, 0]);
  });

  it('keeps the high byte of 16-bit entries', () => {
    const t = { firstMapped: 0, bitsPerEntry: 16, data: [0x0000, 0xffff, 0x8000] };
    expect(Array.from(applyPalette([1, 2], { red: t, green: t, blue: t }))).toEqual([
      255, 255, 255, 128, 128, 128,
    ]);
  });

  it('treats 16-bit tables holding only 8-bit values as 8-bit', () => {
    const t = { firstMapped: 0, bitsPerEntry: 16, data: [0, 200] };
    expect(Array.from(applyPalette([1], { red: t, green: t, blue: t }))).toEqual([200, 200, 200]);
  });
});

describe('segmented palette data (PS3.3 C.7.9.2)', () => {
  it('expands discrete and linear segments', () => {
    // Discrete: 2 values (0, 10); linear: 4 entries from 10 up to 50.
    expect(expandSegmentedLut([0, 2, 0, 10, 1, 4, 50])).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('expands an indirect segment by replaying earlier segments from a byte offset', () => {
    // Words 0-2: discrete [7]; words 3-5: discrete [9]; then indirect: 2 segments from byte offset 0.
    expect(expandSegmentedLut([0, 1, 7, 0, 1, 9, 2, 2, 0, 0])).toEqual([7, 9, 7, 9]);
  });

  it('rejects unknown opcodes and segments that run past the data', () => {
    expect(() => expandSegmentedLut([5, 1, 0])).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_PIXEL_FORMAT' }),
    );
    expect(() => expandSegmentedLut([0, 4, 1])).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_PIXEL_FORMAT' }),
    );
  });
});
