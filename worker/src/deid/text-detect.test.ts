import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { rng } from './testing/text-images.ts';
import {
  detectTextCandidates,
  extendAlongLine,
  extendToLineEnd,
  type GreyImage,
  leftoverInk,
  loneGlyphs,
  masks,
  mergeBoxes,
} from './text-detect.ts';

async function drawn(svgBody: string, width = 400, height = 120, background = 0): Promise<GreyImage> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="rgb(${background},${background},${background})"/>${svgBody}</svg>`;
  const pixels = await sharp(Buffer.from(svg)).toColourspace('b-w').raw().toBuffer();
  return { width, height, pixels: new Uint8Array(pixels) };
}

describe('text candidates', () => {
  it('finds a line of white text on black as text-like, with its box around the words', async () => {
    const img = await drawn(
      '<text x="20" y="60" font-family="DejaVu Sans" font-size="18" fill="#fff">DUPONT MARIE 1961-04-12</text>',
    );

    const found = detectTextCandidates(img);

    expect(found).toHaveLength(1);
    const [line] = found;
    expect(line).toMatchObject({ polarity: 'bright', textLike: true });
    expect(line!.characters).toBeGreaterThan(15);
    expect(line!.box.x).toBeGreaterThanOrEqual(18);
    expect(line!.box.x).toBeLessThan(25);
    expect(line!.box.y + line!.box.height).toBeGreaterThanOrEqual(58);
    expect(line!.box.width).toBeGreaterThan(200);
  });

  it('finds dark text on a bright field with the dark polarity', async () => {
    const img = await drawn(
      '<text x="10" y="50" font-family="DejaVu Serif" font-size="16" fill="#202020">St Mary Hospital</text>',
      300,
      80,
      230,
    );

    const found = detectTextCandidates(img);

    expect(found.map((c) => [c.polarity, c.textLike])).toEqual([['dark', true]]);
  });

  it('finds nothing in ultrasound-like speckle, nor in a smooth gradient', () => {
    const r = rng(5);
    const width = 320;
    const height = 240;
    const speckle = new Uint8Array(width * height);
    for (let i = 0; i < speckle.length; i++)
      speckle[i] = Math.min(255, Math.round(-Math.log(r() + 1e-9) * 60));
    const gradient = Uint8Array.from({ length: width * height }, (_, i) =>
      Math.round(((i % width) / width) * 255),
    );

    const textLike = [speckle, gradient].flatMap((pixels) =>
      detectTextCandidates({ width, height, pixels }).filter((c) => c.textLike),
    );

    expect(textLike).toEqual([]);
  });

  it('extends a line over its characters that run onto a brighter background at lower contrast', async () => {
    // Left half black, right half mid grey: the text's right part stands out far less.
    const img = await drawn(
      '<rect x="200" y="0" width="200" height="120" fill="rgb(200,200,200)"/><text x="20" y="60" font-family="DejaVu Sans Mono" font-size="18" fill="rgb(209,209,209)">PATIENT 12345678 NAME</text>',
    );
    const strong = detectTextCandidates(img).filter((c) => c.textLike);
    expect(strong).toHaveLength(1);
    const left = strong[0]!;
    expect(left.box.x + left.box.width).toBeLessThan(205);

    const extended = extendAlongLine(img, left.box, left.charHeight);

    // 21 characters of 10.8 px from x = 20: the line ends near x = 247.
    expect(extended.x + extended.width).toBeGreaterThan(240);
  });

  it('extends a line to its end over ink, stopping at a gap wider than a character', async () => {
    // A line, then far to the right a mark that is not part of it.
    const img = await drawn(
      '<text x="20" y="60" font-family="DejaVu Sans" font-size="18" fill="#fff">DUPONT MARIE</text><rect x="330" y="45" width="3" height="15" fill="#fff"/>',
    );
    const [line] = detectTextCandidates(img).filter((c) => c.textLike);
    // As if the last two characters had not been found (at most three character heights are added).
    const first = { ...line!.box, width: line!.box.width - 25 };

    const extended = extendToLineEnd(img, first, line!.charHeight);

    expect(extended.x + extended.width).toBeGreaterThanOrEqual(line!.box.x + line!.box.width - 1);
    expect(extended.x + extended.width).toBeLessThan(300);
    expect(extended.x).toBeGreaterThanOrEqual(15);
  });

  it('finds the rest of a character cut by a blanked box, and nothing beside a box that covers the line', async () => {
    const img = await drawn(
      '<text x="20" y="60" font-family="DejaVu Sans" font-size="18" fill="#fff">DUPONT 1961</text>',
    );
    const [line] = detectTextCandidates(img).filter((c) => c.textLike);
    const end = line!.box.x + line!.box.width;
    const blank = (x1: number) => {
      const pixels = img.pixels.slice();
      for (let y = line!.box.y - 6; y < line!.box.y + line!.box.height + 6; y++)
        for (let x = 0; x < x1; x++) pixels[y * img.width + x] = 0;
      return {
        image: { ...img, pixels },
        box: { x: 0, y: line!.box.y - 6, width: x1, height: line!.box.height + 12 },
      };
    };

    const cut = blank(end - 5); // the last "1" is cut in the middle of its width
    const covered = blank(end + 6);

    expect(leftoverInk(cut.image, cut.box, line!.box, line!.charHeight).length).toBeGreaterThan(0);
    expect(leftoverInk(covered.image, covered.box, line!.box, line!.charHeight)).toEqual([]);
  });

  it('finds a piece of the next line cut by the bottom of a blanked box, and nothing below a box that covers it', async () => {
    const img = await drawn(
      '<text x="20" y="40" font-family="DejaVu Sans" font-size="16" fill="#fff">DUPONT MARIE</text><text x="20" y="66" font-family="DejaVu Sans" font-size="16" fill="#fff">S</text>',
    );
    const [line] = detectTextCandidates(img).filter((c) => c.textLike);
    const blank = (y1: number) => {
      const pixels = img.pixels.slice();
      for (let y = 0; y < y1; y++) for (let x = 0; x < 200; x++) pixels[y * img.width + x] = 0;
      return { image: { ...img, pixels }, box: { x: 0, y: 0, width: 200, height: y1 } };
    };

    const cut = blank(60); // the "S" below (rows 54 to 66) loses its top half
    const covered = blank(72);

    const pieces = leftoverInk(cut.image, cut.box, line!.box, line!.charHeight);
    expect(pieces.length).toBeGreaterThan(0);
    expect(pieces.every((p) => p.y >= 60 && p.x >= 18 && p.x < 35)).toBe(true);
    expect(leftoverInk(covered.image, covered.box, line!.box, line!.charHeight)).toEqual([]);
  });

  it('finds a lone white glyph beside a white-saturated field, and no glyph without the field or in a brightest-channel view', () => {
    // A near-white field with noise (240 +- 3), saturated at 255 on the left; a white "0" drawn
    // at its edge, of which only that character differs from the field (the seed 4242 leak).
    const width = 200;
    const height = 60;
    const r = rng(9);
    const field = (saturated: boolean) => {
      const pixels = new Uint8Array(width * height);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++)
          pixels[y * width + x] = saturated && x < 96 ? 255 : Math.round(240 + (r() - 0.5) * 6);
      // An oval ring 9 px wide and 15 high at x 100-108, y 20-34, two pixels thick.
      for (let y = 20; y < 35; y++)
        for (let x = 100; x < 109; x++) {
          const d = ((x - 104) / 4.5) ** 2 + ((y - 27) / 7.5) ** 2;
          if (d <= 1 && d >= 0.45) pixels[y * width + x] = 255;
        }
      return { width, height, pixels };
    };

    const found = loneGlyphs(field(true));
    const noField = loneGlyphs(field(false));
    const brightestChannel = loneGlyphs({ ...field(true), saturates: false });

    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ polarity: 'bright', textLike: true, characters: 1 });
    expect(found[0]!.box.x).toBeGreaterThanOrEqual(99);
    expect(found[0]!.box.x + found[0]!.box.width).toBeLessThanOrEqual(110);
    expect(noField).toEqual([]);
    expect(brightestChannel).toEqual([]);
  });

  it('finds no lone glyph in speckle clipped at white nor in a gradient that saturates', () => {
    const r = rng(11);
    const width = 320;
    const height = 240;
    const speckle = new Uint8Array(width * height);
    for (let i = 0; i < speckle.length; i++)
      speckle[i] = Math.min(255, Math.round(-Math.log(r() + 1e-9) * 90));
    const gradient = Uint8Array.from({ length: width * height }, (_, i) =>
      Math.min(255, Math.round(((i % width) / width) * 400 + (r() - 0.5) * 6)),
    );

    expect(loneGlyphs({ width, height, pixels: speckle })).toEqual([]);
    expect(loneGlyphs({ width, height, pixels: gradient })).toEqual([]);
  });

  it('merges overlapping boxes into their union and leaves separate ones alone', () => {
    const merged = mergeBoxes([
      { x: 0, y: 0, width: 10, height: 10 },
      { x: 5, y: 5, width: 10, height: 10 },
      { x: 50, y: 50, width: 5, height: 5 },
    ]);

    expect(merged).toEqual([
      { x: 0, y: 0, width: 15, height: 15 },
      { x: 50, y: 50, width: 5, height: 5 },
    ]);
  });
});

/** The stroke masks as their definition reads: each pixel's clipped 25 x 25 square summed pixel by pixel. */
function masksByDefinition(img: GreyImage, contrast: number, floor: number) {
  const { width: w, height: h, pixels } = img;
  const bright = new Uint8Array(w * h);
  const dark = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      let squares = 0;
      let n = 0;
      for (let yy = Math.max(0, y - 12); yy <= Math.min(h - 1, y + 12); yy++) {
        for (let xx = Math.max(0, x - 12); xx <= Math.min(w - 1, x + 12); xx++) {
          const v = pixels[yy * w + xx]!;
          sum += v;
          squares += v * v;
          n++;
        }
      }
      const mean = sum / n;
      const t = Math.min(contrast, Math.max(floor, 1.6 * Math.sqrt(Math.max(0, squares / n - mean * mean))));
      const v = pixels[y * w + x]!;
      if (v >= mean + t) bright[y * w + x] = 1;
      else if (v <= mean - t) dark[y * w + x] = 1;
    }
  }
  return { bright, dark };
}

describe('stroke masks', () => {
  it('are those of their definition, on noise, text, flat fields and images narrower than the square', async () => {
    const r = rng(11);
    const noise = (width: number, height: number, spread: number): GreyImage => ({
      width,
      height,
      pixels: Uint8Array.from({ length: width * height }, () =>
        Math.min(255, Math.round(128 + (r() - 0.5) * spread)),
      ),
    });
    const images: GreyImage[] = [
      noise(64, 48, 20),
      noise(64, 48, 200),
      noise(7, 90, 60),
      noise(90, 5, 60),
      noise(1, 1, 10),
      { width: 30, height: 20, pixels: new Uint8Array(600).fill(200) },
      await drawn(
        '<text x="10" y="40" font-family="DejaVu Sans" font-size="14" fill="#bbb">ID 778899</text>',
        160,
        60,
        90,
      ),
    ];
    let strokes = 0;
    for (const img of images) {
      for (const [contrast, floor] of [
        [48, 12],
        [20, 12],
        [8, 12],
      ] as const) {
        const fast = masks(img, contrast, floor);
        const expected = masksByDefinition(img, contrast, floor);
        expect(Buffer.from(fast.bright).equals(Buffer.from(expected.bright))).toBe(true);
        expect(Buffer.from(fast.dark).equals(Buffer.from(expected.dark))).toBe(true);
        strokes += expected.bright.reduce((a, b) => a + b, 0) + expected.dark.reduce((a, b) => a + b, 0);
      }
    }
    expect(strokes).toBeGreaterThan(100); // the images do have strokes in them
  });
});
