/**
 * The upload API's contract, shared by the handler and its clients (`medimg upload`, the demo):
 * request and response shapes (zod), limits, and how a large file is cut into parts. Nothing here
 * does I/O.
 */
import { z } from 'zod';

const MiB = 1024 * 1024;

/** What a deployment allows; `GET /limits` answers it so a client can plan before it announces. */
export const LimitsSchema = z.object({
  maxFiles: z.number().int().positive(),
  maxFileBytes: z.number().int().positive(),
  /** Files strictly larger than this are uploaded in parts. */
  multipartThresholdBytes: z.number().int().positive(),
  /** Smallest part; larger files get larger parts so that no file needs more than 10,000. */
  partSizeBytes: z.number().int().positive(),
  /** Lifetime of each presigned URL (S3 presigned URLs here never live longer than 15 minutes). */
  urlExpirySeconds: z.number().int().positive().max(900),
});
export type Limits = z.infer<typeof LimitsSchema>;

export const DEFAULT_LIMITS: Limits = {
  maxFiles: 5000,
  maxFileBytes: 5 * 1024 * MiB,
  multipartThresholdBytes: 64 * MiB,
  partSizeBytes: 16 * MiB,
  urlExpirySeconds: 900,
};

/** S3 allows at most 10,000 parts per upload. */
export const MAX_PARTS = 10_000;

/** The part layout of a file, or undefined when it goes in one PUT. Both sides compute it from the limits. */
export function partPlan(
  size: number,
  limits: Pick<Limits, 'multipartThresholdBytes' | 'partSizeBytes'>,
): { readonly partSize: number; readonly count: number } | undefined {
  if (size <= limits.multipartThresholdBytes) return undefined;
  const least = Math.ceil(size / MAX_PARTS);
  const partSize = least <= limits.partSizeBytes ? limits.partSizeBytes : Math.ceil(least / MiB) * MiB;
  return { partSize, count: Math.ceil(size / partSize) };
}

/** The bytes of part `partNumber` (1-based) of a file of `size` bytes. */
export function partRange(
  size: number,
  partSize: number,
  partNumber: number,
): { start: number; end: number } {
  const start = (partNumber - 1) * partSize;
  return { start, end: Math.min(size, start + partSize) };
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** `POST /batches`. Checks beyond the shape (counts, sizes, checksum form) give specific errors. */
export const CreateBatchRequestSchema = z.object({
  files: z
    .array(
      z.object({
        /** The caller's name for the file; kept only in the raw bucket (batch record and manifest). */
        name: z.string().min(1).max(1024),
        size: z.number().int().nonnegative(),
        /** SHA-256 of the whole file, 64 lowercase hex digits. */
        sha256: z.string(),
        /** SHA-256 of each part, for files above the multipart threshold (see partPlan). */
        parts: z.array(z.string()).optional(),
      }),
    )
    .min(1),
});
export type CreateBatchRequest = z.infer<typeof CreateBatchRequestSchema>;

/** A presigned request: the client sends exactly these headers (they are signed into the URL). */
export const PresignedRequestSchema = z.object({
  url: z.string(),
  headers: z.record(z.string(), z.string()),
});
export type PresignedRequest = z.infer<typeof PresignedRequestSchema>;

export const UploadTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('put'), request: PresignedRequestSchema }),
  z.object({
    kind: z.literal('multipart'),
    partSize: z.number().int().positive(),
    parts: z.array(
      z.object({
        partNumber: z.number().int().positive(),
        size: z.number().int().nonnegative(),
        request: PresignedRequestSchema,
      }),
    ),
  }),
]);
export type UploadTarget = z.infer<typeof UploadTargetSchema>;

export const UploadUrlsResponseSchema = z.object({
  batchId: z.string(),
  /** When these URLs stop working. */
  expiresAt: z.string(),
  files: z.array(z.object({ index: z.number().int().nonnegative(), upload: UploadTargetSchema })),
});
export type UploadUrlsResponse = z.infer<typeof UploadUrlsResponseSchema>;

/** `POST /batches/{id}/urls`: fresh URLs (after expiry, for a resume, or a re-upload after a 409). */
export const UrlsRequestSchema = z.object({
  files: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        /** Only these parts of a multipart file (default: all). */
        parts: z.array(z.number().int().positive()).optional(),
      }),
    )
    .min(1),
});
export type UrlsRequest = z.infer<typeof UrlsRequestSchema>;

/** `POST /batches/{id}/complete`: the ETag S3 answered for each part of each multipart file. */
export const CompleteRequestSchema = z.object({
  parts: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        etags: z.array(z.object({ partNumber: z.number().int().positive(), etag: z.string().min(1) })),
      }),
    )
    .default([]),
});
export type CompleteRequest = z.infer<typeof CompleteRequestSchema>;

export const BATCH_STATES = ['waiting-for-files', 'running', 'completed', 'failed'] as const;
export type BatchState = (typeof BATCH_STATES)[number];

/** `GET /batches/{id}` and the answer of a successful complete: nothing that identifies a patient. */
export const BatchStatusSchema = z.object({
  batchId: z.string(),
  state: z.enum(BATCH_STATES),
  files: z.number().int().nonnegative(),
  createdAt: z.string(),
  completedAt: z.string().optional(),
  jobId: z.string().optional(),
  counts: z.object({
    processed: z.number().int().nonnegative(),
    quarantined: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
  }),
  criticalFindings: z.number().int().nonnegative(),
  /** Links (short-lived) to each study's de-identified results, keyed by the pseudonymous study UID. */
  reports: z.array(z.object({ study: z.string(), url: z.string() })),
});
export type BatchStatus = z.infer<typeof BatchStatusSchema>;

/** Every error answer: `{ error: { code, message, ...details } }`. */
export const ErrorBodySchema = z.object({
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      /** BATCH_INCOMPLETE: indexes of announced files that are not there. */
      missing: z.array(z.number().int()).optional(),
      /** BATCH_INCOMPLETE: files that are there with another size or checksum. */
      mismatched: z
        .array(z.object({ index: z.number().int(), field: z.enum(['size', 'sha256', 'parts']) }))
        .optional(),
      /** Request validation: the index of the offending file. */
      index: z.number().int().optional(),
    })
    .loose(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
