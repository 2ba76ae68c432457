import {
  type InstanceAttributes,
  linkageKeys,
  type ObjectStore,
  processedKeys,
  REASON_CODES,
  type ReasonCode,
  rawKeys,
  codeOf as stableCodeOf,
} from '@medimg/common';
import {
  type DataSet,
  type DicomFile,
  DicomParseError,
  getNumber,
  getString,
  parseDicom,
  STRING_VRS,
  T,
  writePart10,
} from '@medimg/dicom';
import {
  deidentifyCheckingText,
  type PixelThreads,
  type TextCheck,
  TextCheckError,
} from '../deid/burned-in-text.ts';
import { DeidError } from '../deid/deidentify.ts';
import { sharedTextReader, type TextReader } from '../deid/ocr.ts';
import type { DeidOptions } from '../deid/options.ts';
import { keyedInputId } from '../deid/pseudonyms.ts';
import { ImagingError } from '../imaging/errors.ts';
import { type RenderedImage, renderImage } from '../imaging/render.ts';
import { scopeAttributes } from './scope.ts';
import type { StepName } from './status.ts';

/** The stable code of an error for the job record, never its message. */
const codeOf = (error: unknown): string => stableCodeOf(error, 'INTERNAL_ERROR');

/** Where each input ends (DESIGN D2): processed, quarantined with a reason, or failed with an error code. */
export type FileResult =
  | { readonly status: 'processed'; readonly instance: ProcessedInstance }
  | {
      readonly status: 'quarantined';
      readonly reason: ReasonCode;
      readonly step: StepName;
      /** Set when the pixels were scanned for burned-in text before the file was quarantined. */
      readonly textCheck?: TextCheck;
    }
  | { readonly status: 'failed'; readonly errorCode: string; readonly step: StepName };

export interface ProcessedInstance {
  readonly study: string;
  readonly series: string;
  readonly sop: string;
  readonly modality?: string;
  readonly bodyPart?: string;
  readonly instanceNumber?: number;
  /** Burned-in text check (counts and action only), when the policy scanned the pixels. */
  readonly textCheck?: TextCheck;
  /** Scope attributes from the de-identified header (modality, body part, SOP class, size, spacing). */
  readonly attributes?: InstanceAttributes;
  /** The model input PNG, kept for the infer step; absent for objects without an image. */
  readonly modelInput?: Uint8Array;
  readonly keys: {
    readonly instance: string;
    readonly preview?: string;
    readonly thumbnail?: string;
    readonly modelInput?: string;
  };
}

export interface FileContext {
  readonly jobId: string;
  readonly batchId?: string;
  readonly rawBucket: string;
  readonly processedBucket: string;
  readonly linkageBucket: string;
  readonly store: ObjectStore;
  /** Where inputs are read and quarantined originals go; the store above when not set. */
  readonly rawStore?: ObjectStore;
  readonly deid: {
    readonly key: Uint8Array;
    readonly options: DeidOptions;
    /** OCR for the burned-in text scan; the process's shared engine when not set. */
    readonly reader?: TextReader;
  };
  readonly maxObjectBytes: number;
  /**
   * Memory budget in DECODED bytes for one input: an inflated data set, or one decoded image frame.
   * An input whose expansion would pass it is quarantined (DECODED_SIZE_LIMIT) before it is
   * decoded whole. Default 256 MiB.
   */
  readonly maxDecodedBytes?: number;
  /**
   * Linkage writes of this job by key: the record is the same for every instance of a study, so
   * it is written once per job (and every file of the study waits for that one write).
   */
  readonly linkageWrites?: Map<string, Promise<boolean>>;
  /**
   * Renders the normalize step's images. The job passes a RenderPool's (a worker thread with a
   * per-file deadline, decision 019); renderImage in this thread when not set.
   */
  readonly render?: (file: DicomFile) => Promise<RenderedImage>;
  /**
   * Renders from the de-identified object's Part 10 bytes, which the renderer may move and must give
   * back (RenderPool.renderPart10: moved to its thread and back, not copied); used before `render`
   * when set. The bytes given back are the ones stored.
   */
  readonly renderPart10?: (part10: Uint8Array) => Promise<{ image: RenderedImage; part10: Uint8Array }>;
  /**
   * Where the de-identify step's decodes run: the burned-in text scan's frame loop, the re-encoding
   * of blanked compressed pixel data and the check of the output. The job passes the same
   * RenderPool.forFile() handle as `render`, so every decode of the file shares one deadline
   * (decision 019); this thread when not set.
   */
  readonly pixelThreads?: PixelThreads;
  /** Called with each step's duration, for the job record. */
  readonly onStep: (step: StepName, ok: boolean, ms: number) => void;
}

