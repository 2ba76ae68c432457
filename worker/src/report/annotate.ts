import type { FindingBox } from '@medimg/common';
import { modelBoxToImage } from '../imaging/render.ts';
import { loadSharp } from '../imaging/sharp.ts';

/** Outline colour of a finding's box: visible on grey, and not a grey itself. */
export const BOX_COLOUR = { r: 255, g: 48, b: 48 } as const;
/** The colour's name, as the clinician's message and report say it. */
export const BOX_COLOUR_NAME = 'red';

/**
 * The preview with the finding's box drawn as a red outline (RGB PNG). The box comes in model-input
 * coordinates and is mapped onto the preview by the inverse of the model input's fit-inside rule.
 */
export async function drawFindingBox(preview: Uint8Array, box: FindingBox): Promise<Buffer> {
  const sharp = loadSharp();
  const image = sharp(preview);
  const { width = 0, height = 0 } = await image.metadata();
  const r = modelBoxToImage(box, width, height);
  const stroke = Math.max(2, Math.round(Math.max(width, height) / 256));
  // The outline sits just outside the box, so that it hides none of the pixels the model pointed at.
  const x = Math.max(0, r.left - stroke);
  const y = Math.max(0, r.top - stroke);
  const w = Math.min(width - x, r.width + 2 * stroke);
  const h = Math.min(height - y, r.height + 2 * stroke);
  const { r: red, g, b } = BOX_COLOUR;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect x="${x + stroke / 2}" y="${y + stroke / 2}" width="${Math.max(1, w - stroke)}" height="${Math.max(1, h - stroke)}" fill="none" stroke="rgb(${red},${g},${b})" stroke-width="${stroke}"/></svg>`;
  return image
    .toColourspace('srgb')
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .png({ compressionLevel: 6 })
    .toBuffer();
}
