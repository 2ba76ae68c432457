import { HTTP_TIMEOUTS } from '@medimg/aws';
import { CodedError, parseEnv, WORKER_ENV, type WorkerEnvName } from '@medimg/common';
import { z } from 'zod';
import { DEID_PROFILES, type DeidOptions, deidOptionsSchema, PROFILE_OPTIONS } from './deid/options.ts';
import type { CriticalThresholds } from './pipeline/assess.ts';
import { defaultConcurrency } from './pipeline/concurrency.ts';
import { STEP_NAMES } from './pipeline/status.ts';

const json = (name: string) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} must be JSON` });
      return z.NEVER;
    }
  });
const jsonRecord = (name: string) => json(name).pipe(z.record(z.string(), z.number().min(0).max(1)));
const flag = z.enum(['true', 'false']);
/** Read by the key loader, which takes a blank value as unset. */
const optionalText = z.string().optional();

/** Every variable the worker reads, and nothing else reads the environment (docs/decisions/010-contracts-and-config.md). */
const workerEnvShape = {
  JOB_SPEC_URI: z.string().regex(/^s3:\/\/[^/]+\/.+$/, 'expected s3://bucket/key'),
  PROCESSED_BUCKET: z.string().min(3),
  LINKAGE_BUCKET: z.string().min(3),
  SAGEMAKER_ENDPOINT_NAME: z.string().min(1),
  FINDINGS_TOPIC_ARN: z.string().startsWith('arn:'),
  OPS_TOPIC_ARN: z.string().startsWith('arn:').optional(),
  CRITICAL_THRESHOLDS: jsonRecord('CRITICAL_THRESHOLDS').optional(),
  BURNED_IN_POLICY: z.enum(['quarantine', 'blank', 'redact']).default('quarantine'),
  /** De-identification profile (docs/deidentification.md): research (default) or safe-harbor. */
  DEID_PROFILE: z.enum(DEID_PROFILES).default('research'),
  DEID_OPTIONS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    json('DEID_OPTIONS').pipe(z.record(z.string(), z.unknown())).optional(),
  ),
  DEID_KEY_SECRET_ARN: optionalText,
  DEID_KEY_FILE: optionalText,
  DEID_KEY: optionalText,
  /**
   * Memory budget per input in decoded bytes (inflated data set, one decoded frame); inputs that
   * would pass it are quarantined with DECODED_SIZE_LIMIT. With 4 files at once, the default
   * bounds decoding at 1 GiB.
   */
  MAX_DECODED_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(256 * 1024 * 1024),
  /**
   * Per-file time bound in ms over every decode of a file (the burned-in text scan and its check of
   * a redacted output, the re-encoding of blanked compressed pixel data, the render), enforced in
   * worker threads: the one of a file past it is terminated (decision 019): PROCESSING_TIMEOUT.
   */
  FILE_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  MAX_BYTES_IN_FLIGHT: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024 * 1024),
  /** Files processed at once; default two per CPU (pipeline/concurrency.ts), set from the task's vCPUs in infra. */
  MAX_CONCURRENT_FILES: z.coerce.number().int().min(1).max(64).default(defaultConcurrency),
  PREVIEW_LINK_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(3600),
  INFERENCE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(60_000).default(30_000),
  /**
   * The HTTP idle bound of the S3, SNS and Secrets Manager clients (@medimg/aws client-config.ts):
   * an attempt on a connection silent this long fails with a TimeoutError and is retried.
   */
  AWS_IDLE_TIMEOUT_MS: z.coerce.number().int().min(200).max(120_000).default(HTTP_TIMEOUTS.idleMs),
  SAGEMAKER_SERVERLESS: flag.default('false'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  S3_FORCE_PATH_STYLE: flag.default('false'),
  MEDIMG_MODE: z.enum(['production', 'local']).default('production'),
  MEDIMG_FAULT_EXIT_AFTER_STEP: z.enum(STEP_NAMES).optional(),
  /** Which attempt of its job this task is (the dispatcher's container override). */
  JOB_ATTEMPT: z.coerce.number().int().min(1).max(100).default(1),
  /** `none` when the stack was deployed with allowNoRecipients and no findings emails. */
  FINDINGS_SUBSCRIBERS: z.enum(['email', 'none']).default('email'),
  /** Fault injection for the retry test only: the first N attempts fail, or find the endpoint down. */
  MEDIMG_FAULT_FAIL_ATTEMPTS: z.coerce.number().int().min(0).default(0),
  MEDIMG_FAULT_INFERENCE_DOWN_ATTEMPTS: z.coerce.number().int().min(0).default(0),
} satisfies Record<WorkerEnvName, z.ZodType>;
const WorkerEnvSchema = z.object(workerEnvShape);

export type WorkerConfig = z.infer<typeof WorkerEnvSchema> & {
  /** CRITICAL_THRESHOLDS when set; otherwise undefined and the model's calibrated thresholds apply. */
  readonly thresholds?: CriticalThresholds;
  /** The DEID_PROFILE's options with DEID_OPTIONS and BURNED_IN_POLICY over them, validated. */
  readonly deidOptions: DeidOptions;
};

export class ConfigError extends CodedError<'CONFIG_INVALID'> {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** Reads and validates the environment once; the message names each bad variable and its expected form. */
export function readWorkerConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  // Every wrong variable in one message, each with the place inside a JSON value when it is there.
  const data = parseEnv(
    WorkerEnvSchema,
    env,
    (problems) =>
      new ConfigError(
        `invalid worker configuration: ${problems.map((p) => `${p.path}: ${p.expected}`).join('; ')}`,
      ),
  );
  const deid = deidOptionsSchema.safeParse({
    ...PROFILE_OPTIONS[data.DEID_PROFILE],
    ...data.DEID_OPTIONS,
    burnedInPolicy: data.BURNED_IN_POLICY,
  });
  if (!deid.success) {
    const problems = deid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid worker configuration: ${WORKER_ENV.DEID_OPTIONS}: ${problems}`);
  }
  return {
    ...data,
    ...(data.CRITICAL_THRESHOLDS ? { thresholds: data.CRITICAL_THRESHOLDS } : {}),
    deidOptions: deid.data,
  };
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new ConfigError('expected s3://bucket/key');
  return { bucket: m[1]!, key: m[2]! };
}