export interface FileInput {
  readonly index: number;
  readonly key: string;
  readonly size: number;
}

/** The id of an input in every output: keyed (HMAC under the de-identification key), never the key. */
export const inputIdOf = (key: Uint8Array, rawKey: string): string => keyedInputId(key, rawKey);

class Quarantine {
  constructor(
    readonly reason: ReasonCode,
    readonly step: StepName,
    readonly textCheck?: TextCheck,
  ) {}
}

function reasonOf(error: unknown, fallback: ReasonCode): ReasonCode {
  const code = (error as { code?: unknown } | undefined)?.code;
  // The modules' error codes are reason codes by design (common/src/outcomes.ts lists them).
  return typeof code === 'string' && Object.hasOwn(REASON_CODES, code) ? (code as ReasonCode) : fallback;
}

async function timed<T>(ctx: FileContext, step: StepName, work: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  try {
    const out = await work();
    ctx.onStep(step, true, performance.now() - start);
    return out;
  } catch (error) {
    ctx.onStep(step, false, performance.now() - start);
    throw error;
  }
}

const toBytes = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/**
 * fetch -> parse -> de-identify -> normalize -> store, for one input. Never throws: every input
 * ends as a FileResult. Quarantined originals are copied to the raw bucket's quarantine/ (they may
 * hold PHI); the processed bucket gets the reason only, keyed by job and input id.
 */
