/**
 * Runs the burned-in text policy on generated cases and scores it against the truth (where text was
 * drawn): recall (text images whose text is gone: processed with every text pixel blanked, or
 * quarantined), leaks (processed with a text pixel left), redacted-and-processed, false alarms
 * (clean images altered or quarantined), and time. Shared by the tests and `npm run bench`.
 */
import { decodeFrame } from '../../imaging/decode.ts';
import { deidentifyCheckingText, type TextCheck } from '../burned-in-text.ts';
import type { TextReader } from '../ocr.ts';
import { parseDeidOptions } from '../options.ts';
import type { TextImageCase } from './text-images.ts';

export interface CaseOutcome {
  readonly name: string;
  readonly text: boolean;
  readonly status: 'processed' | 'quarantined';
  readonly reason?: string;
  readonly check?: TextCheck;
  /** Text images processed: share of drawn text pixels that are blank (0) in the output. */
  readonly blankedShare?: number;
  /** Clean images processed: whether any pixel changed. */
  readonly altered?: boolean;
  readonly ms: number;
}

export interface Score {
  readonly textImages: number;
  readonly cleanImages: number;
  /** Text images whose text did not leave (processed fully blanked, or quarantined). */
  readonly textGone: number;
  /** Text images processed with their text redacted. */
  readonly redacted: number;
  /** Text images processed with some text pixel left. */
  readonly leaks: number;
  /** Clean images altered or quarantined. */
  readonly falseAlarms: number;
  readonly msPerImage: number;
  readonly ocrMsPerImage: number;
}

const KEY = new Uint8Array(32).fill(9);

async function samples(
  c: TextImageCase,
  file: TextImageCase['file'],
): Promise<(number[] | ArrayLike<number>)[]> {
  const out = [];
  for (let f = 0; f < c.frames; f++) out.push((await decodeFrame(file, f)).pixels as ArrayLike<number>);
  return out;
}

export async function runCase(c: TextImageCase, reader: TextReader): Promise<CaseOutcome> {
  const options = parseDeidOptions({ burnedInPolicy: 'redact' });
  const start = performance.now();
  try {
    const { result, check } = await deidentifyCheckingText(c.file, { key: KEY, options, reader });
    const ms = performance.now() - start;
    const after = await samples(c, result.file);
    const spp = c.kind === 'vl-colour' ? 3 : 1;
    if (c.lines > 0) {
      let blank = 0;
      let total = 0;
      c.textPixels.forEach((px, f) => {
        for (const k of px) {
          total++;
          let zero = true;
          for (let s = 0; s < spp; s++) if (after[f]![k * spp + s] !== 0) zero = false;
          if (zero) blank++;
        }
      });
      return {
        name: c.name,
        text: true,
        status: 'processed',
        ...(check ? { check } : {}),
        blankedShare: total ? blank / total : 1,
        ms,
      };
    }
    const before = await samples(c, c.file);
    const altered = before.some((b, f) => {
      const a = after[f]!;
      for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return true;
      return false;
    });
    return { name: c.name, text: false, status: 'processed', ...(check ? { check } : {}), altered, ms };
  } catch (e) {
    const err = e as { code?: string; check?: TextCheck };
    return {
      name: c.name,
      text: c.lines > 0,
      status: 'quarantined',
      reason: err.code ?? 'UNKNOWN',
      ...(err.check ? { check: err.check } : {}),
      ms: performance.now() - start,
    };
  }
}

export function score(outcomes: readonly CaseOutcome[]): Score {
  const text = outcomes.filter((o) => o.text);
  const clean = outcomes.filter((o) => !o.text);
  const full = (o: CaseOutcome) => o.status === 'processed' && o.blankedShare === 1;
  return {
    textImages: text.length,
    cleanImages: clean.length,
    textGone: text.filter((o) => o.status === 'quarantined' || full(o)).length,
    redacted: text.filter(full).length,
    leaks: text.filter((o) => o.status === 'processed' && o.blankedShare !== 1).length,
    falseAlarms: clean.filter((o) => o.status === 'quarantined' || o.altered).length,
    msPerImage: outcomes.reduce((s, o) => s + o.ms, 0) / Math.max(1, outcomes.length),
    ocrMsPerImage: outcomes.reduce((s, o) => s + (o.check?.ocrMs ?? 0), 0) / Math.max(1, outcomes.length),
  };
}
