import { describe, expect, it } from 'vitest';
import { normaliseIntegers } from './decode.ts';
import {
  applyModalityLut,
  applyVoiLut,
  applyWindow,
  applyWindowToStored,
  applyWindowToWords,
  IDENTITY_MODALITY,
  invert8,
  lookup,
  type ModalityTransform,
  paddingRange,
  parseVoiFunction,
  type WindowLevel,
  windowFromData,
  windowValue,
} from './lut.ts';

describe('modality LUT', () => {
  it('applies rescale slope and intercept', () => {
    const out = applyModalityLut([0, 100, 1024], { kind: 'rescale', slope: 2, intercept: -1024 });
    expect(Array.from(out)).toEqual([-1024, -824, 1024]);
  });

  it('returns the input itself for the identity rescale', () => {
    const input = new Int32Array([1, 2, 3]);
    expect(applyModalityLut(input, { kind: 'rescale', slope: 1, intercept: 0 })).toBe(input);
  });

  it('looks values up in a table, clamping outside its range', () => {
    // Entries for inputs 10, 11, 12.
    const lut = { firstMapped: 10, bitsPerEntry: 16, data: [100, 200, 300] };
    const out = applyModalityLut([5, 10, 11, 12, 40], { kind: 'table', lut });
    expect(Array.from(out)).toEqual([100, 100, 200, 300, 300]);
    expect(lookup(lut, 11.4)).toBe(200);
  });
});

describe('VOI window functions (PS3.3 C.11.2.1.2)', () => {
  it('LINEAR maps the standard edges: below c-0.5-(w-1)/2 to 0, above c-0.5+(w-1)/2 to 255', () => {
    const w = { center: 40, width: 400, function: 'LINEAR' as const };
    expect(windowValue(40 - 0.5 - 399 / 2, w)).toBe(0);
    expect(windowValue(-1000, w)).toBe(0);
    expect(windowValue(40 - 0.5 + 399 / 2 + 0.001, w)).toBe(255);
    expect(windowValue(39.5, w)).toBeCloseTo(127.5, 10);
  });

  it('LINEAR with width 1 is a threshold', () => {
    const w = { center: 100, width: 1, function: 'LINEAR' as const };
    expect(windowValue(99.5, w)).toBe(0);
    expect(windowValue(99.6, w)).toBe(255);
  });

  it('LINEAR_EXACT maps c-w/2 to 0, c to the middle and c+w/2 to 255', () => {
    const w = { center: 0, width: 10, function: 'LINEAR_EXACT' as const };
    expect(windowValue(-5, w)).toBe(0);
    expect(windowValue(0, w)).toBeCloseTo(127.5, 10);
    expect(windowValue(5, w)).toBeCloseTo(255, 10);
    expect(windowValue(6, w)).toBe(255);
  });

  it('SIGMOID is 127.5 at the center and follows 255 / (1 + exp(-4(x-c)/w))', () => {
    const w = { center: 50, width: 20, function: 'SIGMOID' as const };
    expect(windowValue(50, w)).toBeCloseTo(127.5, 10);
    expect(windowValue(60, w)).toBeCloseTo(255 / (1 + Math.exp(-2)), 10);
    expect(windowValue(40, w)).toBeLessThan(windowValue(45, w));
  });

  it('applyWindow rounds to 8 bits', () => {
    const out = applyWindow([0, 127, 255], { center: 128, width: 256, function: 'LINEAR' });
    expect(Array.from(out)).toEqual([0, 127, 255]);
  });

  it('reads VOI LUT Function, defaulting to LINEAR', () => {
    expect(parseVoiFunction('SIGMOID ')).toBe('SIGMOID');
    expect(parseVoiFunction('linear_exact')).toBe('LINEAR_EXACT');
    expect(parseVoiFunction(undefined)).toBe('LINEAR');
    expect(parseVoiFunction('BOGUS')).toBe('LINEAR');
  });
});

describe('VOI LUT table', () => {
  it('scales a 12-bit table to 8 bits and clamps inputs outside the table', () => {
    const lut = { firstMapped: -2, bitsPerEntry: 12, data: [0, 1365, 2730, 4095] };
    expect(Array.from(applyVoiLut([-10, -2, -1, 0, 1, 99], lut))).toEqual([0, 0, 85, 170, 255, 255]);
  });
});

