/**
 * The upload API's core (DESIGN D1): routes in, JSON out, the buckets behind the UploadStore port.
 * The Lambda entry (lambda.ts) and the local HTTP server (local-server.ts) adapt their requests to
 * `ApiRequest` and both hand the caller's verified identity in; this file does no authentication.
 *
 *   GET  /limits                  what this deployment allows (the client plans parts from it)
 *   POST /batches                 announce files; a batch id and presigned upload URLs come back
 *   POST /batches/{id}/urls       fresh URLs for some files (expired, resumed, re-uploaded)
 *   POST /batches/{id}/complete   check every file, then write the manifest that starts the job
 *   GET  /batches/{id}            the batch's state and results, nothing that identifies a patient
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  deriveJobId,
  MANAGED_BATCH_ID_PATTERN,
  MANIFEST_WRITER_METADATA,
  processedKeys,
  rawKeys,
  type UploadManifest,
} from '@medimg/common';
import { z } from 'zod';
import {
  type BatchStatus,
  CompleteRequestSchema,
  CreateBatchRequestSchema,
  hexToBase64,
  type Limits,
  partPlan,
  partRange,
  SHA256_HEX,
  type UploadTarget,
  type UploadUrlsResponse,
  UrlsRequestSchema,
} from './contract.ts';
import { ApiError, errorCode } from './errors.ts';
import type { AuditLogger } from './logger.ts';
import type { UploadStore } from './ports.ts';

export interface ApiRequest {
  readonly method: string;
  /** Path without the stage, e.g. `/batches/b-.../complete`. */
  readonly path: string;
  readonly body: string | undefined;
  /**
   * The authenticated caller (an IAM principal ARN from SigV4), or undefined when the request was
   * not authenticated. A batch belongs to the caller that created it.
   */
  readonly caller: string | undefined;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface UploadApiConfig {
  readonly rawBucket: string;
  readonly processedBucket: string;
  readonly limits: Limits;
  /** Request bodies above this are refused with 413 (API Gateway itself stops at 10 MB). */
  readonly maxBodyBytes: number;
}

export interface UploadApiDeps {
  readonly store: UploadStore;
  readonly config: UploadApiConfig;
  readonly audit: AuditLogger;
  readonly clock?: () => Date;
  /** Random batch ids; never derived from what the caller sends. */
  readonly newBatchId?: (now: Date) => string;
}

export type UploadApi = (request: ApiRequest) => Promise<ApiResponse>;

/** `b-<yyyymmdd>-<20 random hex digits>`: matches MANAGED_BATCH_ID_PATTERN, carries nothing of the caller. */
export function randomBatchId(now: Date): string {
  return `b-${now.toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(10).toString('hex')}`;
}

/** The API's own record of a batch, `batches/<batchId>.json` in the raw bucket (never under `incoming/`). */
const BatchRecordSchema = z.object({
  version: z.literal(1),
  batchId: z.string(),
  owner: z.string(),
  createdAt: z.string(),
  state: z.enum(['open', 'completed']),
  completedAt: z.string().optional(),
  jobId: z.string().optional(),
  files: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      /** The caller's name: kept here and in the manifest only (raw bucket), never in keys, logs or answers. */
      name: z.string(),
      size: z.number().int().nonnegative(),
      sha256: z.string(),
      multipart: z
        .object({ uploadId: z.string(), partSize: z.number().int().positive(), parts: z.array(z.string()) })
        .optional(),
    }),
  ),
});
type BatchRecord = z.infer<typeof BatchRecordSchema>;
type FileRecord = BatchRecord['files'][number];

/** The worker's job record, only the fields the status answer needs (`jobs/<jobId>/status.json`). */
const JobRecordSchema = z.object({
  state: z.enum(['running', 'succeeded', 'completed_with_quarantine', 'failed']),
  counts: z.object({ processed: z.number(), quarantined: z.number(), failed: z.number() }),
  findings: z.object({ critical: z.number() }),
  files: z.array(z.object({ study: z.string().optional() })),
});

