import { createRequire } from 'node:module';
import { T } from '@medimg/dicom';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode.ts';
import { ImagingError } from './errors.ts';
import { imageFile, numberElement, pack } from './testing.ts';

const require = createRequire(import.meta.url);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ImagingError);
    return (e as ImagingError).code;
  }
  return 'resolved';
}

/** An RLE fragment with one literal segment per byte plane. */
function rleFragment(segments: number[][]): Uint8Array {
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  const body: number[] = [];
  segments.forEach((bytes, i) => {
    view.setUint32(4 + i * 4, offset, true);
    const seg = [bytes.length - 1, ...bytes];
    if (seg.length % 2) seg.push(0);
    body.push(...seg);
    offset += seg.length;
  });
  return Uint8Array.from([...header, ...body]);
}

describe('native grey pixel formats', () => {
  it('reads 8-bit unsigned MONOCHROME2', async () => {
    const file = imageFile({ rows: 1, columns: 3, pixels: Uint8Array.from([0, 128, 255, 0]) });
    const frame = await decodeFrame(file, 0);
    expect(frame).toMatchObject({ rows: 1, columns: 3, samplesPerPixel: 1, bitsStored: 8, signed: false });
    expect(Array.from(frame.pixels)).toEqual([0, 128, 255]);
  });

  it('masks bits above Bits Stored and sign-extends 12-bit signed values', async () => {
    // 0x0FFF is -1 in 12 bits, 0x0800 is -2048, 0xF001 has garbage above bit 11 and is 1.
    const file = imageFile({
      rows: 1,
      columns: 4,
      bitsAllocated: 16,
      bitsStored: 12,
      signed: true,
      pixels: pack([0x0fff, 0x0800, 0xf001, 0x07ff], 'u16'),
    });
    const frame = await decodeFrame(file, 0);
    expect(frame.pixels).toBeInstanceOf(Int32Array);
    expect(Array.from(frame.pixels)).toEqual([-1, -2048, 1, 2047]);
  });

  it('shifts down when High Bit is above Bits Stored - 1', async () => {
    // 8 bits stored in bits 4..11.
    const file = imageFile({
      rows: 1,
      columns: 2,
      bitsAllocated: 16,
      bitsStored: 8,
      highBit: 11,
      pixels: pack([0x0ff0, 0x0010], 'u16'),
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([255, 1]);
  });

  it('reads 16-bit signed big-endian data (Explicit VR Big Endian)', async () => {
    const file = imageFile({
      rows: 1,
      columns: 3,
      bitsAllocated: 16,
      signed: true,
      transferSyntax: '1.2.840.10008.1.2.2',
      pixels: pack([-1024, 0, 3000], 'i16', 'big'),
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([-1024, 0, 3000]);
  });

  it('reads implicit VR little endian the same way', async () => {
    const file = imageFile({
      rows: 1,
      columns: 2,
      bitsAllocated: 16,
      transferSyntax: '1.2.840.10008.1.2',
      pixels: pack([1, 65535], 'u16'),
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([1, 65535]);
  });

  it('unpacks 1-bit pixels least significant bit first, with frames not byte aligned', async () => {
    // Two 3x3 frames = 18 bits. Frame 0: bits 0..8, frame 1: bits 9..17.
    // Frame 1 is a diagonal: its pixels 0, 4, 8 are bits 9, 13, 17.
    const bits = new Array(24).fill(0);
    for (const b of [0, 1, 9, 13, 17]) bits[b] = 1;
    const bytes = Uint8Array.from(
      [0, 1, 2, 3].map((i) => bits.slice(i * 8, i * 8 + 8).reduce((a, b, k) => a | (b << k), 0)),
    );
    const file = imageFile({
      rows: 3,
      columns: 3,
      bitsAllocated: 1,
      frames: 2,
      pixels: bytes,
      pixelVr: 'OB',
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from((await decodeFrame(file, 1)).pixels)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('reads 32-bit signed and unsigned integers', async () => {
    const signed = imageFile({
      rows: 1,
      columns: 2,
      bitsAllocated: 32,
      signed: true,
      pixels: pack([-5, 70000], 'i32'),
    });
    expect(Array.from((await decodeFrame(signed, 0)).pixels)).toEqual([-5, 70000]);
    const unsigned = imageFile({
      rows: 1,
      columns: 2,
      bitsAllocated: 32,
      pixels: pack([4_000_000_000, 1], 'u32'),
    });
    const frame = await decodeFrame(unsigned, 0);
    expect(frame.pixels).toBeInstanceOf(Float64Array);
    expect(Array.from(frame.pixels)).toEqual([4_000_000_000, 1]);
  });

  it('reads Float Pixel Data and Double Float Pixel Data', async () => {
    const f = imageFile({
      rows: 1,
      columns: 2,
      bitsAllocated: 32,
      pixelTag: 'FloatPixelData',
      pixels: pack([-1.5, 2.25], 'f32'),
    });
    const ff = await decodeFrame(f, 0);
    expect(ff.pixels).toBeInstanceOf(Float32Array);
    expect(Array.from(ff.pixels)).toEqual([-1.5, 2.25]);
    const d = imageFile({
      rows: 1,
      columns: 1,
      bitsAllocated: 64,
      pixelTag: 'DoubleFloatPixelData',
      transferSyntax: '1.2.840.10008.1.2.2',
      pixels: pack([Math.PI], 'f64', 'big'),
    });
    expect(Array.from((await decodeFrame(d, 0)).pixels)).toEqual([Math.PI]);
  });

  it('picks the requested frame of a multi-frame object', async () => {
    const file = imageFile({ rows: 1, columns: 2, frames: 3, pixels: Uint8Array.from([1, 2, 3, 4, 5, 6]) });
    expect(Array.from((await decodeFrame(file, 2)).pixels)).toEqual([5, 6]);
    expect(await codeOf(decodeFrame(file, 3))).toBe('NO_PIXEL_DATA');
  });
});

describe('native colour', () => {
  it('reads RGB with planar configuration 0 (interleaved)', async () => {
    const file = imageFile({
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      pixels: Uint8Array.from([1, 2, 3, 4, 5, 6]),
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads RGB with planar configuration 1 (RRR GGG BBB)', async () => {
    const file = imageFile({
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      planarConfiguration: 1,
      pixels: Uint8Array.from([1, 4, 2, 5, 3, 6]),
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps the high byte of 16-bit RGB', async () => {
    const file = imageFile({
      rows: 1,
      columns: 1,
      samplesPerPixel: 3,
      bitsAllocated: 16,
      pixels: pack([0xffff, 0x8000, 0x00ff], 'u16'),
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([255, 128, 0]);
  });

  it('converts YBR_FULL to RGB', async () => {
    const file = imageFile({
      rows: 1,
      columns: 1,
      samplesPerPixel: 3,
      photometric: 'YBR_FULL',
      pixels: Uint8Array.from([128, 128, 128, 0]),
    });
    const frame = await decodeFrame(file, 0);
    expect(frame.photometric).toBe('YBR_FULL');
    expect(Array.from(frame.pixels)).toEqual([128, 128, 128]);
  });

  it('expands and converts native YBR_FULL_422', async () => {
    // Two pixels: Y1=0 Y2=255, neutral chroma -> black then white.
    const file = imageFile({
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      photometric: 'YBR_FULL_422',
      pixels: Uint8Array.from([0, 255, 128, 128]),
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([0, 0, 0, 255, 255, 255]);
  });

  it('swaps OW words of 8-bit data in Explicit VR Big Endian', async () => {
    const file = imageFile({
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      transferSyntax: '1.2.840.10008.1.2.2',
      pixels: Uint8Array.from([2, 1, 4, 3, 6, 5]),
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('palette colour', () => {
  const descriptor = (tagValue: number) => numberElement(tagValue, 'US', [4, 0, 16], 'little');
  const data = (tagValue: number, values: number[]) => ({
    tag: tagValue,
    vr: 'OW',
    value: pack(values, 'u16'),
  });

  it('looks 8-bit indexes up in 16-bit tables', async () => {
    const file = imageFile({
      rows: 1,
      columns: 2,
      photometric: 'PALETTE COLOR',
      pixels: Uint8Array.from([0, 3]),
      extra: [
        descriptor(T.RedPaletteColorLookupTableDescriptor),
        descriptor(T.GreenPaletteColorLookupTableDescriptor),
        descriptor(T.BluePaletteColorLookupTableDescriptor),
        data(T.RedPaletteColorLookupTableData, [0xffff, 0, 0, 0]),
        data(T.GreenPaletteColorLookupTableData, [0, 0, 0, 0x8000]),
        data(T.BluePaletteColorLookupTableData, [0, 0, 0, 0xffff]),
      ],
    });
    const frame = await decodeFrame(file, 0);
    expect(frame.samplesPerPixel).toBe(3);
    expect(frame.photometric).toBe('PALETTE COLOR');
    expect(Array.from(frame.pixels)).toEqual([255, 0, 0, 0, 128, 255]);
  });

  it('expands segmented tables', async () => {
    // Each channel: linear ramp 0 -> 0xFF00 over 4 entries (discrete [0], then linear 3 to 0xFF00).
    const segmented = [0, 1, 0, 1, 3, 0xff00];
    const file = imageFile({
      rows: 1,
      columns: 4,
      photometric: 'PALETTE COLOR',
      pixels: Uint8Array.from([0, 1, 2, 3]),
      extra: [
        descriptor(T.RedPaletteColorLookupTableDescriptor),
        descriptor(T.GreenPaletteColorLookupTableDescriptor),
        descriptor(T.BluePaletteColorLookupTableDescriptor),
        data(T.SegmentedRedPaletteColorLookupTableData, segmented),
        data(T.SegmentedGreenPaletteColorLookupTableData, segmented),
        data(T.SegmentedBluePaletteColorLookupTableData, segmented),
      ],
    });
    const reds = Array.from((await decodeFrame(file, 0)).pixels).filter((_, i) => i % 3 === 0);
    expect(reds).toEqual([0, 85, 170, 255]);
  });

  it('fails with UNSUPPORTED_PIXEL_FORMAT when the palette is missing', async () => {
    const file = imageFile({
      rows: 1,
      columns: 1,
      photometric: 'PALETTE COLOR',
      pixels: Uint8Array.from([0, 0]),
    });
    expect(await codeOf(decodeFrame(file, 0))).toBe('UNSUPPORTED_PIXEL_FORMAT');
  });
});

describe('encapsulated pixel data', () => {
  const RLE = '1.2.840.10008.1.2.5';

  it('decodes RLE frames with one fragment each and no offset table', async () => {
    const file = imageFile({
      rows: 1,
      columns: 2,
      frames: 2,
      transferSyntax: RLE,
      pixels: {
        basicOffsetTable: new Uint8Array(0),
        fragments: [rleFragment([[1, 2]]), rleFragment([[3, 4]])],
      },
    });
    expect(Array.from((await decodeFrame(file, 1)).pixels)).toEqual([3, 4]);
  });

  it('follows the Basic Offset Table when a frame spans several fragments', async () => {
    // Frame 0 is split over fragments 0 and 1; frame 1 is fragment 2.
    const f0 = rleFragment([[7, 8]]);
    const a = f0.subarray(0, 40);
    const b = f0.subarray(40);
    const f1 = rleFragment([[9, 10]]);
    const bot = pack([0, 8 + a.length + 8 + b.length], 'u32');
    const file = imageFile({
      rows: 1,
      columns: 2,
      frames: 2,
      transferSyntax: RLE,
      pixels: { basicOffsetTable: bot, fragments: [a, b, f1] },
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([7, 8]);
    expect(Array.from((await decodeFrame(file, 1)).pixels)).toEqual([9, 10]);
  });

  it('uses the Extended Offset Table when present', async () => {
    const f0 = rleFragment([[1, 1]]);
    const f1 = rleFragment([[2, 2]]);
    const eot = new Uint8Array(16);
    new DataView(eot.buffer).setBigUint64(8, BigInt(8 + f0.length), true);
    const file = imageFile({
      rows: 1,
      columns: 2,
      frames: 2,
      transferSyntax: RLE,
      extra: [{ tag: 0x7fe00001, vr: 'OV', value: eot }],
      // Without the EOT, two fragments plus an empty one would not map to two frames by count.
      pixels: { basicOffsetTable: new Uint8Array(0), fragments: [f0, f1, new Uint8Array(0)] },
    });
    expect(Array.from((await decodeFrame(file, 1)).pixels)).toEqual([2, 2]);
  });

  it('splits fragments on start markers when there is no offset table', async () => {
    const f0 = rleFragment([[5, 6]]);
    const f1 = rleFragment([[7, 8]]);
    const file = imageFile({
      rows: 1,
      columns: 2,
      frames: 2,
      transferSyntax: RLE,
      pixels: { basicOffsetTable: new Uint8Array(0), fragments: [f0.subarray(0, 70), f0.subarray(70), f1] },
    });
    expect(Array.from((await decodeFrame(file, 1)).pixels)).toEqual([7, 8]);
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual([5, 6]);
  });

  it('decodes HTJ2K (encoded here with the OpenJPH encoder)', async () => {
    const openjph = await require('@cornerstonejs/codec-openjph')({ print() {}, printErr() {} });
    const encoder = new openjph.HTJ2KEncoder();
    const values = Array.from({ length: 32 }, (_, i) => (i * 131) % 4096);
    encoder
      .getDecodedBuffer({
        width: 8,
        height: 4,
        bitsPerSample: 12,
        componentCount: 1,
        isSigned: false,
        isUsingColorTransform: false,
      })
      .set(pack(values, 'u16'));
    encoder.encode();
    const encoded = encoder.getEncodedBuffer().slice();
    encoder.delete();
    const file = imageFile({
      rows: 4,
      columns: 8,
      bitsAllocated: 16,
      bitsStored: 12,
      transferSyntax: '1.2.840.10008.1.2.4.201',
      pixels: { basicOffsetTable: new Uint8Array(0), fragments: [encoded] },
    });
    expect(Array.from((await decodeFrame(file, 0)).pixels)).toEqual(values);
  });

  it('wraps a codec failure on garbage into PIXEL_DECODE_FAILED', async () => {
    const garbage = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
    for (const ts of ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.57']) {
      const file = imageFile({
        rows: 4,
        columns: 4,
        transferSyntax: ts,
        pixels: { basicOffsetTable: new Uint8Array(0), fragments: [garbage] },
      });
      expect(await codeOf(decodeFrame(file, 0))).toBe('PIXEL_DECODE_FAILED');
    }
  });

  it('routes 12-bit JPEG to the 12-bit decoder, and other DCT precisions to UNSUPPORTED_TRANSFER_SYNTAX', async () => {
    // SOI, then SOF1 with the given precision, 4x4, one component, then EOI: no tables, no scan.
    const jpeg = (precision: number) =>
      Uint8Array.from([0xff, 0xd8, 0xff, 0xc1, 0, 11, precision, 0, 4, 0, 4, 1, 1, 0x11, 0, 0xff, 0xd9]);
    const file = (precision: number) =>
      imageFile({
        rows: 4,
        columns: 4,
        bitsAllocated: 16,
        bitsStored: 12,
        transferSyntax: '1.2.840.10008.1.2.4.51',
        pixels: { basicOffsetTable: new Uint8Array(0), fragments: [jpeg(precision)] },
      });
    // The 12-bit decoder (real streams: jpeg12.test.ts) rejects this header-only stream.
    expect(await codeOf(decodeFrame(file(12), 0))).toBe('PIXEL_DECODE_FAILED');
    expect(await codeOf(decodeFrame(file(16), 0))).toBe('UNSUPPORTED_TRANSFER_SYNTAX');
  });
});

describe('errors', () => {
  it('PIXEL_DATA_TRUNCATED when native pixel data is shorter than rows x columns x frames', async () => {
    const file = imageFile({ rows: 4, columns: 4, bitsAllocated: 16, pixels: new Uint8Array(30) });
    expect(await codeOf(decodeFrame(file, 0))).toBe('PIXEL_DATA_TRUNCATED');
    const frames = imageFile({ rows: 2, columns: 2, frames: 3, pixels: new Uint8Array(8) });
    expect(await codeOf(decodeFrame(frames, 0))).toBe('PIXEL_DATA_TRUNCATED');
  });

  it('UNSUPPORTED_TRANSFER_SYNTAX for a syntax without a decoder (MPEG2)', async () => {
    const file = imageFile({
      rows: 2,
      columns: 2,
      transferSyntax: '1.2.840.10008.1.2.4.100',
      pixels: { basicOffsetTable: new Uint8Array(0), fragments: [new Uint8Array(8)] },
    });
    expect(await codeOf(decodeFrame(file, 0))).toBe('UNSUPPORTED_TRANSFER_SYNTAX');
  });

  it('NO_PIXEL_DATA when there is no pixel data element', async () => {
    const file = imageFile({ rows: 2, columns: 2, pixels: new Uint8Array(4) });
    file.dataset.delete(T.PixelData);
    expect(await codeOf(decodeFrame(file, 0))).toBe('NO_PIXEL_DATA');
  });

  it('rejects absurd dimensions before allocating anything', async () => {
    const file = imageFile({ rows: 65535, columns: 65535, frames: 1000, pixels: new Uint8Array(2) });
    expect(await codeOf(decodeFrame(file, 0))).toBe('UNSUPPORTED_PIXEL_FORMAT');
  });

  it('UNSUPPORTED_PIXEL_FORMAT for bits allocated 12 or a photometric that contradicts the samples', async () => {
    const twelve = imageFile({ rows: 1, columns: 2, bitsAllocated: 12, pixels: new Uint8Array(4) });
    expect(await codeOf(decodeFrame(twelve, 0))).toBe('UNSUPPORTED_PIXEL_FORMAT');
    const wrong = imageFile({ rows: 1, columns: 1, photometric: 'RGB', pixels: new Uint8Array(2) });
    expect(await codeOf(decodeFrame(wrong, 0))).toBe('UNSUPPORTED_PIXEL_FORMAT');
  });

  it('error messages carry no DICOM values', async () => {
    const file = imageFile({ rows: 4, columns: 4, bitsAllocated: 16, pixels: new Uint8Array(30) });
    await decodeFrame(file, 0).catch((e: Error) => {
      expect(e.message).not.toMatch(/\d/);
    });
  });
});
