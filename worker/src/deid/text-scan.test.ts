import { describe, expect, it } from 'vitest';
import { rng } from './testing/text-images.ts';
import { fullRange } from './text-scan.ts';

/** The full-range view as defined, value by value on floats. */
const byFormula = (values: ArrayLike<number>, invert: boolean): Uint8Array => {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]!);
    hi = Math.max(hi, values[i]!);
  }
  return Uint8Array.from({ length: values.length }, (_, i) => {
    const v = hi > lo ? Math.round(((values[i]! - lo) / (hi - lo)) * 255) : 0;
    return hi > lo && invert ? 255 - v : v;
  });
};

describe('the full-range view of the stored values', () => {
  it('gives through its table the bytes of the formula, signed and unsigned, inverted or not', () => {
    const r = rng(3);
    const cases: Int32Array[] = [
      Int32Array.from({ length: 5000 }, () => Math.round(-1024 + r() * 4095)), // CT, signed
      Int32Array.from({ length: 5000 }, () => Math.round(800 + r() * 2379)), // CR, 12 bits
      Int32Array.from({ length: 5000 }, () => Math.round(r() * 65535)), // 16 bits
      Int32Array.from({ length: 5000 }, () => Math.round(r() * 3) * 100_000), // too wide for a table
      Int32Array.from({ length: 10 }, () => 7), // one value: black
    ];
    for (const values of cases) {
      for (const invert of [false, true]) {
        expect(Buffer.from(fullRange(values, invert)).equals(Buffer.from(byFormula(values, invert)))).toBe(
          true,
        );
      }
    }
    expect(fullRange(cases[1]!, false).some((v) => v === 255)).toBe(true);
  });

  it('maps float values by the formula', () => {
    const values = Float32Array.of(-1.5, 0, 0.25, 3.75);
    expect([...fullRange(values, false)]).toEqual([0, 73, 85, 255]);
    expect([...fullRange(values, true)]).toEqual([255, 182, 170, 0]);
  });
});
