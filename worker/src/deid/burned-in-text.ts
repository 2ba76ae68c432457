/**
 * The burned-in text policy around deidentify() (docs/burned-in-text.md, decision 012):
 *
 *   quarantine  the pixels of every image to check are scanned; text found -> BURNED_IN_TEXT;
 *               none found -> processed, and the record says it was checked.
 *   redact      every text region found is blanked (with a margin) in the stored pixel data (native,
 *               or compressed data decoded, blanked and re-encoded losslessly); the OUTPUT is then
 *               scanned again, and any text still found -> BURNED_IN_TEXT_REMAINS. Never passed.
 *   blank       configured regions by modality, as before (no scan).
 *
 * Images to check: Burned In Annotation YES or a Secondary Capture SOP class whatever the modality,
 * and every image whose modality is not in `textScanSkipModalities` (CT, MR, PT, NM by default). An image flagged YES in which no
 * text is found is quarantined (BURNED_IN_ANNOTATION): the device says there is text the scan did
 * not see (handwriting, low contrast, text over anatomy), and a person looks at it.
 *
 * Every decode (the scan's frame loop, the re-encoding of compressed pixel data, the check of the
 * output) runs in `threads` when given: the job's pool threads, under the per-file deadline
 * (decision 019); a codec stuck there fails the file with ImagingError PROCESSING_TIMEOUT, never
 * the worker. OCR stays in this thread (its engine runs in its own worker, raced against the scan's
 * time budget).
 */
import { type DicomFile, getString, T } from '@medimg/dicom';
import { ImagingError } from '../imaging/errors.ts';
import { blankEncapsulated } from './blank-encapsulated.ts';
import { isSecondaryCapture } from './burned-in.ts';
import { DeidError, type DeidResult, deidentify } from './deidentify.ts';
import { HeaderPhi } from './header-phi.ts';
import type { TextReader } from './ocr.ts';
import type { BlankRegion, DeidOptions } from './options.ts';
import {
  blankBoxes,
  type CandidateFinder,
  type FrameCandidates,
  ScanError,
  type ScanLimits,
  scanForText,
  type TextRegion,
} from './text-scan.ts';

/** What the text check did to one image: counts and a closed vocabulary, never any text. */
export interface TextCheck {
  readonly checked: true;
  readonly frames: number;
  /** Text regions found in the original pixels. */
  readonly textBoxes: number;
  /** Of those, regions whose words matched a value of the original header. */
  readonly phiMatches: number;
  /** 'none': no text found; 'redacted': regions blanked and the output checked clean; 'quarantined'. */
  readonly action: 'none' | 'redacted' | 'quarantined';
  /** Milliseconds spent in OCR (both scans). */
  readonly ocrMs: number;
}

