import { type FindingBox, MODEL_INPUT_SIZE } from '@medimg/common';
import sharp from 'sharp';

/**
 * The model's box, given in normalised model-input coordinates (the image fitted, aspect kept, in a
 * MODEL_INPUT_SIZE square on black), mapped onto the preview (the same image at its own size): the inverse
 * of the letterboxing in imaging/render.ts `encodeModelInput`. Pixels of the preview, clamped to it.
 */
export function boxOnPreview(
  box: FindingBox,
  preview: { readonly width: number; readonly height: number },
): { left: number; top: number; width: number; height: number } {
  const size = MODEL_INPUT_SIZE;
  const scale = size / Math.max(preview.width, preview.height);
  const fitW = Math.min(size, Math.max(1, Math.round(preview.width * scale)));
  const fitH = Math.min(size, Math.max(1, Math.round(preview.height * scale)));
  const offX = Math.floor((size - fitW) / 2);
  const offY = Math.floor((size - fitH) / 2);
  const toX = (u: number) => Math.min(preview.width, Math.max(0, ((u * size - offX) * preview.width) / fitW));
  const toY = (v: number) =>
    Math.min(preview.height, Math.max(0, ((v * size - offY) * preview.height) / fitH));
  const left = Math.floor(toX(box.x));
  const top = Math.floor(toY(box.y));
  const right = Math.ceil(toX(box.x + box.width));
  const bottom = Math.ceil(toY(box.y + box.height));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

/** The preview PNG in colour with the box drawn in yellow (a 2 % line, at least 2 px): what the email links to. */
export async function drawFindingBox(previewPng: Uint8Array, box: FindingBox): Promise<Buffer> {
  const image = sharp(previewPng);
  const { width = 1, height = 1 } = await image.metadata();
  const r = boxOnPreview(box, { width, height });
  const line = Math.max(2, Math.round(Math.max(width, height) / 50));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect x="${r.left + line / 2}" y="${r.top + line / 2}" width="${Math.max(1, r.width - line)}" height="${Math.max(1, r.height - line)}" fill="none" stroke="#ffd400" stroke-width="${line}"/></svg>`;
  return image
    .toColourspace('srgb')
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png({ compressionLevel: 6 })
    .toBuffer();
}
