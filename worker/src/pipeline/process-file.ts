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
  type DicomFile,
  DicomParseError,
  getNumber,
  getString,
  parseDicom,
  T,
  writePart10,
} from '@medimg/dicom';
import { blankEncapsulated } from '../deid/blank-encapsulated.ts';
import { DeidError, deidentify } from '../deid/deidentify.ts';
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
  | { readonly status: 'quarantined'; readonly reason: ReasonCode; readonly step: StepName }
  | { readonly status: 'failed'; readonly errorCode: string; readonly step: StepName };

export interface ProcessedInstance {
  readonly study: string;
  readonly series: string;
  readonly sop: string;
  readonly modality?: string;
  readonly bodyPart?: string;
  readonly instanceNumber?: number;
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
  readonly deid: { readonly key: Uint8Array; readonly options: DeidOptions };
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
        return file;
      } catch (error) {
        if (error instanceof Quarantine) throw error;
        if (error instanceof DicomParseError)
          throw new Quarantine(reasonOf(error, 'DICOM_MALFORMED'), 'parse');
        throw new Quarantine('DICOM_MALFORMED', 'parse');
      }
    });
    const deid = await timed(ctx, 'deidentify', async () => {
      try {
        const r = deidentify(parsed, { key: ctx.deid.key, options: ctx.deid.options, batchId: ctx.batchId });
        // Compressed pixel data with burned-in text: decoded, blanked, re-encoded natively (or refused).
        if (!r.blankingPending) return r;
        return { ...r, file: await blankEncapsulated(r.file, r.needsBlanking ?? []), blankingPending: false };
      } catch (error) {
        if (error instanceof DeidError) throw new Quarantine(reasonOf(error, 'DEID_FAILED'), 'deidentify');
        throw new Quarantine('DEID_FAILED', 'deidentify');
      }
    });
    const rendered = await timed(ctx, 'normalize', async (): Promise<RenderedImage | undefined> => {
      if (decodedFrameBytes(deid.file) > (ctx.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES)) {
        throw new Quarantine('DECODED_SIZE_LIMIT', 'normalize');
      }
      try {
        return await renderImage(deid.file);
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
        ctx.store.put(ctx.processedBucket, keys.instance, writePart10(deid.file), {
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
        return { status: 'quarantined', reason: error.reason, step: error.step };
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