export async function processFile(input: FileInput, ctx: FileContext): Promise<FileResult> {
  const inputId = inputIdOf(ctx.deid.key, input.key);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await timed(ctx, 'fetch', async () => {
      if (input.size > ctx.maxObjectBytes) throw new Quarantine('DICOM_TOO_LARGE', 'fetch');
      return (ctx.rawStore ?? ctx.store).get(ctx.rawBucket, input.key);
    });
    const source = bytes;
    const parsed = await timed(ctx, 'parse', () => {
      try {
        const file = parseDicom(source, {
          maxBytes: ctx.maxObjectBytes,
          maxInflatedBytes: ctx.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES,
        });
        requireIdentifiers(file);
        requireWellFormedText(file.dataset);
        return file;
      } catch (error) {
        if (error instanceof Quarantine) throw error;
        if (error instanceof DicomParseError)
          throw new Quarantine(reasonOf(error, 'DICOM_MALFORMED'), 'parse');
        throw new Quarantine('DICOM_MALFORMED', 'parse');
      }
    });
    const { result: deid, check: textCheck } = await timed(ctx, 'deidentify', async () => {
      // The burned-in text scan decodes every frame: the decoded-size budget holds before it.
      if (decodedFrameBytes(parsed) > (ctx.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES)) {
        throw new Quarantine('DECODED_SIZE_LIMIT', 'deidentify');
      }
      try {
        // Burned-in text policy: scan, redact and re-check, or blank configured regions (or refuse).
        return await deidentifyCheckingText(parsed, {
          key: ctx.deid.key,
          options: ctx.deid.options,
          reader: ctx.deid.reader ?? sharedTextReader(),
          ...(ctx.batchId !== undefined ? { batchId: ctx.batchId } : {}),
          ...(ctx.pixelThreads ? { threads: ctx.pixelThreads } : {}),
        });
      } catch (error) {
        if (error instanceof TextCheckError) {
          throw new Quarantine(reasonOf(error, 'BURNED_IN_TEXT'), 'deidentify', error.check);
        }
        if (error instanceof DeidError) throw new Quarantine(reasonOf(error, 'DEID_FAILED'), 'deidentify');
        // ScanError: a frame that cannot be decoded (the decoder's code), too large, OCR failed;
        // ImagingError PROCESSING_TIMEOUT: a decode in a pool thread passed the file's deadline.
        throw new Quarantine(reasonOf(error, 'DEID_FAILED'), 'deidentify');
      }
    });
    // The de-identified object as stored, serialised once: the render thread gets these bytes.
    let part10: Uint8Array | undefined;
    const rendered = await timed(ctx, 'normalize', async (): Promise<RenderedImage | undefined> => {
      if (decodedFrameBytes(deid.file) > (ctx.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES)) {
        throw new Quarantine('DECODED_SIZE_LIMIT', 'normalize');
      }
      try {
        if (ctx.renderPart10) {
          let bytes: Uint8Array | undefined;
          try {
            bytes = writePart10(deid.file);
          } catch {
            // Not serialisable: rendered from the parsed form below; the store step reports the error.
          }
          if (bytes) {
            const answer = await ctx.renderPart10(bytes);
            part10 = answer.part10;
            return answer.image;
          }
        }
        return await (ctx.render ?? renderImage)(deid.file);
      } catch (error) {
        if (error instanceof ImagingError && error.code === 'NO_PIXEL_DATA') return undefined;
        if (error instanceof ImagingError)
          throw new Quarantine(reasonOf(error, 'PIXEL_DECODE_FAILED'), 'normalize');
        throw new Quarantine('PIXEL_DECODE_FAILED', 'normalize');
      }
    });
    const { studyUid: study, seriesUid: series, sopUid: sop } = deid.ids;
    const instance = await timed(ctx, 'store', async (): Promise<ProcessedInstance> => {
      const keys = {
        instance: processedKeys.instance(study, series, sop),
        ...(rendered
          ? {
              preview: processedKeys.preview(study, series, sop),
              thumbnail: processedKeys.thumbnail(study, series, sop),
              modelInput: processedKeys.modelInput(study, series, sop),
            }
          : {}),
      };
      const puts: Promise<boolean>[] = [
        ctx.store.put(ctx.processedBucket, keys.instance, part10 ?? writePart10(deid.file), {
          contentType: 'application/dicom',
        }),
        writeLinkage(ctx, linkageKeys.study(deid.ids.patientId, study), deid.linkage),
      ];
      if (rendered && keys.preview && keys.thumbnail && keys.modelInput) {
        puts.push(
          ctx.store.put(ctx.processedBucket, keys.preview, toBytes(rendered.preview), {
            contentType: 'image/png',
          }),
          ctx.store.put(ctx.processedBucket, keys.thumbnail, toBytes(rendered.thumbnail), {
            contentType: 'image/png',
          }),
          ctx.store.put(ctx.processedBucket, keys.modelInput, toBytes(rendered.modelInput), {
            contentType: 'image/png',
          }),
        );
      }
      await Promise.all(puts);
      const instanceNumber = Number.parseInt(getString(deid.file.dataset, T.InstanceNumber) ?? '', 10);
      return {
        study,
        series,
        sop,
        modality: deid.modality,
        bodyPart: deid.bodyPart,
        ...(Number.isFinite(instanceNumber) ? { instanceNumber } : {}),
        ...(textCheck ? { textCheck } : {}),
        attributes: scopeAttributes(deid.file),
        ...(rendered ? { modelInput: toBytes(rendered.modelInput) } : {}),
        keys,
      };
    });
    return { status: 'processed', instance };
  } catch (error) {
    if (error instanceof Quarantine) {
      try {
        await quarantine(input, inputId, error, bytes, ctx);
        return {
          status: 'quarantined',
          reason: error.reason,
          step: error.step,
          ...(error.textCheck ? { textCheck: error.textCheck } : {}),
        };
      } catch (storeError) {
        return { status: 'failed', errorCode: codeOf(storeError), step: error.step };
      }
    }
    const step: StepName = bytes === undefined ? 'fetch' : 'store';
    return { status: 'failed', errorCode: step === 'fetch' ? 'FETCH_FAILED' : codeOf(error), step };
  }
}

