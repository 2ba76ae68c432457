/**
 * Adapters over the compressed-pixel codecs (WASM builds from cornerstone, the IJG 12-bit JPEG decoder
 * of dcmjs-codecs, and a pure-JS JPEG lossless decoder). Each WASM module is initialised once, lazily, on
 * first use; after a failure its instance is dropped (an aborted module is unusable) and the next call
 * starts a fresh one.
 *
 * Every function returns a `CodecImage` (samples copied out of the WASM heap) or throws ImagingError.
 */
import { createRequire } from 'node:module';
import { ImagingError, wrapDecodeError } from './errors.ts';

const require = createRequire(import.meta.url);

export interface CodecImage {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  readonly bitsPerSample: number;
  readonly signed: boolean;
  /** Pixel-interleaved samples. */
  readonly samples: Uint8Array | Uint16Array | Int16Array;
}

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The shape shared by the cornerstone WASM decoders (embind classes). */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  getInterleaveMode?(): number;
  delete(): void;
}

type DecoderClass = new () => WasmDecoder;
type WasmModule = Record<string, unknown>;

interface Codec {
  readonly module: string;
  readonly decoderClass: string;
  instance?: Promise<WasmModule>;
}

const OPENJPEG: Codec = { module: '@cornerstonejs/codec-openjpeg/decodewasmjs', decoderClass: 'J2KDecoder' };
const OPENJPH: Codec = { module: '@cornerstonejs/codec-openjph', decoderClass: 'HTJ2KDecoder' };
const CHARLS: Codec = { module: '@cornerstonejs/codec-charls/decodewasmjs', decoderClass: 'JpegLSDecoder' };
const LIBJPEG_TURBO: Codec = {
  module: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
  decoderClass: 'JPEGDecoder',
};

function load(codec: Codec): Promise<WasmModule> {
  if (!codec.instance) {
    codec.instance = (async () => {
      const factory = require(codec.module) as (options: object) => Promise<WasmModule>;
      // The codecs print progress ([INFO] ...) to stdout/stderr: keep the worker's logs structured.
      return await factory({ print: () => {}, printErr: () => {} });
    })();
    codec.instance.catch(() => {
      codec.instance = undefined;
    });
  }
  return codec.instance;
}

async function runWasm(
  codec: Codec,
  what: string,
  encoded: Uint8Array,
): Promise<{ info: FrameInfo; bytes: Uint8Array; interleaveMode?: number }> {
  let mod: WasmModule;
  try {
    mod = await load(codec);
  } catch (e) {
    throw new ImagingError('PIXEL_DECODE_FAILED', `${what}: the codec could not be loaded`, { cause: e });
  }
  const Decoder = mod[codec.decoderClass] as DecoderClass | undefined;
  if (typeof Decoder !== 'function') {
    throw new ImagingError('PIXEL_DECODE_FAILED', `${what}: the codec has no decoder`);
  }
  let decoder: WasmDecoder | undefined;
  try {
    decoder = new Decoder();
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = { ...decoder.getFrameInfo() };
    const interleaveMode = decoder.getInterleaveMode?.();
    // The decoded buffer is a view into the WASM heap: copy it before the decoder is freed.
    const bytes = decoder.getDecodedBuffer().slice();
    return interleaveMode === undefined ? { info, bytes } : { info, bytes, interleaveMode };
  } catch (e) {
    codec.instance = undefined;
    throw wrapDecodeError(e, what);
  } finally {
    try {
      decoder?.delete();
    } catch {
      codec.instance = undefined;
    }
  }
}

function toSamples(bytes: Uint8Array, bitsPerSample: number, signed: boolean): CodecImage['samples'] {
  if (bitsPerSample <= 8) return bytes;
  const copy = bytes.slice(0, bytes.length - (bytes.length % 2));
  return signed
    ? new Int16Array(copy.buffer, 0, copy.length / 2)
    : new Uint16Array(copy.buffer, 0, copy.length / 2);
}

function checkInfo(info: FrameInfo, what: string): void {
  const ok =
    Number.isInteger(info.width) &&
    Number.isInteger(info.height) &&
    info.width > 0 &&
    info.height > 0 &&
    (info.componentCount === 1 || info.componentCount === 3) &&
    info.bitsPerSample >= 1 &&
    info.bitsPerSample <= 16;
  if (!ok) throw new ImagingError('PIXEL_DECODE_FAILED', `${what}: the codec returned an unusable image`);
}

