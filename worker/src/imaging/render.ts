/**
 * Normalisation (DESIGN D4): a frame decoded, through the modality and VOI transforms to 8 bits, then
 * resized with sharp (libvips) where needed and written as a preview PNG, a thumbnail and the model input of common/src/inference.ts.
 */

import { crc32, deflateSync, constants as zlibConstants } from 'node:zlib';
import type { FindingBox } from '@medimg/common';
import { MODEL_INPUT_SIZE } from '@medimg/common/model-input.ts';
import { type DicomFile, getString, T } from '@medimg/dicom';
import type { Sharp } from 'sharp';
import { describePixels, pixelAspect, readGreyscaleParameters } from './attributes.ts';
import { type DecodedFrame, decodeFrame } from './decode.ts';
import { ImagingError, wrapDecodeError } from './errors.ts';
import {
  applyModalityLut,
  applyVoiLut,
  applyWindow,
  applyWindowToStored,
  applyWindowToWords,
  invert8,
  type VoiFunction,
  type WindowLevel,
  windowFromData,
} from './lut.ts';
import { loadSharp } from './sharp.ts';

export const PREVIEW_MAX_SIZE = 1024;
export const THUMBNAIL_MAX_SIZE = 128;

export interface WindowUsed {
  readonly center: number;
  readonly width: number;
  /** 'header': Window Center/Width; 'voi-lut': VOI LUT Sequence (center/width span the table's input
   * range); 'data': derived from the pixel values, padding excluded. */
  readonly source: 'header' | 'voi-lut' | 'data';
  readonly function: VoiFunction;
}

/** A frame after all grey-scale (or colour) transforms, at full resolution, 8 bits per sample. */
export interface DisplayFrame {
  readonly rows: number;
  readonly columns: number;
  readonly channels: 1 | 3;
  /** Row-major, interleaved when channels is 3. */
  readonly pixels: Uint8Array;
  readonly frameIndex: number;
  readonly frameCount: number;
  readonly photometric: string;
  /** Height/width of one pixel on the patient (Pixel Spacing or Pixel Aspect Ratio); 1 when unknown. */
  readonly pixelAspect: number;
  readonly window?: WindowUsed;
}

export interface RenderedImage {
  /** 8-bit PNG (grey or RGB), at most 1024 px on the long side, aspect ratio corrected. */
  readonly preview: Buffer;
  /** Same, at most 128 px on the long side. */
  readonly thumbnail: Buffer;
  /** The model input of common/src/inference.ts: 8-bit grey PNG, MODEL_INPUT_SIZE square, contain, black. */
  readonly modelInput: Buffer;
  readonly frameIndex: number;
  readonly frameCount: number;
  readonly rows: number;
  readonly columns: number;
  readonly photometric: string;
  readonly window?: {
    readonly center: number;
    readonly width: number;
    readonly source: WindowUsed['source'];
  };
}

export interface RenderOptions {
  /** 0-based frame; the representative (middle) frame by default. */
  readonly frame?: number;
}

/** The representative frame of a multi-frame object: the middle one (the lower middle for even counts). */
export const representativeFrame = (frameCount: number): number =>
  Math.max(0, Math.floor((frameCount - 1) / 2));

/** Decodes a frame and applies modality LUT, VOI (header window, VOI LUT, or one from the data), and
 * the MONOCHROME1 / INVERSE inversion. Throws ImagingError only. */
export async function renderDisplayFrame(
  file: DicomFile,
  options: RenderOptions = {},
): Promise<DisplayFrame> {
  return (await renderDisplayAndDecoded(file, options)).display;
}

/**
 * The display frame and the decoded frame it was made from (the burned-in text scan looks at both:
 * the display view and the stored values' full range), from one decode. Throws ImagingError only.
 */
export async function renderDisplayAndDecoded(
  file: DicomFile,
  options: RenderOptions = {},
): Promise<{ display: DisplayFrame; decoded: DecodedFrame }> {
  try {
    const desc = describePixels(file);
    const frameIndex = options.frame ?? representativeFrame(desc.frameCount);
    const decoded = await decodeFrame(file, frameIndex);
    return { display: displayOf(file, decoded, frameIndex, desc), decoded };
  } catch (e) {
    throw e instanceof ImagingError ? e : wrapDecodeError(e, 'rendering');
  }
}

