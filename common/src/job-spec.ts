import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { WorkerEnvName } from './env.ts';

/** One input object of a job, as the trigger saw it. */
export const JobObjectSchema = z.object({
  key: z.string().min(1),
  size: z.number().int().nonnegative(),
  etag: z.string().optional(),
  versionId: z.string().optional(),
});
export type JobObject = z.infer<typeof JobObjectSchema>;

/** `jobs/<jobId>.json` in the raw bucket (DESIGN D1). Only its location travels in the RunTask override. */
export const JobSpecSchema = z.object({
  version: z.literal(1),
  jobId: z.string().regex(/^job-[0-9a-f]{24}$/),
  createdAt: z.string(),
  rawBucket: z.string().min(1),
  /** Upload batch id when the job comes from a manifest; absent for loose objects grouped by prefix. */
  batchId: z.string().optional(),
  source: z.enum(['manifest', 'prefix']),
  objects: z.array(JobObjectSchema).min(1),
});
export type JobSpec = z.infer<typeof JobSpecSchema>;

/**
 * The job id is derived from the content: the sorted keys and their ETags (or version ids), so a
 * re-delivered event for the same objects gives the same id and starts no second task.
 */
export function deriveJobId(objects: readonly Pick<JobObject, 'key' | 'etag' | 'versionId'>[]): string {
  const lines = objects.map((o) => `${o.key}\u0000${o.etag ?? ''}\u0000${o.versionId ?? ''}`).sort();
  return `job-${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 24)}`;
}

/** `incoming/<batchId>/manifest.json`, written by the uploader/upload API when a batch is complete. */
export const UploadManifestSchema = z.object({
  version: z.literal(1),
  batchId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/),
  completedAt: z.string(),
  files: z
    .array(
      z.object({
        /** Key relative to `incoming/<batchId>/`. */
        name: z.string().min(1),
        size: z.number().int().nonnegative(),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
      }),
    )
    .min(1),
});
export type UploadManifest = z.infer<typeof UploadManifestSchema>;

/** Environment variable that carries the job spec location into the task (`s3://bucket/key`). */
export const JOB_SPEC_ENV = 'JOB_SPEC_URI' satisfies WorkerEnvName;
/** Environment variable that tells the task which attempt of its job it is (1 for the first run). */
export const JOB_ATTEMPT_ENV = 'JOB_ATTEMPT' satisfies WorkerEnvName;