async function decodeWasm(codec: Codec, what: string, encoded: Uint8Array): Promise<CodecImage> {
  const { info, bytes, interleaveMode } = await runWasm(codec, what, encoded);
  checkInfo(info, what);
  const signed = info.isSigned === true;
  let samples = toSamples(bytes, info.bitsPerSample, signed);
  const expected = info.width * info.height * info.componentCount;
  if (samples.length < expected) {
    throw new ImagingError(
      'PIXEL_DECODE_FAILED',
      `${what}: the codec returned fewer samples than the frame needs`,
    );
  }
  if (samples.length > expected) samples = samples.subarray(0, expected);
  // JPEG-LS with interleave mode 0 (none) decodes component by component: interleave it.
  if (interleaveMode === 0 && info.componentCount === 3) samples = planarToInterleaved(samples, 3);
  return {
    width: info.width,
    height: info.height,
    components: info.componentCount,
    bitsPerSample: info.bitsPerSample,
    signed,
    samples,
  };
}

export function planarToInterleaved<T extends Uint8Array | Uint16Array | Int16Array>(
  src: T,
  components: number,
): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const plane = src.length / components;
  for (let c = 0; c < components; c++) {
    for (let p = 0; p < plane; p++) out[p * components + c] = src[c * plane + p]!;
  }
  return out;
}

export const decodeJpeg2000 = (encoded: Uint8Array): Promise<CodecImage> =>
  decodeWasm(OPENJPEG, 'JPEG 2000', encoded);
export const decodeHtj2k = (encoded: Uint8Array): Promise<CodecImage> =>
  decodeWasm(OPENJPH, 'HTJ2K', encoded);
export const decodeJpegLs = (encoded: Uint8Array): Promise<CodecImage> =>
  decodeWasm(CHARLS, 'JPEG-LS', encoded);
/** 8-bit DCT JPEG (baseline, or extended/progressive with 8-bit precision). Colour comes back as RGB. */
export const decodeJpeg8 = (encoded: Uint8Array): Promise<CodecImage> =>
  decodeWasm(LIBJPEG_TURBO, 'JPEG', encoded);

/** The part of dcmjs-codecs used here: its WASM build of the IJG library (8, 12 and 16-bit builds, as in
 * dcmtk), which decodes JPEG DCT streams of 12-bit precision, sequential or progressive. */
interface IjgContext {
  getDecodedBuffer(): Uint8Array | undefined;
}
interface DcmjsCodecsModule {
  Context: new (attrs: {
    width: number;
    height: number;
    bitsAllocated: number;
    bitsStored: number;
    samplesPerPixel: number;
    pixelRepresentation: number;
    planarConfiguration: number;
    photometricInterpretation: string;
    encodedBuffer: Uint8Array;
  }) => IjgContext;
  NativeCodecs: {
    initializeAsync(opts?: { logCodecsInfo?: boolean; logCodecsTrace?: boolean }): Promise<void>;
    isInitialized(): boolean;
    release(): void;
    decodeJpeg(context: IjgContext, parameters?: { convertColorspaceToRgb?: boolean }): IjgContext;
  };
  log: { setLevel(level: 'silent'): void };
}

let ijg: Promise<DcmjsCodecsModule> | undefined;

function loadIjg(): Promise<DcmjsCodecsModule> {
  if (!ijg) {
    ijg = (async () => {
      const mod = require('dcmjs-codecs') as DcmjsCodecsModule;
      // Its logger prints the codec's messages to the console: keep the worker's logs structured.
      mod.log.setLevel('silent');
      if (!mod.NativeCodecs.isInitialized()) await mod.NativeCodecs.initializeAsync({});
      return mod;
    })();
    ijg.catch(() => {
      ijg = undefined;
    });
  }
  return ijg;
}

/** Drops the IJG module after a failed decode: an exception thrown across the WASM boundary leaves its
 * allocations behind, so the next decode starts from a fresh instance. */
function resetIjg(mod: DcmjsCodecsModule): void {
  ijg = undefined;
  try {
    mod.NativeCodecs.release();
  } catch {
    // already released
  }
}

/**
 * 12-bit DCT JPEG (extended sequential, processes 2 & 4, or progressive, processes 10 & 12), grey only.
 * The samples come back unsigned as coded (0..4095); signed pixel data is sign-extended by the caller.
 */
