/**
 * OCR of candidate text regions with tesseract.js, offline: the traineddata comes from the npm
 * packages @tesseract.js-data/eng and /fra (no download at run time, no cache written). One engine
 * per process, created on first use and terminated by `close()` at shutdown.
 *
 * Every crop of an image goes into ONE recognition call: the crops are scaled so that characters are
 * about 32 px high (what Tesseract reads best), turned dark-on-white, and stacked with white gaps;
 * words are mapped back to their crop by position. One call costs a fraction of a whole frame.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { loadSharp } from '../imaging/sharp.ts';
import type { Box, GreyImage } from './text-detect.ts';

export interface OcrWord {
  readonly text: string;
  /** 0-100, Tesseract's word confidence. */
  readonly confidence: number;
}

/** A region to read: the grey frame, the box in it, and whether the text is lighter than its background. */
export interface OcrCrop {
  readonly image: GreyImage;
  readonly box: Box;
  readonly polarity: 'bright' | 'dark';
  readonly charHeight: number;
}

/** The port the scanner uses; tests may pass a real engine with other languages. */
export interface TextReader {
  /** The words read in each crop, in the order given. */
  readCrops(crops: readonly OcrCrop[]): Promise<OcrWord[][]>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const TARGET_CHAR_HEIGHT = 32;
const GAP = 24;
const MAX_STACK_WIDTH = 2400;

type TesseractWorker = Awaited<ReturnType<typeof import('tesseract.js').createWorker>>;

/** Language packages that ship traineddata (eng about 11 MB, fra about 6 MB, gzipped). */
const LANGUAGE_PACKAGES: Readonly<Record<string, string>> = {
  eng: '@tesseract.js-data/eng',
  fra: '@tesseract.js-data/fra',
};

export class TesseractReader implements TextReader {
  private worker: Promise<TesseractWorker> | undefined;
  private dataDir: string | undefined;
  /** One recognition at a time: files processed concurrently share the engine. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly languages: readonly string[] = ['eng', 'fra']) {
    for (const l of languages) {
      if (!LANGUAGE_PACKAGES[l]) throw new Error(`no traineddata package for OCR language ${l}`);
    }
  }

  private engine(): Promise<TesseractWorker> {
    this.worker ??= (async () => {
      const { createWorker, OEM, PSM } = await import('tesseract.js');
      // tesseract.js reads every language from one folder: a private temporary folder of links to
      // the packages' files (nothing is fetched, nothing cached), removed again by close().
      const dir = await mkdtemp(path.join(os.tmpdir(), 'medimg-ocr-'));
      this.dataDir = dir;
      for (const code of this.languages) {
        const { langPath } = require(LANGUAGE_PACKAGES[code]!) as { langPath: string };
        await symlink(
          path.join(langPath, `${code}.traineddata.gz`),
          path.join(dir, `${code}.traineddata.gz`),
        );
      }
      const worker = await createWorker([...this.languages], OEM.LSTM_ONLY, {
        langPath: dir,
        gzip: true,
        cacheMethod: 'none',
        logger: () => {},
        errorHandler: () => {},
      });
      await worker.setParameters({
        tessedit_pageseg_mode: PSM.SINGLE_BLOCK,
        preserve_interword_spaces: '1',
        user_defined_dpi: '300',
      });
      return worker;
    })();
    return this.worker;
  }

  async readCrops(crops: readonly OcrCrop[]): Promise<OcrWord[][]> {
    const out: OcrWord[][] = crops.map(() => []);
    if (crops.length === 0) return out;
    const prepared = await Promise.all(crops.map(prepareCrop));
    // Stacks of at most MAX_STACK_WIDTH x about 4000 px, one recognition each.
    let start = 0;
    while (start < prepared.length) {
      let end = start;
      let height = GAP;
      while (end < prepared.length && (end === start || height + prepared[end]!.height + GAP < 4000)) {
        height += prepared[end]!.height + GAP;
        end++;
      }
      const parts = prepared.slice(start, end);
      const offset = start;
      const turn = this.queue.then(() => this.readStack(parts, out, offset));
      this.queue = turn.catch(() => undefined);
      await turn;
      start = end;
    }
    return out;
  }

  private async readStack(parts: readonly Prepared[], out: OcrWord[][], offset: number): Promise<void> {
    const width = Math.min(MAX_STACK_WIDTH, Math.max(...parts.map((p) => p.width)) + 2 * GAP);
    const tops: number[] = [];
    let y = GAP;
    for (const p of parts) {
      tops.push(y);
      y += p.height + GAP;
    }
    const sharp = loadSharp();
    const png = await sharp({
      create: { width, height: y, channels: 3, background: { r: 255, g: 255, b: 255 } },
    })
      .composite(parts.map((p, i) => ({ input: p.png, left: GAP, top: tops[i]! })))
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const worker = await this.engine();
    const result = await worker.recognize(png, {}, { blocks: true, text: false });
    for (const block of result.data.blocks ?? []) {
      for (const para of block.paragraphs) {
        for (const line of para.lines) {
          for (const word of line.words) {
            const cy = (word.bbox.y0 + word.bbox.y1) / 2;
            const i = tops.findIndex((t, k) => cy >= t - GAP / 2 && cy < t + parts[k]!.height + GAP / 2);
            if (i < 0) continue;
            out[offset + i]!.push({ text: word.text, confidence: word.confidence });
          }
        }
      }
    }
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await (await w).terminate();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
    this.dataDir = undefined;
  }
}

interface Prepared {
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
}

/** The crop (with a small margin), scaled to TARGET_CHAR_HEIGHT, dark text on white. */
async function prepareCrop(c: OcrCrop): Promise<Prepared> {
  const margin = Math.max(2, Math.round(c.charHeight * 0.4));
  const x0 = Math.max(0, c.box.x - margin);
  const y0 = Math.max(0, c.box.y - margin);
  const x1 = Math.min(c.image.width, c.box.x + c.box.width + margin);
  const y1 = Math.min(c.image.height, c.box.y + c.box.height + margin);
  const w = x1 - x0;
  const h = y1 - y0;
  const pixels = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * c.image.width + x0;
    pixels.set(c.image.pixels.subarray(row, row + w), y * w);
  }
  if (c.polarity === 'bright') for (let i = 0; i < pixels.length; i++) pixels[i] = 255 - pixels[i]!;
  const scale = Math.min(4, Math.max(0.5, TARGET_CHAR_HEIGHT / Math.max(1, c.charHeight)));
  let width = Math.max(1, Math.round(w * scale));
  let height = Math.max(1, Math.round(h * scale));
  if (width > MAX_STACK_WIDTH - 2 * GAP) {
    const s = (MAX_STACK_WIDTH - 2 * GAP) / width;
    width = Math.max(1, Math.floor(width * s));
    height = Math.max(1, Math.floor(height * s));
  }
  const sharp = loadSharp();
  const png = await sharp(pixels, { raw: { width: w, height: h, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .normalise()
    .toColourspace('b-w')
    .png()
    .toBuffer();
  return { png, width, height };
}

let shared: TesseractReader | undefined;

/** The process's one OCR engine (English and French), created on first use. */
export function sharedTextReader(): TextReader {
  shared ??= new TesseractReader(['eng', 'fra']);
  return shared;
}

/** Terminates the shared engine, if one was started (at shutdown). */
export async function closeSharedTextReader(): Promise<void> {
  const r = shared;
  shared = undefined;
  if (r) await r.close();
}
