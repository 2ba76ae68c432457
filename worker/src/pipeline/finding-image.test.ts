import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { boxOnPreview, drawFindingBox } from './finding-image.ts';
import { boxRegion } from './notification.ts';

describe('the finding image: the model box drawn on the de-identified preview', () => {
  it('maps a box from the letterboxed model input back onto a wide preview', () => {
    // A 512 x 256 preview fills the 128 px model input as 128 x 64, 32 px of black above and below.
    const box = { x: 0.5, y: 0.25, width: 0.25, height: 0.25 }; // model px x 64-96, y 32-64
    expect(boxOnPreview(box, { width: 512, height: 256 })).toEqual({
      left: 256,
      top: 0,
      width: 128,
      height: 128,
    });
  });

  it('clamps a box that reaches into the black padding to the preview', () => {
    const box = { x: 0, y: 0, width: 0.125, height: 0.125 };
    expect(boxOnPreview(box, { width: 512, height: 256 })).toEqual({ left: 0, top: 0, width: 64, height: 1 });
  });

  it('draws a yellow frame on the box edges and leaves the inside and the rest of the image alone', async () => {
    const grey = await sharp({
      create: { width: 256, height: 256, channels: 3, background: { r: 90, g: 90, b: 90 } },
    })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const out = await drawFindingBox(grey, { x: 0.25, y: 0.25, width: 0.25, height: 0.25 });
    const { data, info } = await sharp(out).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [
      ...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3),
    ];
    expect(info.width).toBe(256);
    expect(at(65, 96)).toEqual([255, 212, 0]); // left edge of the box (64..128)
    expect(at(96, 96)).toEqual([90, 90, 90]); // inside
    expect(at(10, 10)).toEqual([90, 90, 90]); // outside
  });

  it('says where the box is in words a reader checks on the image', () => {
    expect(boxRegion({ x: 0.25, y: 0.25, width: 0.125, height: 0.125 })).toBe('upper left');
    expect(boxRegion({ x: 0.45, y: 0.45, width: 0.1, height: 0.1 })).toBe('centre');
    expect(boxRegion({ x: 0.8, y: 0.5, width: 0.1, height: 0.1 })).toBe('middle right');
  });
});
