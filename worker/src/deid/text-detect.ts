/**
 * Cheap text-region detection on an 8-bit rendering of a frame (docs/burned-in-text.md): the OCR
 * engine is slow (0.5-1.5 s for a whole 640x480 frame), so it only reads the small regions found here.
 *
 *   1. Two masks, one per polarity: pixels brighter (or darker) than the mean of their 25x25
 *      neighbourhood by `contrast` or more (an integral image makes the mean O(1) per pixel).
 *   2. 8-connected components of each mask; the ones shaped like a character are kept (height
 *      6-120 px, not much wider than high, neither a solid block nor a sparse speck).
 *   3. Characters are chained into lines: similar heights, overlapping vertically, gaps under about
 *      one and a half character heights.
 *   4. Each line of two characters or more is a candidate. A candidate is "text-like" when it has
 *      three characters or more of regular height, aligned on a baseline, on a plain background
 *      (burned-in annotation is drawn on flat bands or the black border). Text-like candidates are
 *      treated as text whatever the OCR makes of them; the others are text only if OCR reads words
 *      in them.
 */

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface GreyImage {
  readonly width: number;
  readonly height: number;
  /** One byte per pixel, row-major. */
  readonly pixels: Uint8Array;
  /**
   * Whether 255 is one colour in this view (white: a grey rendering, luminance, darkest channel),
   * so that text drawn in it vanishes into a field saturated at 255; not so for a colour frame's
   * brightest channel, where any saturated colour is 255. True when absent.
   */
  readonly saturates?: boolean;
}

export interface TextCandidate {
  readonly box: Box;
  /** 'bright': lighter than its background; 'dark': darker. */
  readonly polarity: 'bright' | 'dark';
  /** Characters (components) in the line. */
  readonly characters: number;
  /** Median character height in pixels. */
  readonly charHeight: number;
  /** Regular, aligned characters on a plain background: text even when OCR cannot read it. */
  readonly textLike: boolean;
}

export interface DetectOptions {
  /** Grey levels above (below) the local mean for a pixel to be a stroke; 8-bit scale. */
  readonly contrast?: number;
  /** Floor of the noise-adaptive threshold (MIN_CONTRAST by default). */
  readonly minContrast?: number;
  /** Fewest characters in a line for it to be a candidate (2 by default). */
  readonly minCharacters?: number;
  /** Whether lone glyphs in one flat colour are candidates too (loneGlyphs; true by default). */
  readonly loneGlyphs?: boolean;
}

const RADIUS = 12;
const MIN_CHAR_HEIGHT = 6;
const MAX_CHAR_HEIGHT = 120;
const MIN_CONTRAST = 12;
const NOISE_FACTOR = 1.6;
const { sqrt, max, min } = Math;

interface Component {
  x0: number;
  y0: number;
  x1: number; // exclusive
  y1: number; // exclusive
  area: number;
  id: number;
}

/**
 * Stroke masks: a pixel is a stroke when it differs from its neighbourhood's mean by `contrast` or
 * more, or, on a quiet background, by NOISE_FACTOR standard deviations of the neighbourhood (at
 * least MIN_CONTRAST): faint text on a flat field is found, speckle and noise are not. The
 * neighbourhood is the square of side 2 RADIUS + 1 around the pixel, clipped to the image.
 */
