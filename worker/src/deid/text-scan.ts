/**
 * Burned-in text in the pixels (docs/burned-in-text.md): every frame is decoded and rendered to 8
 * bits, candidate text lines are found cheaply (text-detect.ts), and only those crops are read by
 * OCR (ocr.ts). A region is text when it looks like text (regular characters on a plain background,
 * whatever OCR makes of it) or when OCR reads words in it. Regions are merged over all frames, so
 * blanking them blanks every frame where text was seen (static overlays and per-frame text alike).
 *
 * Views: grey frames are scanned as displayed (header window / VOI) and over their full value range
 * (text drawn at a value the window clips is still in the stored pixels); colour frames by luminance
 * and by their brightest and darkest channels (yellow or blue text on black, yellow text on white).
 *
 * Never passes unchecked pixels: a frame that fails to decode throws ScanError with the decoder's
 * code; an image over the pixel or time budget throws ScanError('BURNED_IN_SCAN_TOO_LARGE').
 *
 * The frame loop (`findCandidates`, every decode) is apart from the rest, so that the pipeline runs
 * it in a pool thread under the per-file deadline (decision 019); OCR and the regions are made here.
 */
import type { DicomFile } from '@medimg/dicom';
import { describePixels } from '../imaging/attributes.ts';
import type { DecodedFrame } from '../imaging/decode.ts';
import { ImagingError } from '../imaging/errors.ts';
import { type DisplayFrame, renderDisplayAndDecoded } from '../imaging/render.ts';
import type { HeaderPhi } from './header-phi.ts';
import type { OcrCrop, TextReader } from './ocr.ts';
import {
  type Box,
  detectTextCandidates,
  extendAlongLine,
  extendToLineEnd,
  type GreyImage,
  grow,
  leftoverInk,
  mergeBoxes,
  type TextCandidate,
} from './text-detect.ts';

export interface ScanLimits {
  /** Most pixels (rows x columns x frames) scanned per image. */
  readonly maxPixels: number;
  /** Wall-clock budget for one image's scan, OCR included. */
  readonly timeoutMs: number;
  /** Most crops OCR reads per image; candidates beyond it that look like text are blanked unread. */
  readonly maxOcrCrops: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxPixels: 64_000_000, timeoutMs: 60_000, maxOcrCrops: 80 };

export type ScanErrorCode = 'BURNED_IN_SCAN_TOO_LARGE' | 'PIXEL_DECODE_FAILED' | 'OCR_FAILED' | string;

