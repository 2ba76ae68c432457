import { MODEL_INPUT_SIZE } from '@medimg/common';
import { T } from '@medimg/dicom';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImagingError } from './errors.ts';
import {
  type DisplayFrame,
  encodeModelInput,
  encodePngPixels,
  fitSize,
  modelInputIsThumbnail,
  PREVIEW_MAX_SIZE,
  renderDisplayFrame,
  renderImage,
  renderModelInputs,
  representativeFrame,
  THUMBNAIL_MAX_SIZE,
} from './render.ts';
import { ds, imageFile, numberElement, pack, sequenceElement, stringElement } from './testing.ts';

/** PNG chunk types in order, and the IHDR fields. */
function pngInfo(png: Buffer): {
  chunks: string[];
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
} {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const chunks: string[] = [];
  let o = 8;
  while (o < png.length) {
    const length = png.readUInt32BE(o);
    chunks.push(png.toString('latin1', o + 4, o + 8));
    o += 12 + length;
  }
  return {
    chunks,
    width: png.readUInt32BE(16),
    height: png.readUInt32BE(20),
    bitDepth: png[24]!,
    colourType: png[25]!,
  };
}

const ramp = (n: number, max: number) => Array.from({ length: n }, (_, i) => Math.round((i * max) / (n - 1)));

describe('display frame (full size, 8-bit)', () => {
  it('applies rescale and the header window', async () => {
    // Stored 0..2 rescaled by slope 100, intercept -100: -100, 0, 100. Window 0 +/- 100.
    const file = imageFile({
      rows: 1,
      columns: 3,
      bitsAllocated: 16,
      pixels: pack([0, 1, 2], 'u16'),
      extra: [
        stringElement(T.RescaleSlope, 'DS', '100'),
        stringElement(T.RescaleIntercept, 'DS', '-100'),
        stringElement(T.WindowCenter, 'DS', ['0', '999']),
        stringElement(T.WindowWidth, 'DS', ['201', '1']),
        stringElement(T.VOILUTFunction, 'CS', 'LINEAR_EXACT'),
      ],
    });
    const frame = await renderDisplayFrame(file);
    expect(frame.window).toEqual({ center: 0, width: 201, source: 'header', function: 'LINEAR_EXACT' });
    expect(Array.from(frame.pixels)).toEqual([1, 128, 254]);
  });

  it('inverts MONOCHROME1 after the VOI transform', async () => {
    const file = imageFile({
      rows: 1,
      columns: 3,
      photometric: 'MONOCHROME1',
      pixels: Uint8Array.from([0, 100, 200, 0]),
    });
    const frame = await renderDisplayFrame(file);
    expect(frame.window?.source).toBe('data');
    expect(Array.from(frame.pixels)).toEqual([255, 127, 0]); // 100 windows to 127.5 -> 128, inverted 127
  });

  it('ignores the Pixel Padding Value when deriving a window from the data', async () => {
    // CT-like: padding -2000 outside the field of view, tissue between 0 and 100.
    const file = imageFile({
      rows: 1,
      columns: 4,
      bitsAllocated: 16,
      signed: true,
      pixels: pack([-2000, 0, 50, 100], 'i16'),
      extra: [numberElement(T.PixelPaddingValue, 'SS', [-2000], 'little')],
    });
    const frame = await renderDisplayFrame(file);
    expect(frame.window).toMatchObject({ source: 'data', center: 50.5, width: 101 });
    expect(Array.from(frame.pixels)).toEqual([0, 0, 128, 255]);
  });

  it('uses the first item of the VOI LUT Sequence when there is no window', async () => {
    const lut = ds(numberElement(T.LUTDescriptor, 'US', [3, 0, 8], 'little'), {
      tag: T.LUTData,
      vr: 'OW',
      value: pack([0, 100, 255], 'u16'),
    });
    const file = imageFile({
      rows: 1,
      columns: 3,
      pixels: Uint8Array.from([0, 1, 2, 0]),
      extra: [sequenceElement(T.VOILUTSequence, [lut])],
    });
    const frame = await renderDisplayFrame(file);
    expect(frame.window?.source).toBe('voi-lut');
    expect(Array.from(frame.pixels)).toEqual([0, 100, 255]);
  });

  it('applies a Modality LUT Sequence', async () => {
    const lut = ds(numberElement(T.LUTDescriptor, 'US', [2, 0, 16], 'little'), {
      tag: T.LUTData,
      vr: 'OW',
      value: pack([1000, 3000], 'u16'),
    });
    const file = imageFile({
      rows: 1,
      columns: 2,
      pixels: Uint8Array.from([0, 1]),
      extra: [
        sequenceElement(T.ModalityLUTSequence, [lut]),
        stringElement(T.WindowCenter, 'DS', '2000'),
        stringElement(T.WindowWidth, 'DS', '2001'),
      ],
    });
    expect(Array.from((await renderDisplayFrame(file)).pixels)).toEqual([0, 255]);
  });

  it('picks the middle frame of a multi-frame object by default', async () => {
    expect([1, 2, 3, 4, 5].map(representativeFrame)).toEqual([0, 0, 1, 1, 2]);
    const file = imageFile({ rows: 1, columns: 2, frames: 3, pixels: Uint8Array.from([1, 1, 2, 3, 9, 9]) });
    const frame = await renderDisplayFrame(file);
    expect(frame.frameIndex).toBe(1);
    expect(Array.from(frame.pixels)).toEqual([0, 255]);
  });
});