export function masks(
  img: GreyImage,
  contrast: number,
  floor: number,
): { bright: Uint8Array; dark: Uint8Array } {
  const { width: w, height: h, pixels } = img;
  const bright = new Uint8Array(w * h);
  const dark = new Uint8Array(w * h);
  // The neighbourhood's sums, slid along: per column over the window's rows (updated as the window
  // moves down), then along the row over the window's columns. All integers (at most
  // (2 RADIUS + 1)^2 x 255^2, well within 32 bits): exact, in any order.
  const columns = new Int32Array(w);
  const columnSquares = new Int32Array(w);
  for (let y = 0; y < Math.min(h, RADIUS + 1); y++) slideColumns(pixels, y * w, columns, columnSquares, 1);
  // The threshold is never below min(contrast, floor): a pixel nearer its mean than that (with a
  // margin far above any rounding of the division) is in neither mask, and its variance is not
  // needed. Most pixels of an image are; the others take the full test.
  const near = Math.min(contrast, floor) - 1e-6;
  for (let y = 0; y < h; y++) {
    // The row entering the window below, the row leaving it above.
    if (y > 0 && y + RADIUS < h) slideColumns(pixels, (y + RADIUS) * w, columns, columnSquares, 1);
    if (y - RADIUS - 1 >= 0) slideColumns(pixels, (y - RADIUS - 1) * w, columns, columnSquares, -1);
    const rowsIn = Math.min(h, y + RADIUS + 1) - Math.max(0, y - RADIUS);
    let sum = 0;
    for (let x = 0; x < Math.min(w, RADIUS + 1); x++) sum += columns[x]!;
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (x > 0) {
        if (x + RADIUS < w) sum += columns[x + RADIUS]!;
        if (x - RADIUS - 1 >= 0) sum -= columns[x - RADIUS - 1]!;
      }
      const x0 = Math.max(0, x - RADIUS);
      const x1 = Math.min(w, x + RADIUS + 1);
      const n = rowsIn * (x1 - x0);
      const mean = sum / n;
      const v = pixels[row + x]!;
      if (v - mean < near && mean - v < near) continue;
      let squares = 0;
      for (let k = x0; k < x1; k++) squares += columnSquares[k]!;
      // (sqrt, max and min bound once: a property load on Math that no pixel had reached yet
      // would send the optimised loop back to the interpreter when the first one does.)
      const sd = sqrt(max(0, squares / n - mean * mean));
      const t = min(contrast, max(floor, NOISE_FACTOR * sd));
      if (v >= mean + t) bright[row + x] = 1;
      else if (v <= mean - t) dark[row + x] = 1;
    }
  }
  return { bright, dark };
}

/** Adds (sign 1) or removes (-1) the row of pixels starting at `start` to or from the column sums. */
function slideColumns(
  pixels: Uint8Array,
  start: number,
  columns: Int32Array,
  squares: Int32Array,
  sign: 1 | -1,
): void {
  for (let x = 0; x < columns.length; x++) {
    const v = sign * pixels[start + x]!;
    columns[x]! += v;
    squares[x]! += sign * v * v;
  }
}

/** 8-connected components of a mask (iterative flood fill; the mask is cleared as it goes). */
function components(
  mask: Uint8Array,
  w: number,
  h: number,
  maxArea: number,
  /** When given, each pixel of a component gets the component's `id`. */
  labels?: Int32Array,
): Component[] {
  const out: Component[] = [];
  const stack = new Int32Array(w * h);
  let id = 0;
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] !== 1) continue;
    let top = 0;
    stack[top++] = start;
    mask[start] = 2;
    const c: Component = { x0: w, y0: h, x1: 0, y1: 0, area: 0, id: ++id };
    while (top > 0) {
      const p = stack[--top]!;
      const px = p % w;
      const py = (p - px) / w;
      if (labels) labels[p] = c.id;
      c.area++;
      if (px < c.x0) c.x0 = px;
      if (px >= c.x1) c.x1 = px + 1;
      if (py < c.y0) c.y0 = py;
      if (py >= c.y1) c.y1 = py + 1;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = py + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          if (nx < 0 || nx >= w) continue;
          const q = ny * w + nx;
          if (mask[q] === 1) {
            mask[q] = 2;
            stack[top++] = q;
          }
        }
      }
    }
    if (c.area <= maxArea) out.push(c);
  }
  return out;
}

