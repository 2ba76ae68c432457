import {
  deriveJobId,
  type JobObject,
  type JobSpec,
  JobSpecSchema,
  type ObjectStore,
  rawKeys,
  type UploadManifest,
  UploadManifestSchema,
} from '@medimg/common';
import { manifestFileKey } from './batching.ts';
import { mapLimit } from './concurrency.ts';
import { TriggerError } from './errors.ts';
import { hashKey, type Logger } from './logger.ts';
import type { TaskRunner } from './ports.ts';

/** What a job is made of before it has an id. */
export interface JobPlan {
  readonly source: 'manifest' | 'prefix';
  readonly batchId?: string;
  readonly objects: readonly JobObject[];
}

/**
 * `jobs/<jobId>.started.json`: written (put-if-absent) after RunTask succeeded. A spec without it
 * means the trigger stopped between writing the spec and starting the task; the next delivery
 * starts it.
 */
export function jobStartedKey(jobId: string): string {
  return rawKeys.jobStarted(jobId);
}

export function jobSpecUri(bucket: string, jobId: string): string {
  return `s3://${bucket}/${rawKeys.jobSpec(jobId)}`;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and checks a batch manifest, then HEADs every file it lists. Throws MANIFEST_MISSING,
 * MANIFEST_INVALID, or BATCH_INCOMPLETE (a listed file missing or with another size).
 */
export async function planFromManifest(
  store: ObjectStore,
  bucket: string,
  batchId: string,
  options: { readonly headConcurrency: number; readonly logger: Logger },
): Promise<JobPlan> {
  const manifest = await readManifest(store, bucket, batchId);
  const keys = manifest.files.map((f) => {
    const key = manifestFileKey(batchId, f.name);
    if (key === undefined)
      throw new TriggerError('MANIFEST_INVALID', 'a manifest file name leaves its batch');
    return { key, size: f.size };
  });
  if (new Set(keys.map((k) => k.key)).size !== keys.length) {
    throw new TriggerError('MANIFEST_INVALID', 'the manifest lists a file twice');
  }
  let missing = 0;
  let wrongSize = 0;
  const objects = await mapLimit(keys, options.headConcurrency, async ({ key, size }) => {
    const head = await store.head(bucket, key);
    if (head === undefined) {
      missing++;
      options.logger.warn('manifest file missing', { code: 'BATCH_INCOMPLETE', keyHash: hashKey(key) });
    } else if (head.size !== size) {
      wrongSize++;
      options.logger.warn('manifest file size differs', { code: 'BATCH_INCOMPLETE', keyHash: hashKey(key) });
    }
    return toJobObject(key, head?.size ?? size, head);
  });
  if (missing > 0 || wrongSize > 0) {
    throw new TriggerError(
      'BATCH_INCOMPLETE',
      `batch incomplete: ${missing} listed file(s) missing, ${wrongSize} with another size`,
    );
  }
  return { source: 'manifest', batchId: manifest.batchId, objects };
}

async function readManifest(store: ObjectStore, bucket: string, batchId: string): Promise<UploadManifest> {
  const bytes = await store.getIfExists(bucket, rawKeys.manifest(batchId));
  if (bytes === undefined) throw new TriggerError('MANIFEST_MISSING', 'the batch manifest does not exist');
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8.decode(bytes));
  } catch (cause) {
    throw new TriggerError('MANIFEST_INVALID', 'the batch manifest is not JSON', { cause });
  }
  const parsed = UploadManifestSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') || 'root';
    throw new TriggerError('MANIFEST_INVALID', `the batch manifest does not match the schema at ${where}`);
  }
  if (parsed.data.batchId !== batchId) {
    throw new TriggerError('MANIFEST_INVALID', 'the manifest batch id differs from its folder');
  }
  return parsed.data;
}

export function toJobObject(
  key: string,
  size: number,
  head: { readonly etag?: string; readonly versionId?: string } | undefined,
): JobObject {
  return {
    key,
    size,
    ...(head?.etag !== undefined ? { etag: head.etag } : {}),
    ...(head?.versionId !== undefined ? { versionId: head.versionId } : {}),
  };
}

export type StartOutcome =
  /** New spec, task started. */
  | 'started'
  /** Spec was there without a started marker (an earlier run stopped before RunTask): task started. */
  | 'resumed'
  /** Spec and started marker were there: a re-delivery, nothing started. */
  | 'duplicate';

export interface StartDeps {
  readonly store: ObjectStore;
  readonly runner: TaskRunner;
  readonly rawBucket: string;
  readonly clock: () => Date;
  readonly logger: Logger;
}

/** The job spec of a plan: objects sorted by key, the id derived from their keys and ETags. */
export function buildJobSpec(plan: JobPlan, rawBucket: string, now: Date): JobSpec {
  const objects = [...plan.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return JobSpecSchema.parse({
    version: 1,
    jobId: deriveJobId(objects),
    createdAt: now.toISOString(),
    rawBucket,
    ...(plan.batchId !== undefined ? { batchId: plan.batchId } : {}),
    source: plan.source,
    objects,
  });
}

/**
 * Writes the job spec (put-if-absent) and starts its task unless the started marker says it was
 * started before. Errors propagate (TaskLaunchError, store errors); the spec stays for the retry.
 */
export async function startJob(deps: StartDeps, spec: JobSpec): Promise<StartOutcome> {
  const { jobId } = spec;
  const created = await deps.store.put(
    deps.rawBucket,
    rawKeys.jobSpec(jobId),
    utf8.encode(JSON.stringify(spec)),
    { contentType: 'application/json', ifNoneMatch: true },
  );
  if (!created) {
    const marker = await deps.store.head(deps.rawBucket, jobStartedKey(jobId));
    if (marker !== undefined) {
      deps.logger.info('job already started', { jobId, source: spec.source });
      return 'duplicate';
    }
  }
  const { taskArn } = await deps.runner.runTask({ jobId, jobSpecUri: jobSpecUri(deps.rawBucket, jobId) });
  await deps.store.put(
    deps.rawBucket,
    jobStartedKey(jobId),
    utf8.encode(JSON.stringify({ version: 1, jobId, taskArn, startedAt: deps.clock().toISOString() })),
    { contentType: 'application/json', ifNoneMatch: true },
  );
  deps.logger.info(created ? 'job started' : 'job resumed', {
    jobId,
    taskArn,
    source: spec.source,
    counts: { objects: spec.objects.length },
  });
  return created ? 'started' : 'resumed';
}