describe('renderImage', () => {
  const ct = (rows: number, columns: number, extra = [] as ReturnType<typeof stringElement>[]) =>
    imageFile({
      rows,
      columns,
      bitsAllocated: 16,
      pixels: pack(ramp(rows * columns, 4000), 'u16'),
      extra,
    });

  it('writes an 8-bit grey preview PNG with no metadata chunks', async () => {
    const out = await renderImage(ct(20, 30));
    const info = pngInfo(out.preview);
    expect(info).toMatchObject({ width: 30, height: 20, bitDepth: 8, colourType: 0 });
    // Only image chunks (pHYs is the pixel density): no tEXt/iTXt/zTXt, eXIf or iCCP.
    expect(info.chunks.filter((c) => !['IHDR', 'pHYs', 'IDAT', 'IEND'].includes(c))).toEqual([]);
  });

  it('limits the preview to 1024 and the thumbnail to 128 px on the long side', async () => {
    const out = await renderImage(ct(300, 2048));
    expect(pngInfo(out.preview)).toMatchObject({ width: 1024, height: 150 });
    expect(pngInfo(out.thumbnail)).toMatchObject({ width: 128, height: 19 });
  });

  it('corrects the aspect ratio from Pixel Spacing (row spacing \\ column spacing)', async () => {
    const out = await renderImage(ct(10, 20, [stringElement(T.PixelSpacing, 'DS', ['2', '1'])]));
    expect(pngInfo(out.preview)).toMatchObject({ width: 20, height: 20 });
  });

  it('writes the model input per the inference contract: grey, square, contain on black', async () => {
    const white = imageFile({
      rows: 10,
      columns: 40,
      pixels: new Uint8Array(400).fill(200),
      extra: [stringElement(T.WindowCenter, 'DS', '100'), stringElement(T.WindowWidth, 'DS', '50')],
    });
    const out = await renderImage(white);
    expect(pngInfo(out.modelInput)).toMatchObject({
      width: MODEL_INPUT_SIZE,
      height: MODEL_INPUT_SIZE,
      bitDepth: 8,
      colourType: 0,
    });
    const { data, info } = await sharp(out.modelInput)
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(1);
    // A 4:1 image fitted in 128x128 is 128x32, centred: rows 48..79 white, the rest black.
    expect(data[0]).toBe(0);
    expect(data[64 * MODEL_INPUT_SIZE + 64]).toBe(255);
    expect(data[40 * MODEL_INPUT_SIZE + 64]).toBe(0);
  });

  it('gives a square grey image the thumbnail as model input: the same bytes its own pipeline makes', async () => {
    const square = ct(300, 300);
    const frame = await renderDisplayFrame(square);
    expect(modelInputIsThumbnail(frame)).toBe(true);

    const out = await renderImage(square);

    expect(out.modelInput).toBe(out.thumbnail);
    expect(Buffer.compare(out.modelInput, await encodeModelInput(frame))).toBe(0);
  });

  it('encodes the model input on its own when it is not the thumbnail', async () => {
    for (const file of [ct(300, 200), ct(100, 100)]) {
      const frame = await renderDisplayFrame(file);
      expect(modelInputIsThumbnail(frame)).toBe(false);

      const out = await renderImage(file);

      expect(Buffer.compare(out.modelInput, await encodeModelInput(frame))).toBe(0);
      expect(pngInfo(out.modelInput)).toMatchObject({ width: MODEL_INPUT_SIZE, height: MODEL_INPUT_SIZE });
    }
  });

  it('writes colour previews as RGB and colour model inputs as grey', async () => {
    const rgb = imageFile({ rows: 2, columns: 2, samplesPerPixel: 3, pixels: new Uint8Array(12).fill(90) });
    const out = await renderImage(rgb);
    expect(pngInfo(out.preview)).toMatchObject({ colourType: 2, bitDepth: 8 });
    expect(pngInfo(out.modelInput)).toMatchObject({ colourType: 0, width: MODEL_INPUT_SIZE });
    expect(out.window).toBeUndefined();
  });

  it('reports frame, size, photometric and window', async () => {
    const out = await renderImage(
      ct(4, 4, [stringElement(T.WindowCenter, 'DS', '40'), stringElement(T.WindowWidth, 'DS', '400')]),
    );
    expect(out).toMatchObject({
      frameIndex: 0,
      frameCount: 1,
      rows: 4,
      columns: 4,
      photometric: 'MONOCHROME2',
      window: { center: 40, width: 400, source: 'header' },
    });
  });

  it('renders model inputs for the frames asked, in order', async () => {
    const file = imageFile({ rows: 2, columns: 2, frames: 3, pixels: Uint8Array.from(ramp(12, 255)) });
    const inputs = await renderModelInputs(file, [2, 0]);
    expect(inputs).toHaveLength(2);
    for (const png of inputs) expect(pngInfo(png)).toMatchObject({ width: MODEL_INPUT_SIZE, colourType: 0 });
  });

  it('throws ImagingError for a frame that does not exist', async () => {
    const file = imageFile({ rows: 2, columns: 2, pixels: new Uint8Array(4) });
    await expect(renderImage(file, { frame: 5 })).rejects.toBeInstanceOf(ImagingError);
    await expect(renderModelInputs(file, [0, 1])).rejects.toMatchObject({ code: 'NO_PIXEL_DATA' });
  });
});