function isCharacter(c: Component): boolean {
  const h = c.y1 - c.y0;
  const w = c.x1 - c.x0;
  if (h < MIN_CHAR_HEIGHT || h > MAX_CHAR_HEIGHT) return false;
  if (w > h * 2.2 + 2 || w * 5 < h) return false; // joined runs of letters up to about two wide
  const fill = c.area / (w * h);
  return fill >= 0.12 && fill <= 0.9;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** Chains characters into lines (union-find over neighbouring pairs). */
function lines(chars: Component[]): Component[][] {
  const sorted = [...chars].sort((a, b) => a.x0 - b.x0);
  const parent = sorted.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    const ha = a.y1 - a.y0;
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j]!;
      const hb = b.y1 - b.y0;
      const hMax = Math.max(ha, hb);
      if (b.x0 - a.x1 > 1.6 * hMax) break; // sorted by x0: later ones are farther still
      if (Math.max(ha, hb) > 1.8 * Math.min(ha, hb)) continue;
      const overlap = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
      if (overlap < 0.6 * Math.min(ha, hb)) continue;
      parent[find(j)] = find(i);
    }
  }
  const groups = new Map<number, Component[]>();
  sorted.forEach((c, i) => {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(c);
    else groups.set(r, [c]);
  });
  return [...groups.values()];
}

/**
 * Share of the line box's background pixels (more than one pixel away from any stroke, so that
 * anti-aliased edges do not count) within 24 grey levels of their slice's median. The box is cut
 * into slices about two characters wide, so a line running from a black band onto a grey one is
 * still on a plain background; speckle and anatomy are not.
 */
function plainBackground(img: GreyImage, box: Box, strokes: Uint8Array, charHeight: number): number {
  const w = img.width;
  const nearStroke = (x: number, y: number): boolean => {
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= img.height) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if (xx >= 0 && xx < w && strokes[yy * w + xx] === 1) return true;
      }
    }
    return false;
  };
  const sliceWidth = Math.max(8, 2 * charHeight);
  let near = 0;
  let total = 0;
  for (let sx = box.x; sx < box.x + box.width; sx += sliceWidth) {
    const values: number[] = [];
    for (let y = box.y; y < box.y + box.height; y++) {
      for (let x = sx; x < Math.min(box.x + box.width, sx + sliceWidth); x++) {
        if (!nearStroke(x, y)) values.push(img.pixels[y * w + x]!);
      }
    }
    if (values.length === 0) continue;
    const bg = median(values);
    near += values.filter((v) => Math.abs(v - bg) <= 24).length;
    total += values.length;
  }
  if (total < 8) return 1; // strokes fill the box: nothing behind them to judge
  return near / total;
}

function describeLine(
  img: GreyImage,
  line: Component[],
  polarity: 'bright' | 'dark',
  strokes: Uint8Array,
): TextCandidate {
  const x0 = Math.min(...line.map((c) => c.x0));
  const y0 = Math.min(...line.map((c) => c.y0));
  const x1 = Math.max(...line.map((c) => c.x1));
  const y1 = Math.max(...line.map((c) => c.y1));
  const box: Box = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  const heights = line.map((c) => c.y1 - c.y0);
  const charHeight = median(heights);
  const regular = heights.filter((h) => Math.abs(h - charHeight) <= Math.max(2, 0.25 * charHeight)).length;
  const bottoms = line.map((c) => c.y1);
  const baseline = median(bottoms);
  const aligned = bottoms.filter((b) => Math.abs(b - baseline) <= Math.max(2, 0.2 * charHeight)).length;
  const n = line.length;
  const textLike =
    n >= 3 &&
    regular >= 0.7 * n &&
    aligned >= 0.6 * n &&
    plainBackground(img, box, strokes, charHeight) >= 0.85;
  return { box, polarity, characters: n, charHeight, textLike };
}

/** The stroke mask of one polarity with every pixel of kept components set to 1. */
function strokeMask(w: number, h: number, comps: readonly Component[], source: Uint8Array): Uint8Array {
  const m = new Uint8Array(w * h);
  for (const c of comps) {
    for (let y = c.y0; y < c.y1; y++) {
      for (let x = c.x0; x < c.x1; x++) if (source[y * w + x] === 2) m[y * w + x] = 1;
    }
  }
  return m;
}

