import { z } from 'zod';
import type { CriticalThresholds } from './pipeline/assess.ts';

const jsonRecord = (name: string) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be JSON` });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), z.number().min(0).max(1)));

const WorkerEnvSchema = z.object({
  JOB_SPEC_URI: z.string().regex(/^s3:\/\/[^/]+\/.+$/, 'expected s3://bucket/key'),
  PROCESSED_BUCKET: z.string().min(3),
  LINKAGE_BUCKET: z.string().min(3),
  SAGEMAKER_ENDPOINT_NAME: z.string().min(1),
  FINDINGS_TOPIC_ARN: z.string().startsWith('arn:'),
  OPS_TOPIC_ARN: z.string().startsWith('arn:').optional(),
  CRITICAL_THRESHOLDS: jsonRecord('CRITICAL_THRESHOLDS').optional(),
  BURNED_IN_POLICY: z.enum(['quarantine', 'blank']).default('quarantine'),
  /** De-identification profile (docs/deidentification.md): research (default) or safe-harbor. */
  DEID_PROFILE: z.enum(['research', 'safe-harbor']).default('research'),
  DEID_OPTIONS: z.string().optional(),
  /**
   * Memory budget per input in decoded bytes (inflated data set, one decoded frame); inputs that
   * would pass it are quarantined with DECODED_SIZE_LIMIT. With MAX_CONCURRENT_FILES at 4, the
   * default bounds decoding at 1 GiB.
   */
  MAX_DECODED_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(256 * 1024 * 1024),
  MAX_BYTES_IN_FLIGHT: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024 * 1024),
  MAX_CONCURRENT_FILES: z.coerce.number().int().min(1).max(64).default(4),
  PREVIEW_LINK_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
  INFERENCE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(60_000).default(30_000),
  SAGEMAKER_SERVERLESS: z.enum(['true', 'false']).default('false'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type WorkerConfig = z.infer<typeof WorkerEnvSchema> & {
  /** CRITICAL_THRESHOLDS when set; otherwise undefined and the model's calibrated thresholds apply. */
  readonly thresholds?: CriticalThresholds;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}

/** Reads and validates the environment once; the message names each bad variable and its expected form. */
export function readWorkerConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const parsed = WorkerEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid worker configuration: ${problems}`);
  }
  const thresholds = parsed.data.CRITICAL_THRESHOLDS;
  return { ...parsed.data, ...(thresholds ? { thresholds } : {}) };
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new ConfigError('expected s3://bucket/key');
  return { bucket: m[1]!, key: m[2]! };
}