export const DEFAULT_MAX_DECODED_BYTES = 256 * 1024 ** 2;

/** Bytes of one decoded frame as the header announces it (0 without an image). */
function decodedFrameBytes(file: DicomFile): number {
  const ds = file.dataset;
  const order = file.transferSyntax.byteOrder;
  const rows = getNumber(ds, T.Rows, order) ?? 0;
  const columns = getNumber(ds, T.Columns, order) ?? 0;
  const samples = getNumber(ds, T.SamplesPerPixel, order) ?? 1;
  const bits = getNumber(ds, T.BitsAllocated, order) ?? 8;
  return rows * columns * samples * Math.max(1, Math.ceil(bits / 8));
}

function writeLinkage(ctx: FileContext, key: string, record: unknown): Promise<boolean> {
  const pending = ctx.linkageWrites?.get(key);
  if (pending) return pending;
  const write = ctx.store.put(ctx.linkageBucket, key, JSON.stringify(record, null, 2), {
    contentType: 'application/json',
  });
  ctx.linkageWrites?.set(key, write);
  return write;
}

function requireIdentifiers(file: DicomFile): void {
  for (const t of [T.SOPInstanceUID, T.StudyInstanceUID, T.SeriesInstanceUID]) {
    if (!getString(file.dataset, t)) throw new Quarantine('MISSING_REQUIRED_ATTRIBUTE', 'parse');
  }
}

/** Control characters no text VR allows (ESC for ISO 2022, TAB LF FF CR for the long texts excepted). */
const isStrayControl = (c: number): boolean =>
  c < 0x20 && c !== 0x1b && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d;

/**
 * Text values with control characters inside them (trailing NUL or space padding aside) are the
 * mark of a broken length: the value has swallowed the elements that follow it, names included, and
 * an attribute kept by the safe list would carry them out (found by the fuzzer, issue 19). No file
 * of the public corpus has one; the input is quarantined as malformed.
 */
function requireWellFormedText(ds: DataSet): void {
  for (const el of ds.values()) {
    if (el.items) for (const item of el.items) requireWellFormedText(item);
    if (!STRING_VRS.has(el.vr)) continue;
    const v = el.value;
    let end = v.length;
    while (end > 0 && (v[end - 1] === 0 || v[end - 1] === 0x20)) end--;
    for (let i = 0; i < end; i++) {
      if (isStrayControl(v[i]!)) throw new Quarantine('DICOM_MALFORMED', 'parse');
    }
  }
}

async function quarantine(
  input: FileInput,
  inputId: string,
  q: Quarantine,
  bytes: Uint8Array | undefined,
  ctx: FileContext,
): Promise<void> {
  const reason = { jobId: ctx.jobId, inputId, index: input.index, reason: q.reason, step: q.step };
  // The raw bucket already holds PHI: the original and its key stay there, for authorized review.
  const raw = ctx.rawStore ?? ctx.store;
  if (bytes) await raw.put(ctx.rawBucket, rawKeys.quarantineObject(ctx.jobId, inputId), bytes);
  await raw.put(
    ctx.rawBucket,
    rawKeys.quarantineReason(ctx.jobId, inputId),
    JSON.stringify({ ...reason, rawKey: input.key }, null, 2),
    { contentType: 'application/json' },
  );
  await ctx.store.put(
    ctx.processedBucket,
    processedKeys.quarantine(ctx.jobId, inputId),
    JSON.stringify(reason, null, 2),
    {
      contentType: 'application/json',
    },
  );
}
