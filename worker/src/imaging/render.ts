/**
 * Normalisation (DESIGN D4): a frame decoded, through the modality and VOI transforms to 8 bits, then
 * written with sharp as a preview PNG, a thumbnail and the model input of common/src/inference.ts.
 */
import { type FindingBox, MODEL_INPUT_SIZE } from '@medimg/common';
import { type DicomFile, getString, T } from '@medimg/dicom';
import sharp, { type PngOptions, type Sharp } from 'sharp';
import { describePixels, pixelAspect, readGreyscaleParameters } from './attributes.ts';
import { decodeFrame } from './decode.ts';
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
  try {
    return await displayFrame(file, options);
  } catch (e) {
    throw e instanceof ImagingError ? e : wrapDecodeError(e, 'rendering');
  }
}

async function displayFrame(file: DicomFile, options: RenderOptions): Promise<DisplayFrame> {
  const desc = describePixels(file);
  const frameIndex = options.frame ?? representativeFrame(desc.frameCount);
  const decoded = await decodeFrame(file, frameIndex);
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
  return sharp(frame.pixels, { raw: { width: frame.columns, height: frame.rows, channels: frame.channels } });
}

/**
 * zlib level 3 without adaptive filtering: with sharp's zlib-ng, as small as level 6 on CT slices
 * (68.9 against 68.8 KiB for a 512x512 preview) and about a third faster (decision 018).
 */
export const PNG_OPTIONS: PngOptions = { compressionLevel: 3, adaptiveFiltering: false };

/** Preview or thumbnail PNG: grey stays one channel ('b-w'), colour is RGB; no metadata. */
export async function encodePng(frame: DisplayFrame, max: number): Promise<Buffer> {
  const { width, height } = fitSize(frame, max);
  let pipeline = image(frame);
  if (width !== frame.columns || height !== frame.rows)
    pipeline = pipeline.resize(width, height, { fit: 'fill' });
  pipeline = frame.channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  return pipeline.png(PNG_OPTIONS).toBuffer();
}

/** Model input PNG: grey, MODEL_INPUT_SIZE square, the image fitted inside (aspect kept) on black. */
export async function encodeModelInput(frame: DisplayFrame): Promise<Buffer> {
  const size = MODEL_INPUT_SIZE;
  const w = frame.columns;
  const h = frame.rows * frame.pixelAspect;
  const scale = size / Math.max(w, h);
  const width = Math.min(size, Math.max(1, Math.round(w * scale)));
  const height = Math.min(size, Math.max(1, Math.round(h * scale)));
  const left = Math.floor((size - width) / 2);
  const top = Math.floor((size - height) / 2);
  // One pipeline (resize, then extend, then grey): no intermediate raw buffer and second sharp
  // instance; libvips applies extend after resize.
  return image(frame)
    .resize(width, height, { fit: 'fill' })
    .extend({
      top,
      bottom: size - height - top,
      left,
      right: size - width - left,
      background: { r: 0, g: 0, b: 0 },
    })
    .toColourspace('b-w')
    .png(PNG_OPTIONS)
    .toBuffer();
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
    const sameAsThumbnail = modelInputIsThumbnail(frame);
    const [preview, thumbnail, modelInput] = await Promise.all([
      encodePng(frame, PREVIEW_MAX_SIZE),
      encodePng(frame, THUMBNAIL_MAX_SIZE),
      sameAsThumbnail ? undefined : encodeModelInput(frame),
    ]);
    return {
      preview,
      thumbnail,
      modelInput: modelInput ?? thumbnail,
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