describe('window from the data', () => {
  it('spans min to max so that min maps to 0 and max to 255', () => {
    const values = [10, 20, 30];
    const w = windowFromData(values, values)!;
    expect(w).toEqual({ center: 20.5, width: 21, function: 'LINEAR' });
    expect(Array.from(applyWindow(values, w))).toEqual([0, 128, 255]);
  });

  it('ignores pixels whose stored value is the Pixel Padding Value', () => {
    const stored = [-2000, 0, 100];
    const values = stored.map((v) => v - 1024); // rescaled
    const w = windowFromData(values, stored, paddingRange(-2000))!;
    // -1024 (stored 0) is the lowest non-padding value, -924 the highest.
    expect(w).toEqual({ center: -973.5, width: 101, function: 'LINEAR' });
  });

  it('ignores the whole Pixel Padding Range, whichever way round it is given', () => {
    const stored = [0, 1, 2, 500, 600];
    const w = windowFromData(stored, stored, paddingRange(2, 0))!;
    expect(w).toEqual({ center: 550.5, width: 101, function: 'LINEAR' });
  });

  it('uses LINEAR_EXACT over the exact range for non-integer data', () => {
    const values = new Float32Array([0.25, 0.5, 0.75]);
    const w = windowFromData(values, values)!;
    expect(w).toEqual({ center: 0.5, width: 0.5, function: 'LINEAR_EXACT' });
    expect(Array.from(applyWindow(values, w))).toEqual([0, 128, 255]);
  });

  it('skips non-finite values and gives undefined when nothing is left', () => {
    expect(windowFromData([Number.NaN], [Number.NaN])).toBeUndefined();
    expect(windowFromData([5, 5], [5, 5], paddingRange(5))).toBeUndefined();
  });
});

describe('MONOCHROME1 inversion', () => {
  it('turns 0 into 255 and back', () => {
    expect(Array.from(invert8(new Uint8Array([0, 1, 128, 255])))).toEqual([255, 254, 127, 0]);
  });
});