/** Candidate text lines of one frame, both polarities, and bright lone glyphs beside a saturated field. */
export function detectTextCandidates(img: GreyImage, options: DetectOptions = {}): TextCandidate[] {
  const contrast = options.contrast ?? 48;
  const { width: w, height: h } = img;
  const { bright, dark } = masks(img, contrast, options.minContrast ?? MIN_CONTRAST);
  const out: TextCandidate[] = [];
  for (const [polarity, mask] of [
    ['bright', bright],
    ['dark', dark],
  ] as const) {
    const comps = components(mask, w, h, MAX_CHAR_HEIGHT * MAX_CHAR_HEIGHT * 3).filter(isCharacter);
    const strokes = strokeMask(w, h, comps, mask);
    for (const line of lines(comps)) {
      if (line.length < (options.minCharacters ?? 2)) continue;
      out.push(describeLine(img, line, polarity, strokes));
    }
  }
  if (options.loneGlyphs ?? true) out.push(...loneGlyphs(img));
  return out;
}

/** Radius of the square of the lone-glyph top-hat: strokes up to 8 px wide stand out of it. */
const GLYPH_RADIUS = 4;
/** Top-hat grey levels for a pixel to belong to a glyph's shape, and for its strongest stroke. */
const GLYPH_SHAPE = 8;
const GLYPH_PEAK = 10;
/** Share of a glyph's pixels at the top value (255): the text's colour, that of the field too. */
const GLYPH_FLAT = 0.4;
/** Share of the field beside the glyph (one glyph height along its rows) at the top value. */
const GLYPH_FIELD = 0.5;
/** Its strongest stroke against the 90th percentile of the top-hat around it (a quiet background). */
const GLYPH_QUIET = 2.5;

/**
 * Bright glyphs alone beside a saturated field: text drawn in the view's top value (white) that
 * runs over a field saturated at that value is invisible there, and what shows of its line may be
 * one character at the field's edge (a white date on a white-saturated photograph, of which only
 * the last digit differs from the field). Found in a morphological white top-hat (which ignores the
 * flat bright field beside them, where the local-mean masks do not): components shaped like a
 * character, away from the frame's edge, 40 % or more of their pixels at exactly the top value,
 * their strongest stroke 10 grey levels or more and 2.5 times the top-hat of the background
 * around them, with a field at the top value on half or more of the glyph's rows for one glyph
 * height on its left or right. Text-like: blanked whatever OCR reads. Not for views whose top value
 * is not one colour (`saturates: false`: a colour frame's brightest channel).
 */
export function loneGlyphs(img: GreyImage): TextCandidate[] {
  const { width: w, height: h } = img;
  const r = GLYPH_RADIUS;
  if (img.saturates === false || w <= 2 * (r + 1) || h <= 2 * (r + 1)) return [];
  const TOP = 255;
  let tops = 0;
  for (const v of img.pixels) if (v === TOP) tops++;
  // A glyph of six rows or more and a field beside it half at the top value: 36 pixels at least.
  if (tops < (GLYPH_FLAT + GLYPH_FIELD) * MIN_CHAR_HEIGHT * MIN_CHAR_HEIGHT) return [];
  const hat = topHatOf(img, { x: 0, y: 0, width: w, height: h }, r, 'white');
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < mask.length; i++) if (hat[i]! >= GLYPH_SHAPE) mask[i] = 1;
  const labels = new Int32Array(w * h);
  const out: TextCandidate[] = [];
  for (const c of components(mask, w, h, MAX_CHAR_HEIGHT * MAX_CHAR_HEIGHT, labels)) {
    if (!isCharacter(c)) continue;
    if (c.x0 <= r || c.y0 <= r || c.x1 >= w - r || c.y1 >= h - r) continue; // the top-hat's edge effect
    let peak = 0;
    let flat = 0;
    const around: number[] = [];
    const ring = grow({ x: c.x0, y: c.y0, width: c.x1 - c.x0, height: c.y1 - c.y0 }, 3, w, h);
    for (let y = ring.y; y < ring.y + ring.height; y++) {
      for (let x = ring.x; x < ring.x + ring.width; x++) {
        const i = y * w + x;
        if (labels[i] === c.id) {
          peak = Math.max(peak, hat[i]!);
          if (img.pixels[i] === TOP) flat++;
        } else around.push(hat[i]!);
      }
    }
    if (peak < GLYPH_PEAK || flat < GLYPH_FLAT * c.area) continue;
    around.sort((a, b) => a - b);
    if (peak < GLYPH_QUIET * (around[Math.floor(around.length * 0.9)] ?? 0)) continue;
    const gh = c.y1 - c.y0;
    const field = (x0: number, x1: number): boolean => {
      let top = 0;
      let n = 0;
      for (let y = c.y0; y < c.y1; y++) {
        for (let x = Math.max(0, x0); x < Math.min(w, x1); x++) {
          n++;
          if (img.pixels[y * w + x] === TOP) top++;
        }
      }
      return n > 0 && top >= GLYPH_FIELD * n;
    };
    if (!field(c.x0 - gh, c.x0) && !field(c.x1, c.x1 + gh)) continue;
    const box: Box = { x: c.x0, y: c.y0, width: c.x1 - c.x0, height: gh };
    out.push({ box, polarity: 'bright', characters: 1, charHeight: gh, textLike: true });
  }
  return out;
}

