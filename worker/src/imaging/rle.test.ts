import { describe, expect, it } from 'vitest';
import { ImagingError } from './errors.ts';
import { decodePackBits, decodeRleFrame } from './rle.ts';

/** An RLE frame: the 64-byte header (segment count, offsets) followed by the segments. */
function rleFrame(segments: number[][]): Uint8Array {
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((s, i) => {
    view.setUint32(4 + i * 4, offset, true);
    offset += s.length;
  });
  return Uint8Array.from([...header, ...segments.flat()]);
}

describe('PackBits (PS3.5 G.3.1)', () => {
  it('decodes replicate runs, literal runs and skips the -128 no-op', () => {
    // 0xFE = -2: repeat the next byte 3 times; 0x02: 3 literal bytes; 0x80 = -128: no-op.
    const out = new Uint8Array(6);
    decodePackBits(Uint8Array.from([0xfe, 5, 0x80, 0x02, 1, 2, 3]), out);
    expect(Array.from(out)).toEqual([5, 5, 5, 1, 2, 3]);
  });

  it('drops the segment padding byte beyond the frame', () => {
    const out = new Uint8Array(3);
    decodePackBits(Uint8Array.from([0x02, 7, 8, 9, 0x00]), out);
    expect(Array.from(out)).toEqual([7, 8, 9]);
  });

  it('fails with PIXEL_DATA_TRUNCATED when the segment ends early', () => {
    const out = new Uint8Array(10);
    expect(() => decodePackBits(Uint8Array.from([0xfe, 5]), out)).toThrow(
      expect.objectContaining({ code: 'PIXEL_DATA_TRUNCATED' }),
    );
  });
});

describe('RLE frames (PS3.5 Annex G)', () => {
  it('decodes one 8-bit segment', () => {
    const frame = rleFrame([[0xfe, 5, 0x02, 1, 2, 3]]);
    expect(Array.from(decodeRleFrame(frame, 2, 3, 1, 8))).toEqual([5, 5, 5, 1, 2, 3]);
  });

  it('puts the most significant byte segment first, producing little-endian 16-bit samples', () => {
    // Pixels 0x0102 and 0x0304: segment 0 holds the high bytes, segment 1 the low bytes.
    const frame = rleFrame([
      [0x01, 0x01, 0x03],
      [0x01, 0x02, 0x04],
    ]);
    expect(Array.from(decodeRleFrame(frame, 1, 2, 1, 16))).toEqual([0x02, 0x01, 0x04, 0x03]);
  });

  it('interleaves colour segments pixel by pixel', () => {
    const frame = rleFrame([
      [0xff, 10], // R: 10, 10
      [0xff, 20], // G
      [0xff, 30], // B
    ]);
    expect(Array.from(decodeRleFrame(frame, 1, 2, 3, 8))).toEqual([10, 20, 30, 10, 20, 30]);
  });

  it('rejects a header whose segment count does not match the image', () => {
    const frame = rleFrame([[0xff, 10]]);
    const error = (() => {
      try {
        decodeRleFrame(frame, 1, 2, 1, 16);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ImagingError);
    expect((error as ImagingError).code).toBe('PIXEL_DECODE_FAILED');
  });

  it('rejects a frame shorter than its header', () => {
    expect(() => decodeRleFrame(new Uint8Array(10), 1, 1, 1, 8)).toThrow(
      expect.objectContaining({ code: 'PIXEL_DATA_TRUNCATED' }),
    );
  });
});