function displayOf(
  file: DicomFile,
  decoded: DecodedFrame,
  frameIndex: number,
  desc: ReturnType<typeof describePixels>,
): DisplayFrame {
  const base = {
    rows: decoded.rows,
    columns: decoded.columns,
    frameIndex,
    frameCount: desc.frameCount,
    photometric: decoded.photometric,
    pixelAspect: pixelAspect(file, frameIndex),
  };
  if (decoded.samplesPerPixel === 3) {
    return { ...base, channels: 3, pixels: decoded.pixels as Uint8Array };
  }

  const params = readGreyscaleParameters(file, frameIndex, desc);
  let pixels: Uint8Array;
  let window: WindowUsed | undefined;
  const header = params.windows[0];
  // The common case (a header window on integer pixels) in one pass through a table; the modality
  // values are only made as an array for the other cases.
  // With 8 or 16-bit words, the table is indexed by the word itself (no array of stored values).
  const fast = header
    ? decoded.words
      ? applyWindowToWords(decoded.words, params.modality, header)
      : applyWindowToStored(decoded.pixels, params.modality, header)
    : undefined;
  if (fast && header) {
    pixels = fast;
    window = windowUsed(header, 'header');
  } else {
    const values = applyModalityLut(decoded.pixels, params.modality);
    ({ pixels, window } = voi(values, decoded.pixels, params, header));
  }
  const inverse = getString(file.dataset, T.PresentationLUTShape)?.toUpperCase() === 'INVERSE';
  if ((decoded.photometric === 'MONOCHROME1') !== inverse) invert8(pixels);
  return { ...base, channels: 1, pixels, ...(window ? { window } : {}) };
}

/** The VOI step on modality values, when the one-table path above does not apply. */
function voi(
  values: ArrayLike<number>,
  stored: ArrayLike<number>,
  params: ReturnType<typeof readGreyscaleParameters>,
  header: WindowLevel | undefined,
): { pixels: Uint8Array; window?: WindowUsed } {
  let pixels: Uint8Array;
  let window: WindowUsed | undefined;
  if (header) {
    pixels = applyWindow(values, header);
    window = windowUsed(header, 'header');
  } else if (params.voiLut) {
    pixels = applyVoiLut(values, params.voiLut);
    const n = params.voiLut.data.length;
    window = { center: params.voiLut.firstMapped + n / 2, width: n, source: 'voi-lut', function: 'LINEAR' };
  } else {
    const fromData = windowFromData(values, stored, params.padding);
    if (fromData) {
      pixels = applyWindow(values, fromData);
      window = windowUsed(fromData, 'data');
    } else {
      pixels = new Uint8Array(values.length); // nothing but padding: black
    }
  }
  return { pixels, ...(window ? { window } : {}) };
}

const windowUsed = (w: WindowLevel, source: WindowUsed['source']): WindowUsed => ({
  center: w.center,
  width: w.width,
  source,
  function: w.function,
});

/** Target size within `max` on the long side, physical aspect ratio kept; never enlarged beyond the
 * aspect correction itself. */