/** Thrown for a quarantined image; `check` is set when the pixels were scanned. */
export class TextCheckError extends Error {
  override readonly name = 'TextCheckError';
  constructor(
    readonly code: 'BURNED_IN_TEXT' | 'BURNED_IN_TEXT_REMAINS' | 'BURNED_IN_ANNOTATION' | string,
    message: string,
    readonly check?: TextCheck,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface TextCheckContext {
  readonly key: Uint8Array;
  readonly options: DeidOptions;
  readonly batchId?: string;
  readonly reader: TextReader;
  /** Where the decodes run (the job's pool threads, RenderPool.forFile); this thread when not set. */
  readonly threads?: PixelThreads;
}

/**
 * The pixel work of one file in other threads, under one deadline (RenderPool.forFile). A request
 * past the deadline rejects with ImagingError('PROCESSING_TIMEOUT'); any other failure with an
 * error carrying the thread's error name and code (and a DeidError's reason).
 */
export interface PixelThreads {
  findCandidates(
    file: DicomFile,
    limits: ScanLimits,
    blanked: readonly TextRegion[],
  ): Promise<FrameCandidates>;
  blankEncapsulated(file: DicomFile, regions: readonly BlankRegion[]): Promise<DicomFile>;
}

interface ThreadFailure {
  readonly code?: unknown;
  readonly reason?: unknown;
}

const isTimeout = (e: unknown): boolean => e instanceof ImagingError && e.code === 'PROCESSING_TIMEOUT';

/** The scan's frame loop in `threads`; its failures as the ScanError the loop throws here. */
const finderIn =
  (threads: PixelThreads): CandidateFinder =>
  async (file, limits, blanked) => {
    try {
      return await threads.findCandidates(file, limits, blanked);
    } catch (e) {
      if (isTimeout(e)) throw e;
      const code = (e as ThreadFailure | undefined)?.code;
      throw new ScanError(
        typeof code === 'string' ? code : 'PIXEL_DECODE_FAILED',
        'a frame cannot be scanned',
        {
          cause: e,
        },
      );
    }
  };

const flaggedYes = (file: DicomFile): boolean =>
  (getString(file.dataset, T.BurnedInAnnotation) ?? '').toUpperCase() === 'YES';

/** Whether the policy scans this image's pixels. */
export function needsTextScan(file: DicomFile, options: DeidOptions): boolean {
  if (options.burnedInPolicy === 'blank') return false;
  if (!file.dataset.has(T.PixelData)) return false;
  if (flaggedYes(file)) return true;
  // Secondary Capture (screenshots, scanned documents) whatever its modality.
  if (isSecondaryCapture(file.dataset)) return true;
  const modality = (getString(file.dataset, T.Modality) ?? '').toUpperCase();
  return !options.textScanSkipModalities.some((m) => m.toUpperCase() === modality);
}

const limitsOf = (o: DeidOptions): ScanLimits => ({
  maxPixels: o.textScanMaxPixels,
  timeoutMs: o.textScanTimeoutMs,
  maxOcrCrops: 80,
});

/**
 * De-identifies one object under the burned-in text policy. Throws DeidError (from deidentify or
 * blankEncapsulated), ScanError (a frame cannot be decoded, too large, OCR failed) or TextCheckError.
 */
export async function deidentifyCheckingText(
  file: DicomFile,
  ctx: TextCheckContext,
): Promise<{ result: DeidResult; check?: TextCheck }> {
  const o = ctx.options;
  const deidCtx = {
    key: ctx.key,
    options: o,
    ...(ctx.batchId !== undefined ? { batchId: ctx.batchId } : {}),
  };
  const blank = blankerIn(ctx.threads);
  if (o.burnedInPolicy === 'blank') return { result: await finish(deidentify(file, deidCtx), blank) };
  if (!needsTextScan(file, o)) return { result: deidentify(file, { ...deidCtx, textRegions: [] }) };

  const limits = limitsOf(o);
  const find = ctx.threads ? finderIn(ctx.threads) : undefined;
  const scan = await scanForText(file, ctx.reader, new HeaderPhi(file.dataset), limits, 'find', [], find);
  const found = scan.regions;
  const base = {
    checked: true as const,
    frames: scan.frames,
    textBoxes: found.length,
    phiMatches: found.filter((r) => r.phi).length,
  };
  if (found.length === 0) {
    if (flaggedYes(file)) {
      throw new TextCheckError(
        'BURNED_IN_ANNOTATION',
        'the image is flagged Burned In Annotation YES and the scan found no text: a person checks it',
        { ...base, action: 'quarantined', ocrMs: scan.ocrMs },
      );
    }
    return {
      result: deidentify(file, { ...deidCtx, textRegions: [] }),
      check: { ...base, action: 'none', ocrMs: scan.ocrMs },
    };
  }
  if (o.burnedInPolicy === 'quarantine') {
    throw new TextCheckError('BURNED_IN_TEXT', 'text was found in the pixels; policy is quarantine', {
      ...base,
      action: 'quarantined',
      ocrMs: scan.ocrMs,
    });
  }

  // Blank, then scan the OUTPUT again; what that re-check finds (a line of the block that the
  // blanked text hid from the detector, a piece of a character beside a box) is blanked too, from
  // the original, and the output checked again: passed only when a re-check finds nothing.
  let regions: readonly TextRegion[] = found;
  let ocrMs = scan.ocrMs;
  for (let round = 1; ; round++) {
    const result = await finish(deidentify(file, { ...deidCtx, textRegions: blankBoxes(regions) }), blank);
    let again: Awaited<ReturnType<typeof scanForText>>;
    try {
      again = await scanForText(result.file, ctx.reader, undefined, limits, 'verify', regions, find);
    } catch (e) {
      if (e instanceof ScanError) {
        throw new TextCheckError(e.code, 'the redacted image cannot be checked again', undefined, {
          cause: e,
        });
      }
      throw e;
    }
    ocrMs += again.ocrMs;
    const counts = { ...base, textBoxes: regions.length };
    if (again.regions.length === 0) return { result, check: { ...counts, action: 'redacted', ocrMs } };
    if (round >= REDACT_ROUNDS) {
      throw new TextCheckError('BURNED_IN_TEXT_REMAINS', 'text is still found after redaction', {
        ...counts,
        action: 'quarantined',
        ocrMs,
      });
    }
    regions = [...regions, ...again.regions];
  }
}

type Blanker = (file: DicomFile, regions: readonly BlankRegion[]) => Promise<DicomFile>;

/**
 * blankEncapsulated here, or in `threads`: there a failure comes back as its DeidError (reason
 * kept); a thread that died is refused like a frame that cannot be decoded; a timeout passes as is.
 */
function blankerIn(threads: PixelThreads | undefined): Blanker {
  if (!threads) return blankEncapsulated;
  return async (file, regions) => {
    try {
      return await threads.blankEncapsulated(file, regions);
    } catch (e) {
      if (isTimeout(e)) throw e;
      const { code, reason } = (e ?? {}) as ThreadFailure;
      const why = typeof reason === 'string' ? reason : typeof code === 'string' ? code : 'BLANK_FAILED';
      throw new DeidError(
        'BURNED_IN_ANNOTATION',
        'image may carry burned-in text; the compressed pixel data cannot be blanked',
        { reason: why, cause: e },
      );
    }
  };
}

/**
 * Redactions at most per image: the first, and two more for what each re-check of the output still
 * finds; text found by the last re-check quarantines the image (BURNED_IN_TEXT_REMAINS).
 */
const REDACT_ROUNDS = 3;

/** Compressed pixel data with regions to blank: decoded, blanked, re-encoded natively (or refused). */
async function finish(r: DeidResult, blank: Blanker): Promise<DeidResult> {
  if (!r.blankingPending) return r;
  return { ...r, file: await blank(r.file, r.needsBlanking ?? []), blankingPending: false };
}

export { DeidError, ScanError };
