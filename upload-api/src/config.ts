/** The Lambda's configuration, read once from the environment with zod (exit/fail naming the variable). */
import { UPLOAD_API_ENV as E } from '@medimg/common';
import { z } from 'zod';
import type { UploadApiConfig } from './api.ts';
import { DEFAULT_LIMITS } from './contract.ts';
import { ApiError } from './errors.ts';

const MiB = 1024 * 1024;
const bucket = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'expected an S3 bucket name' });
const int = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: `expected an integer from ${min} to ${max}` })
    .int({ error: `expected an integer from ${min} to ${max}` })
    .min(min, { error: `expected an integer from ${min} to ${max}` })
    .max(max, { error: `expected an integer from ${min} to ${max}` })
    .default(fallback);

const EnvSchema = z.object({
  [E.RAW_BUCKET]: bucket,
  [E.PROCESSED_BUCKET]: bucket,
  [E.MAX_FILES]: int(1, 10_000, DEFAULT_LIMITS.maxFiles),
  [E.MAX_FILE_BYTES]: int(1, 5 * 1024 * 1024 * MiB, DEFAULT_LIMITS.maxFileBytes),
  // S3 parts are at least 5 MiB (except the last).
  [E.MULTIPART_THRESHOLD_BYTES]: int(5 * MiB, 5 * 1024 * MiB, DEFAULT_LIMITS.multipartThresholdBytes),
  [E.PART_SIZE_BYTES]: int(5 * MiB, 5 * 1024 * MiB, DEFAULT_LIMITS.partSizeBytes),
  // Presigned upload URLs never live longer than 15 minutes.
  [E.URL_EXPIRY_SECONDS]: int(60, 900, DEFAULT_LIMITS.urlExpirySeconds),
  [E.MAX_BODY_BYTES]: int(1024, 6 * MiB, 4 * MiB),
});

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): UploadApiConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(
      'CONFIG_INVALID',
      `invalid configuration: ${issue?.path.join('.')}: ${issue?.message}`,
    );
  }
  const e = parsed.data;
  return {
    rawBucket: e.RAW_BUCKET,
    processedBucket: e.PROCESSED_BUCKET,
    maxBodyBytes: e.MAX_BODY_BYTES,
    limits: {
      maxFiles: e.MAX_FILES,
      maxFileBytes: e.MAX_FILE_BYTES,
      multipartThresholdBytes: e.MULTIPART_THRESHOLD_BYTES,
      partSizeBytes: e.PART_SIZE_BYTES,
      urlExpirySeconds: e.URL_EXPIRY_SECONDS,
    },
  };
}
