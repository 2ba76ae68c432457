/**
 * The finding's box on the preview: the model gives it on its letterboxed 128x128 input, the
 * preview has the image's own size, and the outline must land around the same pixels.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { modelBoxToImage } from '../imaging/render.ts';
import { composeCriticalNotification } from '../pipeline/notification.ts';
import { BOX_COLOUR, BOX_COLOUR_NAME, drawFindingBox } from './annotate.ts';

const grey = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .toColourspace('b-w')
    .png()
    .toBuffer();

describe('modelBoxToImage', () => {
  it('maps a box on a square image by scale alone', () => {
    const r = modelBoxToImage({ x: 0.25, y: 0.5, width: 0.125, height: 0.25 }, 512, 512);
    expect(r).toEqual({ left: 128, top: 256, width: 64, height: 128 });
  });

  it('removes the black bands of a wide image before scaling', () => {
    // 256x128 sits in the model input as 128x64 with 32 black rows above and below.
    const r = modelBoxToImage({ x: 0, y: 32 / 128, width: 1, height: 64 / 128 }, 256, 128);
    expect(r).toEqual({ left: 0, top: 0, width: 256, height: 128 });
  });

  it('clamps a box that reaches into the bands to the image', () => {
    const r = modelBoxToImage({ x: 0.5, y: 0, width: 0.25, height: 0.5 }, 256, 128);
    expect(r.top).toBe(0);
    expect(r.height).toBe(64);
  });
});

describe('drawFindingBox', () => {
  it('draws a red outline around the box and leaves its inside untouched', async () => {
    const png = await drawFindingBox(await grey(256, 256), { x: 0.25, y: 0.25, width: 0.25, height: 0.25 });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    const at = (x: number, y: number) => [
      ...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3),
    ];
    // The box spans 64..128 on both axes; the 2-pixel outline sits just outside it.
    expect(at(63, 96)).toEqual([BOX_COLOUR.r, BOX_COLOUR.g, BOX_COLOUR.b]);
    expect(at(96, 128)).toEqual([BOX_COLOUR.r, BOX_COLOUR.g, BOX_COLOUR.b]);
    expect(at(96, 96)).toEqual([90, 90, 90]);
    expect(at(10, 10)).toEqual([90, 90, 90]);
  });
});

describe('the colour the clinician is told to look for', () => {
  /** The basic colour name a reader gives an RGB value: its dominant channels. */
  const nameOf = ({ r, g, b }: { r: number; g: number; b: number }) => {
    const hi = (v: number) => v >= 128 && v - Math.min(r, g, b) >= 100;
    if (hi(r) && hi(g) && !hi(b)) return 'yellow';
    if (hi(r) && !hi(g) && !hi(b)) return 'red';
    if (hi(g) && !hi(r) && !hi(b)) return 'green';
    if (hi(b) && !hi(r) && !hi(g)) return 'blue';
    return 'other';
  };

  it('is the colour the box is drawn in, and the email says it', () => {
    expect(nameOf(BOX_COLOUR)).toBe(BOX_COLOUR_NAME);
    const finding = {
      study: '2.25.1',
      series: '2.25.2',
      sop: '2.25.3',
      model: { name: 'ref', version: '1' },
      label: 'suspicious_lesion',
      score: 0.97,
      threshold: 0.84,
      position: 3,
      imagesInSeries: 10,
      box: { x: 0.1, y: 0.4, width: 0.1, height: 0.1 },
    };
    const m = composeCriticalNotification(finding as never, { jobId: 'job-1', detectedAt: new Date(0) });
    expect(m.message).toContain(`(${BOX_COLOUR_NAME} box on the linked image)`);
  });
});