const REPORT_LINK_SECONDS = 900;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function parseBody<T>(request: ApiRequest, schema: z.ZodType<T>, maxBytes: number, emptyOk = false): T {
  const text = request.body ?? '';
  if (Buffer.byteLength(text) > maxBytes) {
    throw new ApiError('REQUEST_TOO_LARGE', `the request body is larger than ${maxBytes} bytes`);
  }
  let json: unknown;
  if (text.trim() === '' && emptyOk) json = {};
  else {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError('BODY_INVALID', 'the request body is not JSON');
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'the body';
    throw new ApiError(
      'BODY_INVALID',
      `the request body does not match the API at ${where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** Composite checksum S3 reports for a multipart upload with SHA-256 parts: sha256(part digests) + "-N". */
export function compositeSha256(partsHex: readonly string[]): string {
  const digest = createHash('sha256');
  for (const p of partsHex) digest.update(Buffer.from(p, 'hex'));
  return `${digest.digest('base64')}-${partsHex.length}`;
}

export function createUploadApi(deps: UploadApiDeps): UploadApi {
  const { store, config, audit } = deps;
  const { limits } = config;
  const clock = deps.clock ?? (() => new Date());
  const newBatchId = deps.newBatchId ?? randomBatchId;

  const fileKey = (batchId: string, index: number) => rawKeys.batchFile(batchId, index);

  async function loadBatch(batchId: string, caller: string): Promise<BatchRecord> {
    if (!MANAGED_BATCH_ID_PATTERN.test(batchId)) throw new ApiError('BATCH_NOT_FOUND', 'no such batch');
    const json = await store.getJson(config.rawBucket, rawKeys.batchRecord(batchId));
    if (json === undefined) throw new ApiError('BATCH_NOT_FOUND', 'no such batch');
    const record = BatchRecordSchema.parse(json);
    if (record.owner !== caller) throw new ApiError('BATCH_FOREIGN', 'the batch belongs to another caller');
    return record;
  }

  async function targets(
    record: BatchRecord,
    wanted: readonly { index: number; parts?: readonly number[] }[],
    now: Date,
  ): Promise<UploadUrlsResponse> {
    const expiresIn = limits.urlExpirySeconds;
    const files = await mapLimit(wanted, 16, async ({ index, parts }) => {
      const file = record.files[index]!;
      const key = fileKey(record.batchId, index);
      let upload: UploadTarget;
      if (file.multipart) {
        const { uploadId, partSize } = file.multipart;
        const numbers = parts ?? file.multipart.parts.map((_, i) => i + 1);
        upload = {
          kind: 'multipart',
          partSize,
          parts: await mapLimit(numbers, 8, async (partNumber) => {
            const { start, end } = partRange(file.size, partSize, partNumber);
            return {
              partNumber,
              size: end - start,
              request: await store.presignPart({
                key,
                uploadId,
                partNumber,
                size: end - start,
                sha256Base64: hexToBase64(file.multipart!.parts[partNumber - 1]!),
                expiresInSeconds: expiresIn,
                signingDate: now,
              }),
            };
          }),
        };
      } else {
        upload = {
          kind: 'put',
          request: await store.presignPut({
            key,
            size: file.size,
            sha256Base64: hexToBase64(file.sha256),
            expiresInSeconds: expiresIn,
            signingDate: now,
          }),
        };
      }
      return { index, upload };
    });
    return {
      batchId: record.batchId,
      expiresAt: new Date(now.getTime() + expiresIn * 1000).toISOString(),
      files,
    };
  }

  async function createBatch(request: ApiRequest, caller: string): Promise<ApiResponse> {
    const body = parseBody(request, CreateBatchRequestSchema, config.maxBodyBytes);
    if (body.files.length > limits.maxFiles) {
      throw new ApiError('TOO_MANY_FILES', `a batch holds at most ${limits.maxFiles} files`);
    }
    for (const [index, f] of body.files.entries()) {
      if (!SHA256_HEX.test(f.sha256)) {
        throw new ApiError('CHECKSUM_NOT_SHA256', 'sha256 must be 64 lowercase hexadecimal digits', {
          index,
        });
      }
      if (f.size > limits.maxFileBytes) {
        throw new ApiError('FILE_TOO_LARGE', `a file holds at most ${limits.maxFileBytes} bytes`, { index });
      }
      const plan = partPlan(f.size, limits);
      if (plan === undefined && f.parts !== undefined) {
        throw new ApiError(
          'PARTS_INVALID',
          'parts are only announced for files above the multipart threshold',
          {
            index,
          },
        );
      }
      if (plan !== undefined) {
        if (f.parts?.length !== plan.count) {
          throw new ApiError(
            'PARTS_INVALID',
            `this file is uploaded in ${plan.count} parts of ${plan.partSize} bytes`,
            {
              index,
            },
          );
        }
        if (!f.parts.every((p) => SHA256_HEX.test(p))) {
          throw new ApiError(
            'CHECKSUM_NOT_SHA256',
            'part checksums must be 64 lowercase hexadecimal digits',
            {
              index,
            },
          );
        }
      }
    }
    const now = clock();
    const batchId = newBatchId(now);
    const files: FileRecord[] = await mapLimit([...body.files.entries()], 8, async ([index, f]) => {
      const plan = partPlan(f.size, limits);
      return {
        index,
        name: f.name,
        size: f.size,
        sha256: f.sha256,
        ...(plan
          ? {
              multipart: {
                uploadId: await store.createMultipart(fileKey(batchId, index)),
                partSize: plan.partSize,
                parts: f.parts!,
              },
            }
          : {}),
      };
    });
    const record: BatchRecord = {
      version: 1,
      batchId,
      owner: caller,
      createdAt: now.toISOString(),
      state: 'open',
      files,
    };
    if (!(await store.putJson(config.rawBucket, rawKeys.batchRecord(batchId), record, { ifAbsent: true }))) {
      throw new ApiError('INTERNAL', 'batch id collision');
    }
    const answer = await targets(
      record,
      files.map((f) => ({ index: f.index })),
      now,
    );
    audit.info('batch created', {
      caller,
      batchId,
      counts: {
        files: files.length,
        bytes: files.reduce((n, f) => n + f.size, 0),
        multipart: files.filter((f) => f.multipart).length,
      },
    });
    return { status: 201, body: answer };
  }

  async function refreshUrls(request: ApiRequest, caller: string, batchId: string): Promise<ApiResponse> {
    const record = await loadBatch(batchId, caller);
    const body = parseBody(request, UrlsRequestSchema, config.maxBodyBytes);
    if (record.state !== 'open')
      throw new ApiError('BATCH_ALREADY_COMPLETED', 'the batch is already complete');
    for (const w of body.files) {
      const file = record.files[w.index];
      if (file === undefined)
        throw new ApiError('FILE_INDEX_INVALID', 'no file with this index', { index: w.index });
      if (w.parts !== undefined) {
        const count = file.multipart?.parts.length ?? 0;
        if (w.parts.some((p) => p > count)) {
          throw new ApiError('PARTS_INVALID', 'no such part for this file', { index: w.index });
        }
      }
    }
    // A multipart file completed with the wrong content (a server that does not check part
    // checksums) has used up its upload id: a new multipart upload takes its place.
    let renewed = false;
    for (const w of body.files) {
      const file = record.files[w.index]!;
      if (file.multipart && (await store.head(config.rawBucket, fileKey(batchId, w.index))) !== undefined) {
        file.multipart = {
          ...file.multipart,
          uploadId: await store.createMultipart(fileKey(batchId, w.index)),
        };
        renewed = true;
      }
    }
    if (renewed) await store.putJson(config.rawBucket, rawKeys.batchRecord(batchId), record);
    const answer = await targets(record, body.files, clock());
    audit.info('urls issued', { caller, batchId, counts: { files: body.files.length } });
    return { status: 200, body: answer };
  }

  async function complete(request: ApiRequest, caller: string, batchId: string): Promise<ApiResponse> {
    const record = await loadBatch(batchId, caller);
    const body = parseBody(request, CompleteRequestSchema, config.maxBodyBytes, true);
    if (record.state !== 'open')
      throw new ApiError('BATCH_ALREADY_COMPLETED', 'the batch is already complete');
    const manifestKey = rawKeys.manifest(batchId);
    if ((await store.head(config.rawBucket, manifestKey)) !== undefined) {
      // A complete that wrote the manifest and stopped before updating the record.
      await store.putJson(config.rawBucket, rawKeys.batchRecord(batchId), { ...record, state: 'completed' });
      throw new ApiError('BATCH_ALREADY_COMPLETED', 'the batch is already complete');
    }
    const etagsOf = new Map(body.parts.map((p) => [p.index, p.etags]));
    for (const index of etagsOf.keys()) {
      if (record.files[index]?.multipart === undefined) {
        throw new ApiError('PARTS_INVALID', 'part ETags for a file that is not uploaded in parts', { index });
      }
    }

    const missing: number[] = [];
    const mismatched: { index: number; field: 'size' | 'sha256' | 'parts' }[] = [];
    const objects = await mapLimit(record.files, 16, async (file) => {
      const key = fileKey(batchId, file.index);
      const etags = etagsOf.get(file.index);
      let head: Awaited<ReturnType<UploadStore['head']>>;
      if (file.multipart && etags !== undefined) {
        // Completing replaces any earlier object at the key (a re-upload after a 409).
        const byNumber = new Map(etags.map((e) => [e.partNumber, e.etag]));
        const parts = file.multipart.parts.map((sha, i) => ({
          partNumber: i + 1,
          etag: byNumber.get(i + 1) ?? '',
          sha256Base64: hexToBase64(sha),
        }));
        const completed =
          !parts.some((p) => p.etag === '') &&
          (await store.completeMultipart({ key, uploadId: file.multipart.uploadId, parts }));
        head = await store.head(config.rawBucket, key);
        // Not completed now, but there from an earlier complete: that object is checked below.
        if (!completed && head === undefined) {
          mismatched.push({ index: file.index, field: 'parts' });
          return undefined;
        }
      } else {
        head = await store.head(config.rawBucket, key);
      }
      if (head === undefined) {
        missing.push(file.index);
        return undefined;
      }
      if (head.size !== file.size) {
        mismatched.push({ index: file.index, field: 'size' });
        return undefined;
      }
      const expected = file.multipart ? compositeSha256(file.multipart.parts) : hexToBase64(file.sha256);
      // S3 verified the signed checksum on upload and stores it; a server that keeps none (s3rver) is
      // checked by reading the object back.
      const ok =
        head.sha256 !== undefined
          ? head.sha256 === expected
          : (await store.sha256Hex(config.rawBucket, key)) === file.sha256;
      if (!ok) {
        mismatched.push({ index: file.index, field: 'sha256' });
        return undefined;
      }
      return { key, size: head.size, etag: head.etag, versionId: head.versionId };
    });

    if (missing.length > 0 || mismatched.length > 0) {
      missing.sort((a, b) => a - b);
      mismatched.sort((a, b) => a.index - b.index);
      audit.warn('batch incomplete', {
        caller,
        batchId,
        code: 'BATCH_INCOMPLETE',
        counts: { files: record.files.length, missing: missing.length, mismatched: mismatched.length },
      });
      throw new ApiError(
        'BATCH_INCOMPLETE',
        `${missing.length} file(s) missing, ${mismatched.length} with another size or checksum: upload them again, then complete`,
        { missing, mismatched },
      );
    }

    const now = clock();
    // The same derivation as the trigger's (keys, ETags, version ids), so the status can find the job.
    const jobId = deriveJobId(objects.filter((o) => o !== undefined));
    const manifest: UploadManifest = {
      version: 1,
      batchId,
      completedAt: now.toISOString(),
      files: record.files.map((f) => ({
        name: `${f.index}.dcm`,
        size: f.size,
        sha256: f.sha256,
        originalName: f.name,
      })),
    };
    const written = await store.putJson(config.rawBucket, manifestKey, manifest, {
      ifAbsent: true,
      metadata: { [MANIFEST_WRITER_METADATA.key]: MANIFEST_WRITER_METADATA.value },
    });
    if (!written) throw new ApiError('BATCH_ALREADY_COMPLETED', 'the batch is already complete');
    const done: BatchRecord = { ...record, state: 'completed', completedAt: now.toISOString(), jobId };
    await store.putJson(config.rawBucket, rawKeys.batchRecord(batchId), done);
    audit.info('batch completed', {
      caller,
      batchId,
      jobId,
      counts: { files: record.files.length, bytes: record.files.reduce((n, f) => n + f.size, 0) },
    });
    return { status: 200, body: await status(done) };
  }

  async function status(record: BatchRecord): Promise<BatchStatus> {
    const base = {
      batchId: record.batchId,
      files: record.files.length,
      createdAt: record.createdAt,
      ...(record.completedAt ? { completedAt: record.completedAt } : {}),
      ...(record.jobId ? { jobId: record.jobId } : {}),
      counts: { processed: 0, quarantined: 0, failed: 0 },
      criticalFindings: 0,
      reports: [],
    };
    if (record.state === 'open' || record.jobId === undefined) return { ...base, state: 'waiting-for-files' };
    const json = await store.getJson(config.processedBucket, processedKeys.jobStatus(record.jobId));
    // No record yet: the trigger has not started the task, or the worker has not written it.
    if (json === undefined) return { ...base, state: 'running' };
    const job = JobRecordSchema.parse(json);
    const finished = job.state !== 'running';
    const studies = [...new Set(job.files.flatMap((f) => (f.study ? [f.study] : [])))].sort();
    const now = clock();
    return {
      ...base,
      state: job.state === 'running' ? 'running' : job.state === 'failed' ? 'failed' : 'completed',
      counts: {
        processed: job.counts.processed,
        quarantined: job.counts.quarantined,
        failed: job.counts.failed,
      },
      criticalFindings: job.findings.critical,
      reports: finished
        ? await mapLimit(studies, 8, async (study) => ({
            study,
            url: await store.presignGet(
              config.processedBucket,
              processedKeys.results(study),
              REPORT_LINK_SECONDS,
              now,
            ),
          }))
        : [],
    };
  }

  async function route(request: ApiRequest, caller: string): Promise<ApiResponse> {
    const segments = request.path.split('/').filter((s) => s !== '');
    const method = request.method.toUpperCase();
    const [root, batchId, action] = segments;
    if (segments.length === 1 && root === 'limits') {
      if (method !== 'GET') throw new ApiError('METHOD_NOT_ALLOWED', 'use GET');
      return { status: 200, body: limits };
    }
    if (root !== 'batches' || segments.length > 3) throw new ApiError('ROUTE_NOT_FOUND', 'no such route');
    if (batchId === undefined) {
      if (method !== 'POST') throw new ApiError('METHOD_NOT_ALLOWED', 'use POST');
      return createBatch(request, caller);
    }
    if (action === undefined) {
      if (method !== 'GET') throw new ApiError('METHOD_NOT_ALLOWED', 'use GET');
      const record = await loadBatch(batchId, caller);
      const answer = await status(record);
      audit.info('batch status', { caller, batchId, state: answer.state });
      return { status: 200, body: answer };
    }
    if (action !== 'complete' && action !== 'urls') throw new ApiError('ROUTE_NOT_FOUND', 'no such route');
    if (method !== 'POST') throw new ApiError('METHOD_NOT_ALLOWED', 'use POST');
    return action === 'complete' ? complete(request, caller, batchId) : refreshUrls(request, caller, batchId);
  }

  return async (request) => {
    try {
      if (request.caller === undefined) throw new ApiError('UNAUTHENTICATED', 'the request is not signed');
      return await route(request, request.caller);
    } catch (err) {
      const apiError =
        err instanceof ApiError ? err : new ApiError('INTERNAL', 'internal error', {}, { cause: err });
      const log = apiError.status >= 500 ? audit.error : audit.warn;
      log('request refused', {
        ...(request.caller ? { caller: request.caller } : {}),
        code: errorCode(apiError),
        status: apiError.status,
        method: request.method.toUpperCase(),
      });
      return {
        status: apiError.status,
        body: { error: { code: apiError.code, message: apiError.message, ...apiError.details } },
      };
    }
  };
}
