/**
 * Pixel data decoding: one frame of any supported transfer syntax to grey values (after masking and
 * sign extension) or to interleaved 8-bit RGB (after colour conversion).
 */
import type { DicomFile } from '@medimg/dicom';
import {
  describePixels,
  extendedOffsets,
  MAX_FRAME_PIXELS,
  type PixelDescription,
  readPalette,
} from './attributes.ts';
import {
  type CodecImage,
  decodeHtj2k,
  decodeJpeg8,
  decodeJpeg12,
  decodeJpeg2000,
  decodeJpegLossless,
  decodeJpegLs,
  jpegPrecision,
} from './codecs.ts';
import { applyPalette, expandYbr422, ybrFullToRgb } from './colour.ts';
import { ImagingError, wrapDecodeError } from './errors.ts';
import { encapsulatedFrame, type StreamKind } from './frames.ts';
import type { StoredWords } from './lut.ts';
import { decodeRleFrame } from './rle.ts';

export interface DecodedFrame {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: 1 | 3;
  /**
   * Grey (samplesPerPixel 1): one value per pixel after masking and sign extension: Int32Array for
   * integers (Float64Array for unsigned 32-bit), Float32Array / Float64Array for float pixel data.
   * Colour (samplesPerPixel 3, including PALETTE COLOR): interleaved RGB, 8 bits per sample.
   */
  readonly pixels: Int32Array | Float32Array | Float64Array | Uint8Array;
  /**
   * Grey integer frames of 8 or 16-bit words: the words as stored, with what turns them into the
   * values of `pixels` (lut.ts applyWindowToWords renders from them in one pass). `pixels` is then
   * computed on first use.
   */
  readonly words?: StoredWords;
  /** Photometric Interpretation of the source (so 'PALETTE COLOR' or 'YBR_FULL' for RGB pixels). */
  readonly photometric: string;
  /** Bits stored of the grey values; 8 for colour output. */
  readonly bitsStored: number;
  /** Whether grey values can be negative (signed integers, float); false for colour output. */
  readonly signed: boolean;
}

type Decoder = 'native' | 'uncompressed' | 'rle' | 'jpeg-dct' | 'jpeg-lossless' | 'jpeg-ls' | 'j2k' | 'htj2k';

const TS = '1.2.840.10008.1.2';
/** Transfer syntaxes and the decoder for each. Anything else that is encapsulated is unsupported. */
export const TRANSFER_SYNTAX_DECODERS: Readonly<Record<string, Decoder>> = {
  [TS]: 'native',
  [`${TS}.1`]: 'native',
  [`${TS}.1.99`]: 'native', // deflated: the parser has inflated it
  [`${TS}.2`]: 'native',
  [`${TS}.1.98`]: 'uncompressed', // encapsulated uncompressed: one native frame per fragment
  [`${TS}.5`]: 'rle',
  [`${TS}.4.50`]: 'jpeg-dct', // baseline (process 1)
  [`${TS}.4.51`]: 'jpeg-dct', // extended (processes 2 & 4): 8 or 12-bit precision
  [`${TS}.4.53`]: 'jpeg-dct', // retired processes 6 & 8: progressive streams, 8 or 12-bit
  [`${TS}.4.55`]: 'jpeg-dct', // retired processes 10 & 12: progressive streams, 8 or 12-bit
  [`${TS}.4.57`]: 'jpeg-lossless', // process 14
  [`${TS}.4.70`]: 'jpeg-lossless', // process 14, selection value 1
  [`${TS}.4.80`]: 'jpeg-ls',
  [`${TS}.4.81`]: 'jpeg-ls',
  [`${TS}.4.90`]: 'j2k',
  [`${TS}.4.91`]: 'j2k',
  [`${TS}.4.201`]: 'htj2k',
  [`${TS}.4.202`]: 'htj2k',
  [`${TS}.4.203`]: 'htj2k',
};

const STREAM_KIND: Record<Decoder, StreamKind> = {
  native: 'other',
  uncompressed: 'other',
  rle: 'rle',
  'jpeg-dct': 'jpeg',
  'jpeg-lossless': 'jpeg',
  'jpeg-ls': 'jpeg',
  j2k: 'jpeg2000',
  htj2k: 'jpeg2000',
};

/** Number of frames in the object (Number of Frames, default 1); throws like decodeFrame when the
 * object has no usable pixel data. */
export function frameCountOf(file: DicomFile): number {
  return describePixels(file).frameCount;
}