/** The raw 8-bit samples of a PNG as sharp decodes it, with its shape. */
async function decoded(png: Buffer): Promise<{ shape: string; data: Buffer }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { shape: `${info.width}x${info.height}x${info.channels}`, data };
}

/**
 * What the worker did before it wrote its PNGs itself (decision 018, part 3): each image one sharp
 * pipeline to PNG. The pixels must not change (the model input above all: the model was trained on
 * it), only the compression.
 */
const sharpOf = (f: DisplayFrame) =>
  sharp(f.pixels, { raw: { width: f.columns, height: f.rows, channels: f.channels } });
function sharpPng(frame: DisplayFrame, max: number): Promise<Buffer> {
  const { width, height } = fitSize(frame, max);
  let p = sharpOf(frame);
  if (width !== frame.columns || height !== frame.rows) p = p.resize(width, height, { fit: 'fill' });
  return (frame.channels === 1 ? p.toColourspace('b-w') : p.toColourspace('srgb')).png().toBuffer();
}
function sharpModelInput(frame: DisplayFrame): Promise<Buffer> {
  const size = MODEL_INPUT_SIZE;
  const h = frame.rows * frame.pixelAspect;
  const scale = size / Math.max(frame.columns, h);
  const width = Math.min(size, Math.max(1, Math.round(frame.columns * scale)));
  const height = Math.min(size, Math.max(1, Math.round(h * scale)));
  const left = Math.floor((size - width) / 2);
  const top = Math.floor((size - height) / 2);
  return sharpOf(frame)
    .resize(width, height, { fit: 'fill' })
    .extend({ top, bottom: size - height - top, left, right: size - width - left, background: '#000' })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

describe('PNG encoding (render.ts writes the PNGs, libvips resizes)', () => {
  const grey = (rows: number, columns: number, extra = [] as ReturnType<typeof stringElement>[]) =>
    imageFile({
      rows,
      columns,
      bitsAllocated: 16,
      // Not a ramp only: noise, so that the resizing kernel's rounding shows.
      pixels: pack(
        Array.from({ length: rows * columns }, (_, i) => (i * 2654435761) % 4001),
        'u16',
      ),
      extra,
    });
  const colour = (rows: number, columns: number) =>
    imageFile({
      rows,
      columns,
      samplesPerPixel: 3,
      pixels: Uint8Array.from({ length: rows * columns * 3 }, (_, i) => (i * 2654435761) % 251),
    });

  it("gives the preview, thumbnail and model input the pixels of sharp's own pipelines", async () => {
    const files = [
      grey(300, 300), // model input = thumbnail
      grey(512, 384), // model input = thumbnail on black
      grey(200, 2048), // preview resized too
      grey(100, 100), // model input enlarged
      grey(128, 128), // nothing resized
      grey(10, 20, [stringElement(T.PixelSpacing, 'DS', ['2', '1'])]), // aspect corrected
      colour(300, 200),
      colour(40, 30),
    ];
    for (const file of files) {
      const frame = await renderDisplayFrame(file);
      const out = await renderImage(file);
      const cases: [string, Buffer, Buffer][] = [
        ['preview', out.preview, await sharpPng(frame, PREVIEW_MAX_SIZE)],
        ['thumbnail', out.thumbnail, await sharpPng(frame, THUMBNAIL_MAX_SIZE)],
        ['model input', out.modelInput, await sharpModelInput(frame)],
        ['model input alone', await encodeModelInput(frame), await sharpModelInput(frame)],
      ];
      for (const [name, ours, theirs] of cases) {
        const [a, b] = [await decoded(ours), await decoded(theirs)];
        const label = `${name} of ${frame.columns}x${frame.rows}x${frame.channels}`;
        expect(a.shape, label).toBe(b.shape);
        expect(Buffer.compare(a.data, b.data), label).toBe(0);
      }
    }
  });

  it('writes grey and RGB PNGs that decode to the pixels given, with IHDR, IDAT and IEND only', async () => {
    // Widths with and without whole 32-bit words per row, pixels at aligned and unaligned offsets
    // (grey rows of whole words are filtered four bytes at a time), values that wrap below 0.
    const shapes = [
      [1, 7, 5, 0],
      [1, 8, 3, 0],
      [1, 64, 9, 4],
      [1, 64, 9, 1],
      [3, 7, 5, 0],
      [3, 8, 4, 0],
    ] as const;
    for (const [channels, width, height, offset] of shapes) {
      const bytes = Uint8Array.from(
        { length: offset + width * height * channels },
        (_, i) => (i * 2654435761) % 256,
      );
      const pixels = bytes.subarray(offset);
      const png = encodePngPixels(pixels, width, height, channels);
      expect(pngInfo(png)).toMatchObject({
        chunks: ['IHDR', 'IDAT', 'IEND'],
        width,
        height,
        bitDepth: 8,
        colourType: channels === 1 ? 0 : 2,
      });
      const { data, info } = await sharp(png)
        .toColourspace(channels === 1 ? 'b-w' : 'srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect(info.channels).toBe(channels);
      expect(Buffer.compare(data, Buffer.from(pixels)), `${width}x${height}x${channels}+${offset}`).toBe(0);
    }
    expect(() => encodePngPixels(new Uint8Array(5), 2, 2, 1)).toThrow(RangeError);
  });

  it('gives each PNG an ArrayBuffer of its own, even a small one (the render thread moves them)', async () => {
    // Small PNGs (a few hundred bytes) from Buffer.allocUnsafe would be slices of Node's shared pool:
    // the thumbnail and the model input would then share one ArrayBuffer, which render-pool.ts takes
    // for a model input that is the thumbnail itself.
    const out = await renderImage(grey(10, 30));
    expect(out.modelInput).not.toBe(out.thumbnail);
    for (const png of [out.preview, out.thumbnail, out.modelInput]) {
      expect(png.byteOffset).toBe(0);
      expect(png.byteLength).toBe(png.buffer.byteLength);
    }
    expect(out.modelInput.buffer).not.toBe(out.thumbnail.buffer);
  });
});