export function fitSize(
  frame: Pick<DisplayFrame, 'rows' | 'columns' | 'pixelAspect'>,
  max: number,
): {
  width: number;
  height: number;
} {
  const w = frame.columns;
  const h = frame.rows * frame.pixelAspect;
  const scale = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

function image(frame: DisplayFrame): Sharp {
  const sharp = loadSharp();
  return sharp(frame.pixels, { raw: { width: frame.columns, height: frame.rows, channels: frame.channels } });
}

/**
 * How the PNGs are compressed (decision 018, part 3): every row with PNG's Sub filter (each byte
 * minus the one to its left), deflated with zlib's run-length strategy (matches at distance 1 only)
 * at level 3. On the real corpus (docs/performance.md) this is 8 % smaller than sharp's PNG at level
 * 3 without filtering, which the worker used before, and takes half its CPU time; on the bench's
 * synthetic CT slices 3 % larger.
 */
export const PNG_DEFLATE = { level: 3, strategy: zlibConstants.Z_RLE } as const;

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Writes a chunk (length, type, data, CRC of type and data) into `png` at `at`; returns its end. */
function writeChunk(png: Buffer, at: number, type: string, data: Uint8Array): number {
  png.writeUInt32BE(data.length, at);
  png.write(type, at + 4, 'latin1');
  png.set(data, at + 8);
  png.writeUInt32BE(crc32(png.subarray(at + 4, at + 8 + data.length)), at + 8 + data.length);
  return at + 12 + data.length;
}

/**
 * The filtered rows of the image being encoded, kept from one PNG to the next in this thread (they
 * are deflated before encodePngPixels returns): a megabyte less to allocate, and for V8 to count
 * towards its next collection, per 1024 px preview. Up to 4 MiB are kept.
 */
let rowsScratch: Buffer | undefined;
const ROWS_SCRATCH_MAX = 4 * 1024 * 1024;

/**
 * An 8-bit grey (1 channel) or RGB (3 channels) PNG of row-major pixels, with no chunk but IHDR, IDAT
 * and IEND (no metadata). Written here rather than by sharp: for an image that needs no resizing,
 * handing it to libvips (a copy in, a pipeline, a copy out) cost more than the compression itself.
 */
export function encodePngPixels(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  const stride = width * channels;
  if (pixels.length !== stride * height) throw new RangeError('pixel count does not match the PNG size');
  // Each row: its filter type, 1 (Sub), then each byte minus the byte of the same channel to its left
  // (modulo 256: a Uint8Array store wraps).
  const size = (stride + 1) * height;
  let rows: Buffer;
  if (size > ROWS_SCRATCH_MAX) rows = Buffer.allocUnsafe(size);
  else {
    if (!rowsScratch || rowsScratch.length < size) rowsScratch = Buffer.allocUnsafe(Math.max(size, 1 << 16));
    rows = rowsScratch.subarray(0, size);
  }
  const swar = channels === 1 && HOST_LITTLE_ENDIAN && stride % 4 === 0 && pixels.byteOffset % 4 === 0;
  const words = swar ? new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length / 4) : undefined;
  const scratch = words ? new Uint32Array(stride / 4) : undefined;
  const scratchBytes = scratch ? new Uint8Array(scratch.buffer) : undefined;
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1) + 1;
    rows[o - 1] = 1;
    if (words && scratch && scratchBytes) {
      subFilterWords(words, (y * stride) / 4, scratch);
      rows.set(scratchBytes, o);
      continue;
    }
    const r = y * stride;
    for (let x = 0; x < channels; x++) rows[o + x] = pixels[r + x]!;
    for (let x = channels; x < stride; x++) rows[o + x] = pixels[r + x]! - pixels[r + x - channels]!;
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = channels === 1 ? 0 : 2; // colour type: grey, or RGB
  // compression, filter method and interlace: 0
  const idat = deflateSync(rows, PNG_DEFLATE);
  // A buffer of its own, never a slice of Node's shared pool (where small allocUnsafe buffers go): the
  // render thread moves it to the main thread, and two PNGs must never share one ArrayBuffer there
  // (render-pool.ts takes a model input on the thumbnail's buffer for the thumbnail itself).
  const png = Buffer.allocUnsafeSlow(PNG_SIGNATURE.length + 25 + 12 + idat.length + 12);
  png.set(PNG_SIGNATURE, 0);
  let at = writeChunk(png, PNG_SIGNATURE.length, 'IHDR', header);
  at = writeChunk(png, at, 'IDAT', idat);
  writeChunk(png, at, 'IEND', new Uint8Array(0));
  return png;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * PNG's Sub filter on one row of grey bytes, four at a time (the row's bytes read as little-endian
 * 32-bit words, `out.length` of them from `first`): each byte minus its left neighbour, modulo 256,
 * with no borrow between the bytes of a word (Hacker's Delight 2-18: x - y = ((x | H) - (y & ~H)) ^
 * ((x ^ ~y) & H), H = 0x80808080). Three times faster than byte by byte; the same bytes (tests).
 */