/** Decodes frame `frameIndex` (0-based). Throws ImagingError only. */
export async function decodeFrame(file: DicomFile, frameIndex: number): Promise<DecodedFrame> {
  try {
    return await decodeFrameUnsafe(file, frameIndex);
  } catch (e) {
    if (e instanceof ImagingError) throw e;
    throw wrapDecodeError(e, 'pixel data');
  }
}

async function decodeFrameUnsafe(file: DicomFile, frameIndex: number): Promise<DecodedFrame> {
  const desc = describePixels(file);
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= desc.frameCount) {
    throw new ImagingError('NO_PIXEL_DATA', 'the requested frame is not in the object');
  }
  const uid = file.transferSyntax.uid;
  const encapsulated = desc.element.encapsulated;
  let decoder = TRANSFER_SYNTAX_DECODERS[uid];
  if (decoder === undefined && !file.transferSyntax.encapsulated && !encapsulated) decoder = 'native';
  if (decoder === undefined) {
    throw new ImagingError('UNSUPPORTED_TRANSFER_SYNTAX', 'no decoder for this transfer syntax');
  }

  if (decoder === 'native') {
    if (encapsulated) {
      throw new ImagingError('PIXEL_DECODE_FAILED', 'encapsulated pixel data in a native transfer syntax');
    }
    return decodeNative(file, desc, frameIndex);
  }
  if (!encapsulated) {
    throw new ImagingError('PIXEL_DECODE_FAILED', 'native pixel data in an encapsulated transfer syntax');
  }
  if (desc.kind !== 'integer') {
    throw new ImagingError('UNSUPPORTED_PIXEL_FORMAT', 'float pixel data cannot be encapsulated');
  }
  const bytes = encapsulatedFrame(
    encapsulated,
    frameIndex,
    desc.frameCount,
    STREAM_KIND[decoder],
    extendedOffsets(file),
  );
  if (decoder === 'uncompressed') {
    const element = { ...desc.element, value: bytes, encapsulated: undefined };
    return decodeNative(file, { ...desc, element, frameCount: 1 }, 0);
  }
  if (decoder === 'rle') {
    const native = decodeRleFrame(bytes, desc.rows, desc.columns, desc.samplesPerPixel, desc.bitsAllocated);
    // RLE segments are per sample: the result is pixel-interleaved whatever Planar Configuration says.
    const raw = readIntegers(
      native,
      0,
      desc.rows * desc.columns * desc.samplesPerPixel,
      desc.bitsAllocated,
      'little',
    );
    return finishIntegers(file, desc, raw, { planar: false, rgbAlready: false });
  }
  const image = await runCodec(decoder, bytes, desc);
  if (image.width !== desc.columns || image.height !== desc.rows) {
    throw new ImagingError('PIXEL_DECODE_FAILED', 'the decoded frame does not have the declared size');
  }
  if (image.components !== desc.samplesPerPixel) {
    throw new ImagingError(
      'PIXEL_DECODE_FAILED',
      'the decoded frame does not have the declared samples per pixel',
    );
  }
  // libjpeg-turbo converts YCbCr to RGB itself; JPEG 2000 codecs undo the RCT/ICT component transform.
  const rgbAlready =
    decoder === 'jpeg-dct' ||
    ((decoder === 'j2k' || decoder === 'htj2k') &&
      (desc.photometric === 'YBR_RCT' || desc.photometric === 'YBR_ICT'));
  return finishIntegers(file, desc, image.samples, { planar: false, rgbAlready });
}

async function runCodec(decoder: Decoder, bytes: Uint8Array, desc: PixelDescription): Promise<CodecImage> {
  switch (decoder) {
    case 'jpeg-dct': {
      const precision = jpegPrecision(bytes);
      if (precision === undefined) {
        throw new ImagingError('PIXEL_DECODE_FAILED', 'the frame is not a JPEG stream');
      }
      // Routed by the stream's own precision: 12-bit data also turns up under the baseline UID.
      if (precision === 12) return decodeJpeg12(bytes);
      if (precision !== 8) {
        throw new ImagingError(
          'UNSUPPORTED_TRANSFER_SYNTAX',
          'no decoder for JPEG with this sample precision',
        );
      }
      return decodeJpeg8(bytes);
    }
    case 'jpeg-lossless':
      return decodeJpegLossless(bytes, desc.bitsAllocated <= 8 ? 1 : 2);
    case 'jpeg-ls':
      return decodeJpegLs(bytes);
    case 'j2k':
      return decodeJpeg2000(bytes);
    case 'htj2k':
      return decodeHtj2k(bytes);
    default:
      throw new ImagingError('UNSUPPORTED_TRANSFER_SYNTAX', 'no decoder for this transfer syntax');
  }
}