export async function decodeJpeg12(encoded: Uint8Array): Promise<CodecImage> {
  const what = 'JPEG 12-bit';
  const header = jpegFrameHeader(encoded);
  if (!header) throw new ImagingError('PIXEL_DECODE_FAILED', `${what}: the frame is not a JPEG stream`);
  if (header.precision !== 12) {
    throw new ImagingError('PIXEL_DECODE_FAILED', `${what}: the stream does not have 12-bit precision`);
  }
  if (header.components !== 1) {
    throw new ImagingError('UNSUPPORTED_PIXEL_FORMAT', `${what}: only greyscale is supported`);
  }
  if (header.width === 0 || header.height === 0) {
    throw new ImagingError('PIXEL_DECODE_FAILED', `${what}: unusable frame header`);
  }
  let mod: DcmjsCodecsModule;
  try {
    mod = await loadIjg();
    // Another decode may have dropped the instance while this one waited for it.
    if (!mod.NativeCodecs.isInitialized()) mod = await loadIjg();
  } catch (e) {
    throw new ImagingError('PIXEL_DECODE_FAILED', `${what}: the codec could not be loaded`, { cause: e });
  }
  let bytes: Uint8Array | undefined;
  try {
    const context = new mod.Context({
      width: header.width,
      height: header.height,
      bitsAllocated: 16,
      bitsStored: 12, // selects the 12-bit IJG build
      samplesPerPixel: 1,
      pixelRepresentation: 0,
      planarConfiguration: 0,
      photometricInterpretation: 'MONOCHROME2',
      encodedBuffer: encoded,
    });
    bytes = mod.NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: false }).getDecodedBuffer();
  } catch (e) {
    resetIjg(mod);
    throw wrapDecodeError(e, what);
  }
  const expected = header.width * header.height;
  // The decoder sizes its output from the stream; the context's size is only echoed back.
  if (!bytes || bytes.length !== expected * 2) {
    throw new ImagingError('PIXEL_DECODE_FAILED', `${what}: the codec returned the wrong number of samples`);
  }
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return {
    width: header.width,
    height: header.height,
    components: 1,
    bitsPerSample: 12,
    signed: false,
    samples: new Uint16Array(aligned.buffer, aligned.byteOffset, expected),
  };
}

interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
  frame: { precision: number; dimX: number; dimY: number; numComp: number };
}

/** JPEG lossless (process 14, including SV1). `bytesPerSample` is 1 or 2. */
export function decodeJpegLossless(encoded: Uint8Array, bytesPerSample: 1 | 2): CodecImage {
  try {
    const { Decoder } = require('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
    const decoder = new Decoder();
    const copy = padBeforeEoi(encoded);
    const out = decoder.decode(copy.buffer, 0, copy.length, bytesPerSample);
    const { dimX, dimY, numComp, precision } = decoder.frame;
    if (!(numComp === 1 || numComp === 3) || dimX <= 0 || dimY <= 0) {
      throw new ImagingError('PIXEL_DECODE_FAILED', 'JPEG lossless: unusable frame header');
    }
    if (numComp === 3 && bytesPerSample !== 1) {
      throw new ImagingError(
        'UNSUPPORTED_PIXEL_FORMAT',
        'JPEG lossless colour is supported with 8 bits only',
      );
    }
    const expected = dimX * dimY * numComp;
    if (out.length < expected) {
      throw new ImagingError('PIXEL_DECODE_FAILED', 'JPEG lossless: fewer samples than the frame needs');
    }
    return {
      width: dimX,
      height: dimY,
      components: numComp,
      bitsPerSample: precision,
      signed: false,
      samples: out.subarray(0, expected),
    };
  } catch (e) {
    throw wrapDecodeError(e, 'JPEG lossless');
  }
}

/**
 * jpeg-lossless-decoder-js drops the last pixel when the entropy-coded data ends exactly where its final
 * bit read meets the EOI marker (seen with dcmtk's 8-bit encodes). A few zero bytes before EOI give it
 * the bits it reads ahead; decoding stops at rows x columns, so they are never output.
 */
function padBeforeEoi(encoded: Uint8Array): Uint8Array<ArrayBuffer> {
  let end = encoded.length;
  while (end > 0 && encoded[end - 1] === 0) end--; // trailing fragment padding
  const hasEoi = end >= 2 && encoded[end - 2] === 0xff && encoded[end - 1] === 0xd9;
  const body = hasEoi ? end - 2 : end;
  const out = new Uint8Array(body + 6);
  out.set(encoded.subarray(0, body));
  out[body + 4] = 0xff;
  out[body + 5] = 0xd9;
  return out;
}

export interface JpegFrameHeader {
  /** The SOFn marker's low byte (0xc0 baseline, 0xc1 extended, 0xc2 progressive, 0xc3 lossless ...). */
  readonly marker: number;
  readonly precision: number;
  readonly height: number;
  readonly width: number;
  readonly components: number;
}

/** The frame header (SOFn) of a JPEG stream, or undefined when none is found before the first scan. */
export function jpegFrameHeader(encoded: Uint8Array): JpegFrameHeader | undefined {
  if (encoded[0] !== 0xff || encoded[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= encoded.length) {
    if (encoded[i] !== 0xff) return undefined;
    const marker = encoded[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const length = (encoded[i + 2]! << 8) | encoded[i + 3]!;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 10 > encoded.length) return undefined;
      return {
        marker,
        precision: encoded[i + 4]!,
        height: (encoded[i + 5]! << 8) | encoded[i + 6]!,
        width: (encoded[i + 7]! << 8) | encoded[i + 8]!,
        components: encoded[i + 9]!,
      };
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    i += 2 + length;
  }
  return undefined;
}

/** Sample precision of a JPEG stream's frame header (SOFn), or undefined when none is found. */
export function jpegPrecision(encoded: Uint8Array): number | undefined {
  return jpegFrameHeader(encoded)?.precision;
}