export class ScanError extends Error {
  override readonly name = 'ScanError';
  constructor(
    readonly code: ScanErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface TextRegion {
  /** The region as found, in pixels of the frame. */
  readonly box: Box;
  /** The region grown by the blanking margin (what is blanked). */
  readonly blank: Box;
  /** Looked like text (regular characters on a plain background). */
  readonly textLike: boolean;
  /** Character height in pixels. */
  readonly charHeight: number;
  /** Words OCR read with confidence (counts only are reported). */
  readonly words: number;
  /** Whether the words contain a value of the original header (name, ID, date, institution). */
  readonly phi: boolean;
}

export interface ScanResult {
  readonly frames: number;
  readonly regions: readonly TextRegion[];
  /** Candidates OCR read. */
  readonly ocrCrops: number;
  readonly ocrMs: number;
}

/** Minimum OCR confidence for a word to count, and for a candidate that does not look like text. */
const WORD_CONFIDENCE = 60;
/** When checking a redacted output: a word read at this confidence means text remains. */
const VERIFY_CONFIDENCE = 40;

function views(frame: DisplayFrame, raw: DecodedFrame['pixels'] | undefined): GreyImage[] {
  const { rows: height, columns: width } = frame;
  if (frame.channels === 3) {
    const lum = new Uint8Array(width * height);
    const max = new Uint8Array(width * height);
    const min = new Uint8Array(width * height);
    const p = frame.pixels;
    for (let i = 0; i < lum.length; i++) {
      const r = p[3 * i]!;
      const g = p[3 * i + 1]!;
      const b = p[3 * i + 2]!;
      lum[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      max[i] = Math.max(r, g, b);
      min[i] = Math.min(r, g, b);
    }
    return [
      { width, height, pixels: lum },
      { width, height, pixels: max, saturates: false },
      { width, height, pixels: min },
    ];
  }
  const out: GreyImage[] = [{ width, height, pixels: frame.pixels }];
  if (raw) out.push({ width, height, pixels: fullRange(raw, frame.photometric === 'MONOCHROME1') });
  return out;
}

/**
 * Grey values mapped linearly from their min..max to 0..255 (inverted for MONOCHROME1). Integer
 * values go through a table with one entry per value in min..max (the same formula per entry, so
 * the same bytes), built when the range is at most MAX_TABLE_RANGE values; any other values, the
 * formula per pixel.
 */
export function fullRange(values: DecodedFrame['pixels'], invert: boolean): Uint8Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Uint8Array(values.length);
  const span = hi - lo;
  if (!(span > 0)) return out;
  const level = (v: number): number => {
    const l = Math.round(((v - lo) / span) * 255);
    return invert ? 255 - l : l;
  };
  if (values instanceof Int32Array && span <= MAX_TABLE_RANGE) {
    const table = new Uint8Array(span + 1);
    for (let k = 0; k <= span; k++) table[k] = level(lo + k);
    for (let i = 0; i < values.length; i++) out[i] = table[values[i]! - lo]!;
    return out;
  }
  for (let i = 0; i < values.length; i++) out[i] = level(values[i]!);
  return out;
}

/** Largest value range fullRange maps through a table (16-bit values need 65,536 entries). */
const MAX_TABLE_RANGE = 1 << 17;

const union = (a: Box, b: Box): Box => {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return {
    x,
    y,
    width: Math.max(a.x + a.width, b.x + b.width) - x,
    height: Math.max(a.y + a.height, b.y + b.height) - y,
  };
};

const overlaps = (a: Box, b: Box): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** A candidate line and the grey view of the frame it was found in. */
export interface Found {
  readonly candidate: TextCandidate;
  readonly image: GreyImage;
}

/**
 * What the frame loop gives the rest of the scan. Views are shared between the candidates found in
 * them (one object per view: a structured clone keeps that), and only views with a candidate are
 * kept.
 */
export interface FrameCandidates {
  readonly frames: number;
  readonly rows: number;
  readonly columns: number;
  readonly found: readonly Found[];
  /** When verifying: pieces of blanked lines left beside their boxes (text that remains). */
  readonly leftovers: readonly TextRegion[];
  /** Time the frame loop took, in ms (counted in the scan's time budget). */
  readonly ms: number;
}

/**
 * The frame loop, where every frame is decoded: `findCandidates` in this thread, or the same
 * function in a pool thread under the per-file deadline (burned-in-text.ts, decision 019).
 */
export type CandidateFinder = (
  file: DicomFile,
  limits: ScanLimits,
  blanked: readonly TextRegion[],
) => Promise<FrameCandidates>;

/**
 * Decodes and renders every frame of `file` and finds the candidate text lines in each view (and,
 * when `blanked` is given, what is left beside the blanked lines). Throws ScanError.
 */
export async function findCandidates(
  file: DicomFile,
  limits: ScanLimits,
  blanked: readonly TextRegion[] = [],
): Promise<FrameCandidates> {
  const started = performance.now();
  let desc: ReturnType<typeof describePixels>;
  try {
    desc = describePixels(file);
  } catch (e) {
    throw new ScanError(
      e instanceof ImagingError ? e.code : 'PIXEL_DECODE_FAILED',
      'pixel data cannot be described',
      {
        cause: e,
      },
    );
  }
  const pixels = desc.rows * desc.columns * desc.frameCount;
  if (pixels > limits.maxPixels) {
    throw new ScanError('BURNED_IN_SCAN_TOO_LARGE', 'the image has more pixels than the text scan accepts');
  }
  const overBudget = (): boolean => performance.now() - started > limits.timeoutMs;

  const found: Found[] = [];
  const leftovers: TextRegion[] = [];
  for (let f = 0; f < desc.frameCount; f++) {
    let frame: DisplayFrame;
    let raw: DecodedFrame['pixels'] | undefined;
    try {
      // One decode for both views: the display frame and the stored values it was made from.
      const { display, decoded } = await renderDisplayAndDecoded(file, { frame: f });
      frame = display;
      if (frame.channels === 1) raw = decoded.pixels;
    } catch (e) {
      throw new ScanError(
        e instanceof ImagingError ? e.code : 'PIXEL_DECODE_FAILED',
        'a frame cannot be decoded',
        {
          cause: e,
        },
      );
    }
    for (const image of views(frame, raw)) {
      for (const candidate of detectTextCandidates(image)) found.push({ candidate, image });
      // A piece of a blanked line left beside its box (a last character that ran past it) is text
      // that remains, even alone and unreadable.
      for (const r of blanked) {
        for (const box of leftoverInk(image, r.blank, r.box, r.charHeight)) {
          leftovers.push({ box, blank: box, textLike: true, charHeight: r.charHeight, words: 0, phi: false });
        }
      }
    }
    if (overBudget())
      throw new ScanError('BURNED_IN_SCAN_TOO_LARGE', 'the text scan ran over its time budget');
  }
  return {
    frames: desc.frameCount,
    rows: desc.rows,
    columns: desc.columns,
    found,
    leftovers,
    ms: performance.now() - started,
  };
}

/**
 * Finds burned-in text in every frame of `file`. `phi` (the original header's values) is used to
 * count matches; pass undefined when checking an output again. `find` runs the frame loop (every
 * decode): in this thread by default.
 */
export async function scanForText(
  file: DicomFile,
  reader: TextReader,
  phi: HeaderPhi | undefined,
  limits: ScanLimits = DEFAULT_SCAN_LIMITS,
  mode: 'find' | 'verify' = 'find',
  /** When verifying: the regions blanked, whose lines are checked for pieces left beside them. */
  blanked: readonly TextRegion[] = [],
  find: CandidateFinder = findCandidates,
): Promise<ScanResult> {
  const collected = await find(file, limits, blanked);
  const { found, leftovers } = collected;
  const desc = { frameCount: collected.frames, rows: collected.rows, columns: collected.columns };
  // The budget counts the frame loop's own time (not a wait for a free thread) and what follows.
  const started = performance.now() - collected.ms;
  const overBudget = (): boolean => performance.now() - started > limits.timeoutMs;

  // Candidates overlapping each other (across views and frames) form one region.
  const groups: Found[][] = [];
  for (const item of found) {
    const box = grow(item.candidate.box, 2, desc.columns, desc.rows);
    const g = groups.find((members) =>
      members.some((m) => overlaps(grow(m.candidate.box, 2, desc.columns, desc.rows), box)),
    );
    if (g) g.push(item);
    else groups.push([item]);
  }

  // OCR reads one crop per region: the member with the most characters.
  const representatives = groups.map((g) =>
    g.reduce((best, m) => (m.candidate.characters > best.candidate.characters ? m : best), g[0]!),
  );
  const readable = representatives
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.candidate.characters - a.r.candidate.characters)
    .slice(0, limits.maxOcrCrops);
  const ocrStart = performance.now();
  const crops: OcrCrop[] = readable.map(({ r }) => ({
    image: r.image,
    box: r.candidate.box,
    polarity: r.candidate.polarity,
    charHeight: r.candidate.charHeight,
  }));
  let words: Awaited<ReturnType<TextReader['readCrops']>>;
  // The engine gets what is left of the budget: a stuck engine quarantines the file, never hangs it.
  const left = Math.max(1000, limits.timeoutMs - (performance.now() - started));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ScanError('BURNED_IN_SCAN_TOO_LARGE', 'OCR ran over the time budget')),
      left,
    );
  });
  try {
    words = await Promise.race([reader.readCrops(crops), timeout]);
  } catch (e) {
    if (e instanceof ScanError) throw e;
    throw new ScanError('OCR_FAILED', 'the OCR engine failed', { cause: e });
  } finally {
    clearTimeout(timer);
  }
  const ocrMs = performance.now() - ocrStart;
  if (overBudget()) throw new ScanError('BURNED_IN_SCAN_TOO_LARGE', 'the text scan ran over its time budget');
  const wordsOf = new Map<number, string[]>();
  const confirmed = new Set<number>();
  readable.forEach(({ i }, k) => {
    const read = (words[k] ?? []).filter(
      (w) =>
        w.confidence >= (mode === 'verify' ? VERIFY_CONFIDENCE : WORD_CONFIDENCE) &&
        /[\p{L}\p{N}]{2}/u.test(w.text),
    );
    wordsOf.set(
      i,
      read.map((w) => w.text),
    );
    // A region that does not look like text is text when OCR reads it: one word of three letters or
    // digits read with confidence, two words, or a value of the header. When verifying a redacted
    // output, any word read counts: what remains must be nothing at all.
    if (read.length >= 2 || read.some((w) => w.confidence >= 70 && /[\p{L}\p{N}]{3}/u.test(w.text)))
      confirmed.add(i);
  });

  // Text: looks like text (read or not, e.g. over the OCR cap), or confirmed by OCR, or a line of the
  // same block as text (left-aligned or overlapping it, within 1.6 line heights, similar size).
  const text = new Set<number>(
    groups.flatMap((g, i) => (g.some((m) => m.candidate.textLike) || confirmed.has(i) ? [i] : [])),
  );
  const boxOf = (g: Found[]): Box =>
    g.reduce((b, m) => (m.candidate.characters > 2 ? union(b, m.candidate.box) : b), g[0]!.candidate.box);
  const heightOf = (g: Found[]): number => Math.max(...g.map((m) => m.candidate.charHeight));
  for (let grew = true; grew; ) {
    grew = false;
    groups.forEach((g, i) => {
      if (text.has(i) || !g.some((m) => m.candidate.characters >= 3)) return;
      const b = boxOf(g);
      const h = heightOf(g);
      for (const j of text) {
        const t = groups[j]!;
        const tb = boxOf(t);
        const th = heightOf(t);
        if (Math.max(h, th) > 1.5 * Math.min(h, th)) continue;
        const gap = Math.max(b.y - (tb.y + tb.height), tb.y - (b.y + b.height));
        if (gap > 1.6 * Math.max(h, th)) continue;
        const aligned = Math.abs(b.x - tb.x) <= Math.max(h, th);
        const overlapX = Math.min(b.x + b.width, tb.x + tb.width) - Math.max(b.x, tb.x);
        if (!aligned && overlapX < 0.5 * Math.min(b.width, tb.width)) continue;
        text.add(i);
        grew = true;
        break;
      }
    });
  }

  const regions: TextRegion[] = [];
  groups.forEach((g, i) => {
    const textLike = g.some((m) => m.candidate.textLike);
    const read = wordsOf.get(i);
    if (!text.has(i)) return;
    const x0 = Math.min(...g.map((m) => m.candidate.box.x));
    const y0 = Math.min(...g.map((m) => m.candidate.box.y));
    const x1 = Math.max(...g.map((m) => m.candidate.box.x + m.candidate.box.width));
    const y1 = Math.max(...g.map((m) => m.candidate.box.y + m.candidate.box.height));
    const charHeight = Math.max(...g.map((m) => m.candidate.charHeight));
    // Along the line, over characters of lower contrast, in each view where it was seen.
    let box: Box = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    for (const image of new Set(g.map((m) => m.image))) box = extendAlongLine(image, box, charHeight);
    // To the end of the line: ink (thin strokes) continuing it, e.g. a last character on an edge.
    for (const image of new Set(g.map((m) => m.image))) box = extendToLineEnd(image, box, charHeight);
    // Half a line above and below; a character's width more at each end, for a first or last
    // character that runs onto anatomy at a contrast too low to be found.
    const margin = Math.max(3, Math.ceil(charHeight * 0.5));
    const widened = { x: box.x - margin, y: box.y, width: box.width + 2 * margin, height: box.height };
    regions.push({
      box,
      blank: grow(widened, margin, desc.columns, desc.rows),
      textLike,
      charHeight,
      words: read?.length ?? 0,
      phi: phi !== undefined && read !== undefined && phi.matches(read),
    });
  });
  // Pieces left beside boxes, one per place (the same piece is seen in every frame and view),
  // blanked if the redaction goes on with the margin of their line.
  const pieces = mergeBoxes(leftovers.map((r) => r.box)).map((box): TextRegion => {
    const charHeight = Math.max(...leftovers.filter((r) => overlaps(r.box, box)).map((r) => r.charHeight));
    const blank = grow(box, Math.max(3, Math.ceil(charHeight * 0.5)), desc.columns, desc.rows);
    return { box, blank, textLike: true, charHeight, words: 0, phi: false };
  });
  return { frames: desc.frameCount, regions: [...regions, ...pieces], ocrCrops: crops.length, ocrMs };
}

/**
 * The blank boxes of the regions, overlapping ones merged; two regions of one line (overlapping
 * vertically, at most three character heights apart) are blanked with the gap between them, which
 * holds what the detector does not count as characters (commas, dots, hyphens).
 */
export function blankBoxes(regions: readonly TextRegion[]): Box[] {
  const boxes = regions.map((r) => r.blank);
  for (const [i, a] of regions.entries()) {
    for (const b of regions.slice(i + 1)) {
      const overlap = Math.min(a.box.y + a.box.height, b.box.y + b.box.height) - Math.max(a.box.y, b.box.y);
      if (overlap < 0.5 * Math.min(a.box.height, b.box.height)) continue;
      const gap = Math.max(b.box.x - (a.box.x + a.box.width), a.box.x - (b.box.x + b.box.width));
      if (gap > 3 * Math.max(a.charHeight, b.charHeight)) continue;
      boxes.push(union(a.blank, b.blank));
    }
  }
  return mergeBoxes(boxes);
}