/** The box grown by `margin` pixels on every side, clipped to width x height. */
export function grow(box: Box, margin: number, width: number, height: number): Box {
  const x = Math.max(0, box.x - margin);
  const y = Math.max(0, box.y - margin);
  const x1 = Math.min(width, box.x + box.width + margin);
  const y1 = Math.min(height, box.y + box.height + margin);
  return { x, y, width: Math.max(0, x1 - x), height: Math.max(0, y1 - y) };
}

const intersects = (a: Box, b: Box): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Overlapping boxes merged until none overlap (the union of regions, as rectangles). */
export function mergeBoxes(boxes: readonly Box[]): Box[] {
  let out = [...boxes];
  let changed = true;
  while (changed) {
    changed = false;
    const next: Box[] = [];
    for (const b of out) {
      const i = next.findIndex((n) => intersects(n, b));
      if (i < 0) {
        next.push(b);
        continue;
      }
      const n = next[i]!;
      const x = Math.min(n.x, b.x);
      const y = Math.min(n.y, b.y);
      next[i] = {
        x,
        y,
        width: Math.max(n.x + n.width, b.x + b.width) - x,
        height: Math.max(n.y + n.height, b.y + b.height) - y,
      };
      changed = true;
    }
    out = next;
  }
  return out;
}

/** The part of an image inside `box`, as its own image. */
export function crop(img: GreyImage, box: Box): GreyImage {
  const pixels = new Uint8Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    const row = (box.y + y) * img.width + box.x;
    pixels.set(img.pixels.subarray(row, row + box.width), y * box.width);
  }
  return { width: box.width, height: box.height, pixels };
}

/**
 * A text line's box extended along the line (never in height) over characters of lower contrast (text running onto
 * brighter or darker anatomy): characters found at a quarter of the usual contrast in a band around
 * the line that continue it (overlapping its height, within about two character heights) join it.
 */
export function extendAlongLine(img: GreyImage, box: Box, charHeight: number): Box {
  let b = box;
  for (let round = 0; round < 6; round++) {
    const band = grow(
      { x: b.x - 6 * charHeight, y: b.y, width: b.width + 12 * charHeight, height: b.height },
      Math.ceil(charHeight * 0.6),
      img.width,
      img.height,
    );
    if (band.width < 4 || band.height < 4) return b;
    const found = detectTextCandidates(crop(img, band), {
      contrast: 16,
      minContrast: 6,
      minCharacters: 1,
      loneGlyphs: false,
    });
    let next = b;
    for (const c of found) {
      const cb = { x: c.box.x + band.x, y: c.box.y + band.y, width: c.box.width, height: c.box.height };
      const overlap = Math.min(cb.y + cb.height, b.y + b.height) - Math.max(cb.y, b.y);
      if (overlap < 0.5 * Math.min(cb.height, b.height)) continue;
      if (cb.height > 2 * Math.max(charHeight, b.height)) continue;
      const gap = Math.max(cb.x - (b.x + b.width), b.x - (cb.x + cb.width));
      if (gap > 2.2 * charHeight) continue; // a word space and a character lost at an edge
      // Only along the line: the height stays the line's (the blanking margin covers ascenders).
      const x = Math.min(next.x, cb.x);
      next = { x, y: b.y, width: Math.max(next.x + next.width, cb.x + cb.width) - x, height: b.height };
    }
    if (next.x === b.x && next.width === b.width && next.y === b.y && next.height === b.height) return b;
    b = next;
  }
  return b;
}

