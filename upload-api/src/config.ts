/** The Lambda's configuration, read once from the environment with zod (exit/fail naming the variable). */
import { UPLOAD_API_ENV as E, envFields, parseEnv } from '@medimg/common';
import { z } from 'zod';
import type { UploadApiConfig } from './api.ts';
import { DEFAULT_LIMITS } from './contract.ts';
import { ApiError } from './errors.ts';

const MiB = 1024 * 1024;
const bucket = envFields.bucket();
const int = (min: number, max: number, fallback: number) => envFields.int(min, max).default(fallback);

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
  const e = parseEnv(
    EnvSchema,
    env,
    ([p]) => new ApiError('CONFIG_INVALID', `invalid configuration: ${p.variable}: ${p.expected}`),
  );
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