function subFilterWords(words: Uint32Array, first: number, out: Uint32Array): void {
  let previous = 0;
  for (let k = 0; k < out.length; k++) {
    const x = words[first + k]!;
    // The left neighbours of the word's four bytes: its bytes moved up one, the last byte of the
    // previous word first (0 at the start of the row, as the filter asks).
    const y = (x << 8) | (previous >>> 24);
    previous = x;
    out[k] = ((x | 0x80808080) - (y & 0x7f7f7f7f)) ^ ((x ^ ~y) & 0x80808080);
  }
}

/** 8-bit pixels of the size asked, one channel for grey and `grey` output, three for colour. */
interface Pixels {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
}

/**
 * `frame` resized by libvips (sharp's default Lanczos 3 kernel), as raw 8-bit samples, to `grey` or
 * to the frame's own colour space; the frame's own pixels when neither applies.
 */
async function resized(frame: DisplayFrame, width: number, height: number, grey: boolean): Promise<Pixels> {
  const toGrey = grey && frame.channels === 3;
  if (width === frame.columns && height === frame.rows && !toGrey)
    return { pixels: frame.pixels, width, height, channels: frame.channels };
  let pipeline = image(frame);
  if (width !== frame.columns || height !== frame.rows)
    pipeline = pipeline.resize(width, height, { fit: 'fill' });
  pipeline = grey || frame.channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const channels = info.channels === 1 || info.channels === 3 ? info.channels : undefined;
  if (
    !channels ||
    info.width !== width ||
    info.height !== height ||
    data.length !== width * height * channels
  )
    throw new RangeError('resizing gave an image of another shape');
  return { pixels: toBytes(data), width, height, channels };
}

const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** Preview or thumbnail pixels: within `max` on the long side, aspect corrected; grey stays grey. */
function fitted(frame: DisplayFrame, max: number): Promise<Pixels> {
  const { width, height } = fitSize(frame, max);
  return resized(frame, width, height, false);
}

const png = (p: Pixels): Buffer => encodePngPixels(p.pixels, p.width, p.height, p.channels);

/** Preview or thumbnail PNG: grey stays one channel, colour is RGB; no metadata. */
export async function encodePng(frame: DisplayFrame, max: number): Promise<Buffer> {
  return png(await fitted(frame, max));
}

/** Where the image sits in the model input's square: its size and the black border above and left. */
function modelInputPlacement(frame: Pick<DisplayFrame, 'rows' | 'columns' | 'pixelAspect'>): {
  width: number;
  height: number;
  left: number;
  top: number;
} {
  const size = MODEL_INPUT_SIZE;
  const w = frame.columns;
  const h = frame.rows * frame.pixelAspect;
  const scale = size / Math.max(w, h);
  const width = Math.min(size, Math.max(1, Math.round(w * scale)));
  const height = Math.min(size, Math.max(1, Math.round(h * scale)));
  return { width, height, left: Math.floor((size - width) / 2), top: Math.floor((size - height) / 2) };
}

/** Grey pixels of the image's size placed on the black model-input square. */
function onModelSquare(p: Pixels, left: number, top: number): Buffer {
  const size = MODEL_INPUT_SIZE;
  const square = new Uint8Array(size * size);
  for (let y = 0; y < p.height; y++)
    square.set(p.pixels.subarray(y * p.width, (y + 1) * p.width), (top + y) * size + left);
  return encodePngPixels(square, size, size, 1);
}

/** Model input PNG: grey, MODEL_INPUT_SIZE square, the image fitted inside (aspect kept) on black. */
export async function encodeModelInput(frame: DisplayFrame): Promise<Buffer> {
  const { width, height, left, top } = modelInputPlacement(frame);
  // Resized (and made grey) by libvips, then placed on black here: the same pixels as one sharp
  // pipeline of resize, extend and grey (render.test.ts), without a second copy through libvips.
  return onModelSquare(await resized(frame, width, height, true), left, top);
}

/**
 * A box the model gave in model-input coordinates (normalised to the MODEL_INPUT_SIZE square) mapped
 * onto an image of `width` x `height` with the same aspect ratio (the preview, the thumbnail): the
 * inverse of encodeModelInput's fit-inside-on-black. Pixels, clamped to the image.
 */