/**
 * Running minimum (erode) or maximum (dilate) over 2r+1 samples along one axis, in three
 * comparisons per sample whatever r (van Herk / Gil-Werman: maxima from the start and from the end
 * of blocks of 2r+1; a window spans two blocks at most). Samples past the ends do not count.
 */
function linePass(
  src: Float32Array,
  w: number,
  h: number,
  r: number,
  max: boolean,
  vertical: boolean,
): Float32Array {
  const out = new Float32Array(src.length);
  // Along a row (step 1, `len` samples) or down a column (step w); lines start every `next`.
  const [len, step, lines, next] = vertical ? [h, w, w, 1] : [w, 1, h, w];
  const k = 2 * r + 1;
  const m = Math.ceil((len + 2 * r) / k) * k;
  const sign = max ? 1 : -1; // a minimum is the maximum of the negated samples
  const buf = new Float32Array(m);
  const fromStart = new Float32Array(m);
  const fromEnd = new Float32Array(m);
  for (let l = 0; l < lines; l++) {
    const base = l * next;
    buf.fill(Number.NEGATIVE_INFINITY);
    for (let at = 0; at < len; at++) buf[r + at] = sign * src[base + at * step]!;
    for (let b0 = 0; b0 < m; b0 += k) {
      let acc = buf[b0]!;
      fromStart[b0] = acc;
      for (let j = b0 + 1; j < b0 + k; j++) {
        const v = buf[j]!;
        if (v > acc) acc = v;
        fromStart[j] = acc;
      }
      acc = buf[b0 + k - 1]!;
      fromEnd[b0 + k - 1] = acc;
      for (let j = b0 + k - 2; j >= b0; j--) {
        const v = buf[j]!;
        if (v > acc) acc = v;
        fromEnd[j] = acc;
      }
    }
    for (let at = 0; at < len; at++) {
      const a = fromEnd[at]!;
      const b = fromStart[at + 2 * r]!;
      out[base + at * step] = sign * Math.max(a, b);
    }
  }
  return out;
}

/** Running minimum (erode) or maximum (dilate) over a square of 2r+1, along rows then columns. */
function squareFilter(src: Float32Array, w: number, h: number, r: number, max: boolean): Float32Array {
  return linePass(linePass(src, w, h, r, max, false), w, h, r, max, true);
}

/** Grey levels a thin stroke must stand out of its surroundings (top-hat) to be ink. */
const INK_CONTRAST = 16;

/**
 * Thin strokes in `box` of `img`, both polarities: a morphological top-hat (the image minus its
 * opening, and its closing minus the image, by a square wider than a stroke) keeps strokes and
 * drops edges and flat fields, so a character that sits across the edge of a bright and a dark
 * area is found whole, where the local-mean masks merge it with the edge.
 */
export function inkMask(img: GreyImage, box: Box, charHeight: number): Uint8Array {
  return Uint8Array.from(topHat(img, box, charHeight), (t) => (t >= INK_CONTRAST ? 1 : 0));
}

/** The larger of the white and black top-hats in `box` (grey levels a thin stroke stands out). */
function topHat(img: GreyImage, box: Box, charHeight: number): Float32Array {
  return topHatOf(img, box, Math.max(2, Math.round(charHeight * 0.3)), 'both');
}

/**
 * The white top-hat (the view minus its opening: bright strokes), the black one (its closing minus
 * the view: dark strokes) or the larger of both, by a square of 2r+1, in `box`.
 */