function decodeNative(file: DicomFile, desc: PixelDescription, frameIndex: number): DecodedFrame {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated, byteOrder } = desc;
  let value = desc.element.value;
  const pixelCount = rows * columns;

  if (desc.kind !== 'integer') {
    const bytesPerValue = desc.kind === 'float' ? 4 : 8;
    const frameBytes = pixelCount * bytesPerValue;
    checkLength(value.length, frameBytes * desc.frameCount);
    const view = new DataView(value.buffer, value.byteOffset + frameIndex * frameBytes, frameBytes);
    const little = byteOrder === 'little';
    const pixels = desc.kind === 'float' ? new Float32Array(pixelCount) : new Float64Array(pixelCount);
    for (let i = 0; i < pixelCount; i++) {
      pixels[i] = desc.kind === 'float' ? view.getFloat32(i * 4, little) : view.getFloat64(i * 8, little);
    }
    return {
      rows,
      columns,
      samplesPerPixel: 1,
      pixels,
      photometric: desc.photometric,
      bitsStored: desc.bitsAllocated,
      signed: true,
    };
  }

  if (bitsAllocated === 1) {
    const bitsPerFrame = pixelCount * spp;
    checkLength(value.length, Math.ceil((bitsPerFrame * desc.frameCount) / 8));
    const raw = new Uint8Array(bitsPerFrame);
    const firstBit = frameIndex * bitsPerFrame;
    for (let i = 0; i < bitsPerFrame; i++) {
      const bit = firstBit + i;
      raw[i] = (value[bit >> 3]! >> (bit & 7)) & 1;
    }
    return finishIntegers(file, desc, raw, { planar: false, rgbAlready: false });
  }

  // Explicit VR Big Endian with 8-bit samples in an OW element: the bytes are swapped in 16-bit words.
  if (byteOrder === 'big' && bitsAllocated === 8 && desc.element.vr === 'OW') value = swap16(value);

  if (desc.photometric === 'YBR_FULL_422' && spp === 3) {
    if (bitsAllocated !== 8)
      throw new ImagingError('UNSUPPORTED_PIXEL_FORMAT', 'YBR_FULL_422 needs 8-bit samples');
    const frameBytes = rows * Math.ceil(columns / 2) * 4;
    checkLength(value.length, frameBytes * desc.frameCount);
    const ybr = expandYbr422(
      value.subarray(frameIndex * frameBytes, (frameIndex + 1) * frameBytes),
      rows,
      columns,
    );
    return colourFrame(desc, ybrFullToRgb(ybr));
  }

  const bytesPerSample = bitsAllocated / 8;
  const samplesPerFrame = pixelCount * spp;
  const frameBytes = samplesPerFrame * bytesPerSample;
  checkLength(value.length, frameBytes * desc.frameCount);
  const raw = readIntegers(value, frameIndex * frameBytes, samplesPerFrame, bitsAllocated, byteOrder);
  return finishIntegers(file, desc, raw, { planar: desc.planarConfiguration === 1, rgbAlready: false });
}

function checkLength(available: number, needed: number): void {
  if (available < needed) {
    throw new ImagingError('PIXEL_DATA_TRUNCATED', 'the pixel data is shorter than the image needs');
  }
}

function swap16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  return out;
}

/** Unsigned sample values of 8, 16 or 32 bits from `count` samples at `offset`. */
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function readIntegers(
  bytes: Uint8Array,
  offset: number,
  count: number,
  bitsAllocated: number,
  byteOrder: 'little' | 'big',
): Uint8Array | Uint16Array | Uint32Array {
  if (bitsAllocated === 8) return bytes.subarray(offset, offset + count);
  const little = byteOrder === 'little';
  const start = bytes.byteOffset + offset;
  // Little-endian data on a little-endian host, aligned: a view on the file's bytes, no copy
  // (callers never write into it, as with the 8-bit subarray above).
  if (little && HOST_LITTLE_ENDIAN && start % (bitsAllocated / 8) === 0) {
    if (bitsAllocated === 16) return new Uint16Array(bytes.buffer, start, count);
    if (bitsAllocated === 32) return new Uint32Array(bytes.buffer, start, count);
  }
  const view = new DataView(bytes.buffer, start, count * (bitsAllocated / 8));
  if (bitsAllocated === 16) {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, little);
    return out;
  }
  if (bitsAllocated === 32) {
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, little);
    return out;
  }
  throw new ImagingError('UNSUPPORTED_PIXEL_FORMAT', 'bits allocated must be 1, 8, 16 or 32');
}

