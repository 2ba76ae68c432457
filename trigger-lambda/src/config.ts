import {
  type EnvProblem,
  envFields,
  type LogLevel,
  MANAGED_BATCH_ID_PATTERN,
  parseEnv,
  S3_BUCKET_NAME,
  type TriggerEnvName,
} from '@medimg/common';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/**
 * A folder under `incoming/` whose name has the upload API's batch-id form (`b-...`) is a managed
 * batch: its files wait for its manifest. Any other folder is a loose prefix (see README).
 */
export { MANAGED_BATCH_ID_PATTERN };

/** What the handler needs (the ECS settings belong to the ECS adapter). */
export interface TriggerConfig {
  readonly rawBucket: string;
  /**
   * S3 event notification keys are URL-encoded with `+` for a space (AWS). s3rver sends them
   * as they are: the demo sets this to false.
   */
  readonly keysUrlEncoded: boolean;
  /** Folder names under `incoming/` that are managed batches and wait for their manifest. */
  readonly managedBatchIdPattern: RegExp;
  /** Jobs prepared and started at the same time within one invocation. */
  readonly jobConcurrency: number;
  /** HEAD requests in flight at the same time within one job. */
  readonly headConcurrency: number;
}

export interface EcsTaskConfig {
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly containerName: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly assignPublicIp: 'ENABLED' | 'DISABLED';
}

export interface LambdaConfig {
  readonly trigger: TriggerConfig;
  /** RunTask directly (no dispatcher): the demo's and the tests' wiring. */
  readonly ecs?: EcsTaskConfig;
  /** Jobs go to the dispatcher's queue (AWS): the task cap, time limit and retries apply. */
  readonly dispatchQueueUrl?: string;
  readonly logLevel: LogLevel;
}

/** Builds a TriggerConfig with defaults for everything but the bucket. */
export function triggerConfig(
  input: { readonly rawBucket: string } & Partial<Omit<TriggerConfig, 'rawBucket'>>,
): TriggerConfig {
  const config: TriggerConfig = {
    keysUrlEncoded: true,
    managedBatchIdPattern: MANAGED_BATCH_ID_PATTERN,
    jobConcurrency: 4,
    headConcurrency: 16,
    ...input,
  };
  if (!S3_BUCKET_NAME.test(config.rawBucket)) {
    throw new ConfigError('rawBucket', 'expected an S3 bucket name');
  }
  for (const field of ['jobConcurrency', 'headConcurrency'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 1) {
      throw new ConfigError(field, 'expected a positive integer');
    }
  }
  return config;
}

/** The ECS task the trigger (without a dispatcher) and the dispatcher start. */
export const ecsTaskEnvShape = {
  CLUSTER_ARN: envFields.nonEmpty('expected an ECS cluster ARN or name'),
  TASK_DEFINITION_ARN: envFields.nonEmpty('expected an ECS task definition ARN or family[:revision]'),
  CONTAINER_NAME: envFields.nonEmpty('expected the worker container name of the task definition'),
  SUBNET_IDS: envFields.csv('subnet ids (subnet-...)', /^subnet-[0-9a-zA-Z]+$/),
  SECURITY_GROUP_IDS: envFields.csv('security group ids (sg-...)', /^sg-[0-9a-zA-Z]+$/),
  ASSIGN_PUBLIC_IP: z
    .enum(['ENABLED', 'DISABLED'], { error: 'expected ENABLED or DISABLED' })
    .default('DISABLED'),
};

/** The ECS settings of a parsed environment that holds ecsTaskEnvShape. */
export function ecsTaskConfig(e: z.output<z.ZodObject<typeof ecsTaskEnvShape>>): EcsTaskConfig {
  return {
    clusterArn: e.CLUSTER_ARN,
    taskDefinitionArn: e.TASK_DEFINITION_ARN,
    containerName: e.CONTAINER_NAME,
    subnetIds: e.SUBNET_IDS,
    securityGroupIds: e.SECURITY_GROUP_IDS,
    assignPublicIp: e.ASSIGN_PUBLIC_IP,
  };
}

/** Every variable the Lambda reads (docs/decisions/010-contracts-and-config.md). */
const envShape = {
  RAW_BUCKET: envFields.bucket(),
  ...ecsTaskEnvShape,
  S3_EVENT_KEYS_URL_ENCODED: envFields.flag(true),
  MANAGED_BATCH_ID_PATTERN: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return MANAGED_BATCH_ID_PATTERN;
      try {
        return new RegExp(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a regular expression' });
        return z.NEVER;
      }
    }),
  LOG_LEVEL: envFields.logLevel(),
  DISPATCH_QUEUE_URL: z.url({ error: 'expected the dispatch queue URL' }).optional(),
} satisfies Record<TriggerEnvName, z.ZodType>;
const EnvSchema = z.object(envShape);

const DispatchEnvSchema = EnvSchema.pick({
  RAW_BUCKET: true,
  S3_EVENT_KEYS_URL_ENCODED: true,
  MANAGED_BATCH_ID_PATTERN: true,
  LOG_LEVEL: true,
}).extend({ DISPATCH_QUEUE_URL: z.url({ error: 'expected the dispatch queue URL' }) });

/**
 * Reads the Lambda's configuration from the environment once, failing fast with a ConfigError that
 * names the first wrong variable and the expected form (never its value).
 */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  const firstProblem = ([p]: readonly [EnvProblem, ...EnvProblem[]]) =>
    new ConfigError(p.variable, p.expected);
  if (env.DISPATCH_QUEUE_URL !== undefined) {
    const e = parseEnv(DispatchEnvSchema, env, firstProblem);
    return {
      trigger: triggerConfig({
        rawBucket: e.RAW_BUCKET,
        keysUrlEncoded: e.S3_EVENT_KEYS_URL_ENCODED,
        managedBatchIdPattern: e.MANAGED_BATCH_ID_PATTERN,
      }),
      dispatchQueueUrl: e.DISPATCH_QUEUE_URL,
      logLevel: e.LOG_LEVEL,
    };
  }
  const e = parseEnv(EnvSchema, env, firstProblem);
  return {
    trigger: triggerConfig({
      rawBucket: e.RAW_BUCKET,
      keysUrlEncoded: e.S3_EVENT_KEYS_URL_ENCODED,
      managedBatchIdPattern: e.MANAGED_BATCH_ID_PATTERN,
    }),
    ecs: ecsTaskConfig(e),
    logLevel: e.LOG_LEVEL,
  };
}