function topHatOf(img: GreyImage, box: Box, r: number, which: 'white' | 'black' | 'both'): Float32Array {
  const pad = grow(box, r, img.width, img.height);
  const { width: w, height: h } = pad;
  const v = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) v[y * w + x] = img.pixels[(pad.y + y) * img.width + pad.x + x]!;
  const opened = which === 'black' ? v : squareFilter(squareFilter(v, w, h, r, false), w, h, r, true);
  const closed = which === 'white' ? v : squareFilter(squareFilter(v, w, h, r, true), w, h, r, false);
  const out = new Float32Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const i = (box.y - pad.y + y) * w + (box.x - pad.x + x);
      out[y * box.width + x] = Math.max(v[i]! - opened[i]!, closed[i]! - v[i]!);
    }
  }
  return out;
}

/**
 * A text line's box extended to the end of its line: from each end, outwards along the line's
 * rows, over columns holding ink (inkMask) with gaps shorter than a character height, at most
 * `reach` character heights. What the character-shaped components miss at a line's end (a last
 * character across the edge of the body, a character joined to a mark) is ink all the same.
 */
export function extendToLineEnd(img: GreyImage, box: Box, charHeight: number, reach = 3): Box {
  const limit = Math.ceil(reach * charHeight);
  const band = grow(
    { x: box.x - limit, y: box.y, width: box.width + 2 * limit, height: box.height },
    0,
    img.width,
    img.height,
  );
  if (band.width < 2 || band.height < 2) return box;
  const ink = inkMask(img, band, charHeight);
  const inked = (x: number): boolean => {
    const cx = x - band.x;
    if (cx < 0 || cx >= band.width) return false;
    for (let y = 0; y < band.height; y++) if (ink[y * band.width + cx] === 1) return true;
    return false;
  };
  const maxGap = Math.max(3, Math.round(charHeight));
  const walk = (from: number, step: 1 | -1): number => {
    let last = from;
    let gap = 0;
    for (let x = from + step; x >= band.x && x < band.x + band.width; x += step) {
      if (inked(x)) {
        last = x;
        gap = 0;
      } else if (++gap > maxGap) break;
    }
    return last;
  };
  const x0 = walk(box.x, -1);
  const x1 = walk(box.x + box.width - 1, 1);
  return { x: x0, y: box.y, width: x1 + 1 - x0, height: box.height };
}

/**
 * The top-hat of a band above or below a blanked box as if the box were not there: the rows next to
 * it are the band's own rows mirrored, so that the box's flat value does not enclose what touches
 * it (a strip of background between the box and the edge of a body is not a stroke).
 */
function topHatBeside(img: GreyImage, side: Box, boxAbove: boolean, charHeight: number): Float32Array {
  const r = Math.max(2, Math.round(charHeight * 0.3));
  const x0 = Math.max(0, side.x - r);
  const x1 = Math.min(img.width, side.x + side.width + r);
  const w = x1 - x0;
  const rows = side.height + r;
  const pixels = new Uint8Array(w * rows);
  for (let k = 0; k < rows; k++) {
    // Row k of the padded band, from the box's side: r mirrored rows, then the band's rows.
    const j = k < r ? r - 1 - k : k - r;
    const from = boxAbove
      ? side.y + Math.min(j, side.height - 1)
      : side.y + side.height - 1 - Math.min(j, side.height - 1);
    const to = boxAbove ? k : rows - 1 - k;
    pixels.set(img.pixels.subarray(from * img.width + x0, from * img.width + x1), to * w);
  }
  const band: GreyImage = { width: w, height: rows, pixels };
  return topHat(
    band,
    { x: side.x - x0, y: boxAbove ? r : 0, width: side.width, height: side.height },
    charHeight,
  );
}

/**
 * What is left of a text line beside its blanked box (checking a redacted output): in the line's
 * rows, on each side of `blank`, the ink components (inkMask) that touch the box's edge, three
 * pixels wide or more, half to one and a half characters high, and of a clear stroke contrast
 * (twice the ink threshold somewhere): the rest of a character cut by the box. Sides where ink is
 * common (more than 30 % of four character heights beside the box: speckle, texture) are left to
 * OCR. Returns the boxes of the pieces found.
 */