/** Masks to Bits Stored (shifting down when High Bit is above Bits Stored - 1) and sign-extends. */
export function normaliseIntegers(
  raw: ArrayLike<number>,
  bitsStored: number,
  highBit: number,
  signed: boolean,
): Int32Array | Float64Array {
  const n = raw.length;
  const shift = highBit + 1 - bitsStored;
  if (bitsStored === 32) {
    const out = signed ? new Int32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = signed ? raw[i]! | 0 : raw[i]! >>> 0;
    return out;
  }
  const mask = 2 ** bitsStored - 1;
  const signBit = 2 ** (bitsStored - 1);
  const range = 2 ** bitsStored;
  const out = new Int32Array(n);
  // The unsigned loop without the sign test: the common case, a third faster.
  if (!signed) {
    for (let i = 0; i < n; i++) out[i] = (raw[i]! >>> shift) & mask;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const v = (raw[i]! >>> shift) & mask;
    out[i] = v >= signBit ? v - range : v;
  }
  return out;
}

function finishIntegers(
  file: DicomFile,
  desc: PixelDescription,
  raw: ArrayLike<number>,
  layout: { planar: boolean; rgbAlready: boolean },
): DecodedFrame {
  if (desc.samplesPerPixel === 1) {
    if (desc.photometric === 'PALETTE COLOR') {
      // Indexes are unsigned unless Pixel Representation says otherwise; the LUT's first mapped value matches.
      const indexes = normaliseIntegers(raw, desc.bitsStored, desc.highBit, desc.signed);
      return colourFrame(desc, applyPalette(indexes, readPalette(file, desc)));
    }
    // The stored values are made on first use only: rendering with a header window reads the words
    // themselves through one table (lut.ts applyWindowToWords) and never needs them.
    let pixels: Int32Array | Float64Array | undefined;
    const words =
      raw instanceof Uint16Array || raw instanceof Uint8Array
        ? {
            words: raw,
            shift: desc.highBit + 1 - desc.bitsStored,
            bitsStored: desc.bitsStored,
            signed: desc.signed,
          }
        : undefined;
    return {
      rows: desc.rows,
      columns: desc.columns,
      samplesPerPixel: 1,
      get pixels() {
        pixels ??= normaliseIntegers(raw, desc.bitsStored, desc.highBit, desc.signed);
        return pixels;
      },
      ...(words && desc.bitsStored < 32 ? { words } : {}),
      photometric: desc.photometric,
      bitsStored: desc.bitsStored,
      signed: desc.signed,
    };
  }

  const pixelCount = desc.rows * desc.columns;
  const values = normaliseIntegers(raw, desc.bitsStored, desc.highBit, false);
  const down = desc.bitsStored > 8 ? 2 ** (desc.bitsStored - 8) : 1;
  const rgb = new Uint8Array(pixelCount * 3);
  for (let p = 0; p < pixelCount; p++) {
    for (let c = 0; c < 3; c++) {
      const v = layout.planar ? values[c * pixelCount + p]! : values[p * 3 + c]!;
      rgb[p * 3 + c] = down === 1 ? v : Math.floor(v / down);
    }
  }
  const isYbr = desc.photometric === 'YBR_FULL' || desc.photometric === 'YBR_FULL_422';
  if (isYbr && !layout.rgbAlready) ybrFullToRgb(rgb);
  else if (!layout.rgbAlready && desc.photometric !== 'RGB') {
    throw new ImagingError(
      'UNSUPPORTED_PIXEL_FORMAT',
      'this colour space is not supported with this encoding',
    );
  }
  return colourFrame(desc, rgb);
}

function colourFrame(desc: PixelDescription, rgb: Uint8Array): DecodedFrame {
  return {
    rows: desc.rows,
    columns: desc.columns,
    samplesPerPixel: 3,
    pixels: rgb,
    photometric: desc.photometric,
    bitsStored: 8,
    signed: false,
  };
}

export type { ImagingErrorCode } from './errors.ts';
export { ImagingError } from './errors.ts';
export { MAX_FRAME_PIXELS };