describe('the window applied to stored values through a table', () => {
  const ct = Int16Array.from({ length: 4096 }, (_, i) => ((i * 7919) % 3000) - 1000);
  const cases: [string, ModalityTransform, WindowLevel][] = [
    [
      'a rescale',
      { kind: 'rescale', slope: 1, intercept: -1024 },
      { center: 40, width: 400, function: 'LINEAR' },
    ],
    [
      'a fractional rescale',
      { kind: 'rescale', slope: 0.37, intercept: 3.1 },
      { center: 10, width: 77, function: 'LINEAR_EXACT' },
    ],
    ['the identity', IDENTITY_MODALITY, { center: 300, width: 900, function: 'SIGMOID' }],
    [
      'a modality table',
      {
        kind: 'table',
        lut: { firstMapped: -500, bitsPerEntry: 16, data: Array.from({ length: 1500 }, (_, i) => i * 3) },
      },
      { center: 2000, width: 3000, function: 'LINEAR' },
    ],
  ];

  for (const [name, modality, window] of cases) {
    it(`gives the same bytes as the modality LUT then the window, for ${name}`, () => {
      const expected = applyWindow(applyModalityLut(ct, modality), window);

      const actual = applyWindowToStored(ct, modality, window);

      expect(actual).toEqual(expected);
    });
  }

  // Words as files store them: 12 bits stored in 16 (high bit 11 or 15), signed or not, with stray
  // bits above Bits Stored (overlay bits in old files) that masking must drop.
  const layouts = [
    { bitsStored: 12, highBit: 11, signed: false },
    { bitsStored: 12, highBit: 11, signed: true },
    { bitsStored: 12, highBit: 15, signed: true },
    { bitsStored: 16, highBit: 15, signed: true },
  ];
  const words = Uint16Array.from({ length: 70_000 }, (_, i) => (i * 40503) & 0xffff);
  for (const [name, modality, window] of cases) {
    for (const l of layouts) {
      it(`from the stored words gives the same bytes as masking first, for ${name}, ${JSON.stringify(l)}`, () => {
        const stored = normaliseIntegers(words, l.bitsStored, l.highBit, l.signed);
        const expected = applyWindow(applyModalityLut(stored, modality), window);

        const actual = applyWindowToWords(
          { words, shift: l.highBit + 1 - l.bitsStored, bitsStored: l.bitsStored, signed: l.signed },
          modality,
          window,
        );

        expect(actual).toEqual(expected);
      });
    }
  }

  it('from 8-bit words too', () => {
    const bytes = Uint8Array.from({ length: 1024 }, (_, i) => (i * 37) & 0xff);
    const w: WindowLevel = { center: 100, width: 120, function: 'LINEAR' };
    const expected = applyWindow(normaliseIntegers(bytes, 7, 6, true), w);

    expect(
      applyWindowToWords({ words: bytes, shift: 0, bitsStored: 7, signed: true }, IDENTITY_MODALITY, w),
    ).toEqual(expected);
  });

  it('declines words spanning a wider range than the frame, through a modality table', () => {
    const w: WindowLevel = { center: 0, width: 10, function: 'LINEAR' };
    const table: ModalityTransform = {
      kind: 'table',
      lut: { firstMapped: 0, bitsPerEntry: 16, data: [0, 1] },
    };

    expect(
      applyWindowToWords(
        { words: Uint16Array.of(0, 60_000), shift: 0, bitsStored: 16, signed: false },
        table,
        w,
      ),
    ).toBeUndefined();
  });

  // With a rescale, the table covers every possible word (lut.ts wordTable): each word of every
  // layout it takes, through rescales either way and every VOI function, against masking first.
  const rescales: ModalityTransform[] = [
    IDENTITY_MODALITY,
    { kind: 'rescale', slope: 1, intercept: -1024 },
    { kind: 'rescale', slope: -0.5, intercept: 100 },
    { kind: 'rescale', slope: 2.7, intercept: 0.3 },
  ];
  const windows: WindowLevel[] = [
    { center: 40, width: 400, function: 'LINEAR' },
    { center: 0.5, width: 1, function: 'LINEAR' },
    { center: -300, width: 2500.5, function: 'LINEAR_EXACT' },
    { center: 1000, width: 60, function: 'SIGMOID' },
  ];
  const wordLayouts = [
    { wordBits: 8, bitsStored: 8, signed: false },
    { wordBits: 8, bitsStored: 7, signed: true },
    { wordBits: 16, bitsStored: 12, signed: false },
    { wordBits: 16, bitsStored: 12, signed: true },
    { wordBits: 16, bitsStored: 16, signed: true },
    { wordBits: 16, bitsStored: 16, signed: false },
  ];
  for (const l of wordLayouts) {
    it(`maps every word of ${JSON.stringify(l)} as masking first does, for every rescale and window`, () => {
      const all = Array.from({ length: 2 ** l.wordBits }, (_, i) => i);
      const words = l.wordBits === 8 ? Uint8Array.from(all) : Uint16Array.from(all);
      const stored = normaliseIntegers(words, l.bitsStored, l.bitsStored - 1, l.signed);
      for (const m of rescales) {
        for (const w of windows) {
          const expected = applyWindow(applyModalityLut(stored, m), w);

          const actual = applyWindowToWords(
            { words, shift: 0, bitsStored: l.bitsStored, signed: l.signed },
            m,
            w,
          );

          expect(Buffer.compare(Buffer.from(actual!), Buffer.from(expected)), JSON.stringify({ m, w })).toBe(
            0,
          );
        }
      }
    });
  }

  it('declines values that are not integers, and ranges wider than the frame', () => {
    const w: WindowLevel = { center: 0, width: 10, function: 'LINEAR' };

    expect(applyWindowToStored(new Float32Array([1.5, 2]), IDENTITY_MODALITY, w)).toBeUndefined();
    expect(applyWindowToStored(Int32Array.of(0, 1_000_000), IDENTITY_MODALITY, w)).toBeUndefined();
  });
});