export function leftoverInk(img: GreyImage, blank: Box, line: Box, charHeight: number): Box[] {
  const out: Box[] = [];
  const span = Math.ceil(4 * charHeight);
  const y0 = Math.max(0, line.y);
  const y1 = Math.min(img.height, line.y + line.height);
  const below = blank.y + blank.height;
  const across = Math.ceil(1.5 * charHeight);
  // Left and right in the line's rows; above and below in the box's columns (a character of the
  // next line, or a lone one, cut by the box's margin). `edge`: the first row or column outside.
  const sides = [
    { x0: blank.x - span, x1: blank.x, y0, y1, edge: blank.x - 1, vertical: false },
    {
      x0: blank.x + blank.width,
      x1: blank.x + blank.width + span,
      y0,
      y1,
      edge: blank.x + blank.width,
      vertical: false,
    },
    {
      x0: blank.x,
      x1: blank.x + blank.width,
      y0: blank.y - across,
      y1: blank.y,
      edge: blank.y - 1,
      vertical: true,
    },
    { x0: blank.x, x1: blank.x + blank.width, y0: below, y1: below + across, edge: below, vertical: true },
  ];
  for (const s of sides) {
    const x0 = Math.max(0, s.x0);
    const x1 = Math.min(img.width, s.x1);
    const sy0 = Math.max(0, s.y0);
    const sy1 = Math.min(img.height, s.y1);
    if (x1 - x0 < 2 || sy1 - sy0 < 2) continue;
    const side: Box = { x: x0, y: sy0, width: x1 - x0, height: sy1 - sy0 };
    const hat = s.vertical
      ? topHatBeside(img, side, s.edge < side.y, charHeight)
      : topHat(img, side, charHeight);
    const ink = Uint8Array.from(hat, (t) => (t >= INK_CONTRAST ? 1 : 0));
    let inked = 0;
    for (const v of ink) inked += v;
    if (inked === 0 || inked > 0.3 * ink.length) continue;
    const peaks = Uint8Array.from(hat, (t) => (t >= 2 * INK_CONTRAST ? 1 : 0));
    const copy = ink.slice();
    for (const c of components(copy, side.width, side.height, ink.length)) {
      const h = c.y1 - c.y0;
      const w = c.x1 - c.x0;
      if (s.vertical) {
        // Part of a character: three pixels or more each way, no wider than two characters (not a
        // ruler or an edge along the box), its end at the box's top or bottom.
        if (w < 3 || h < 3 || h > 1.5 * charHeight || w > 2 * charHeight) continue;
        const touches = Math.abs(side.y + c.y0 - s.edge) <= 2 || Math.abs(side.y + c.y1 - 1 - s.edge) <= 2;
        if (!touches) continue;
        // On a plain background, as burned-in text is (not a rib or the edge of a body).
        const behind: number[] = [];
        for (let y = Math.max(0, c.y0 - 2); y < Math.min(side.height, c.y1 + 2); y++)
          for (let x = Math.max(0, c.x0 - 2); x < Math.min(side.width, c.x1 + 2); x++)
            if (ink[y * side.width + x] === 0)
              behind.push(img.pixels[(side.y + y) * img.width + side.x + x]!);
        const bg = median(behind);
        if (behind.filter((v) => Math.abs(v - bg) <= 24).length < 0.85 * behind.length) continue;
      } else {
        // Two pixels or fewer: a strip of background left between the box and an edge in the image.
        if (w < 3 || h < Math.max(4, 0.5 * charHeight) || h > 1.5 * charHeight) continue;
        const touches = Math.abs(side.x + c.x0 - s.edge) <= 2 || Math.abs(side.x + c.x1 - 1 - s.edge) <= 2;
        if (!touches) continue;
      }
      let strong = false;
      for (let y = c.y0; y < c.y1 && !strong; y++)
        for (let x = c.x0; x < c.x1; x++)
          if (copy[y * side.width + x] === 2 && peaks[y * side.width + x] === 1) strong = true;
      if (!strong) continue;
      out.push({ x: side.x + c.x0, y: side.y + c.y0, width: w, height: h });
    }
  }
  return out;
}