export function modelBoxToImage(
  box: FindingBox,
  width: number,
  height: number,
): { left: number; top: number; width: number; height: number } {
  const size = MODEL_INPUT_SIZE;
  const scale = size / Math.max(width, height);
  const cw = Math.min(size, Math.max(1, Math.round(width * scale)));
  const ch = Math.min(size, Math.max(1, Math.round(height * scale)));
  const left = Math.floor((size - cw) / 2);
  const top = Math.floor((size - ch) / 2);
  const x0 = clamp(((box.x * size - left) / cw) * width, 0, width);
  const y0 = clamp(((box.y * size - top) / ch) * height, 0, height);
  const x1 = clamp((((box.x + box.width) * size - left) / cw) * width, 0, width);
  const y1 = clamp((((box.y + box.height) * size - top) / ch) * height, 0, height);
  return {
    left: Math.round(x0),
    top: Math.round(y0),
    width: Math.round(x1 - x0),
    height: Math.round(y1 - y0),
  };
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * Whether the model input is the thumbnail itself: a grey frame larger than both whose thumbnail
 * fills the model's square (a square image, CT and MR mostly), so the model input's pipeline would
 * be the thumbnail's with an empty border. One PNG fewer per file (decision 018); the bytes are the
 * same (render.test.ts).
 */
export function modelInputIsThumbnail(frame: DisplayFrame): boolean {
  if (frame.channels !== 1 || THUMBNAIL_MAX_SIZE !== MODEL_INPUT_SIZE) return false;
  const { width, height } = fitSize(frame, THUMBNAIL_MAX_SIZE);
  return (
    width === MODEL_INPUT_SIZE &&
    height === MODEL_INPUT_SIZE &&
    (frame.columns !== width || frame.rows !== height)
  );
}

/** Renders one frame (the representative one by default) to preview, thumbnail and model input. */
export async function renderImage(file: DicomFile, options: RenderOptions = {}): Promise<RenderedImage> {
  const frame = await renderDisplayFrame(file, options);
  try {
    // The thumbnail's resizing runs on libuv's pool while this thread compresses the preview.
    const [thumb, preview] = await Promise.all([
      fitted(frame, THUMBNAIL_MAX_SIZE),
      fitted(frame, PREVIEW_MAX_SIZE).then(png),
    ]);
    const thumbnail = png(thumb);
    return {
      preview,
      thumbnail,
      modelInput: await modelInputFrom(frame, thumb, thumbnail),
      frameIndex: frame.frameIndex,
      frameCount: frame.frameCount,
      rows: frame.rows,
      columns: frame.columns,
      photometric: frame.photometric,
      ...(frame.window
        ? { window: { center: frame.window.center, width: frame.window.width, source: frame.window.source } }
        : {}),
    };
  } catch (e) {
    throw new ImagingError('PIXEL_DECODE_FAILED', 'the image could not be encoded as PNG', { cause: e });
  }
}

/**
 * The model input, from the thumbnail when a grey frame's thumbnail has the size the image takes in
 * the model's square (its long side is at least MODEL_INPUT_SIZE): the thumbnail PNG itself when it
 * fills the square, else its pixels placed on black. Otherwise (colour, or a small image the model
 * input enlarges) its own resizing. The same bytes either way (render.test.ts).
 */
async function modelInputFrom(frame: DisplayFrame, thumb: Pixels, thumbnail: Buffer): Promise<Buffer> {
  if (modelInputIsThumbnail(frame)) return thumbnail;
  const { width, height, left, top } = modelInputPlacement(frame);
  if (thumb.channels === 1 && thumb.width === width && thumb.height === height)
    return onModelSquare(thumb, left, top);
  return encodeModelInput(frame);
}

/** Model inputs for the given frames, in the order asked. Throws ImagingError only. */
export async function renderModelInputs(file: DicomFile, frames: readonly number[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const frame of frames) {
    const display = await renderDisplayFrame(file, { frame });
    try {
      out.push(await encodeModelInput(display));
    } catch (e) {
      throw new ImagingError('PIXEL_DECODE_FAILED', 'the model input could not be encoded', { cause: e });
    }
  }
  return out;
}

export type { ImagingErrorCode } from './errors.ts';
export { ImagingError } from './errors.ts';
