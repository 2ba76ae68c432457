import type { DispatcherEnvName, LogLevel } from '@medimg/common';
import { z } from 'zod';
import type { EcsTaskConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { DispatcherConfig } from './core.ts';

const int = (min: number, max: number, expected: string) =>
  z.coerce
    .number({ error: expected })
    .int({ error: expected })
    .min(min, { error: expected })
    .max(max, { error: expected });
const nonEmpty = (expected: string) => z.string({ error: expected }).trim().min(1, { error: expected });
const csv = (expected: string, item: RegExp) =>
  z
    .string({ error: expected })
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    )
    .pipe(z.array(z.string().regex(item, { error: expected })).min(1, { error: expected }));

const DispatcherEnvSchema = z.object({
  RAW_BUCKET: z.string({ error: 'expected an S3 bucket name' }).regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    error: 'expected an S3 bucket name',
  }),
  DISPATCH_QUEUE_URL: z.url({ error: 'expected the dispatch queue URL' }),
  OPS_TOPIC_ARN: z
    .string({ error: 'expected an SNS topic ARN' })
    .startsWith('arn:', { error: 'expected an SNS topic ARN' }),
  CLUSTER_ARN: nonEmpty('expected an ECS cluster ARN or name'),
  TASK_DEFINITION_ARN: nonEmpty('expected an ECS task definition ARN or family[:revision]'),
  TASK_FAMILY: nonEmpty('expected the task definition family'),
  CONTAINER_NAME: nonEmpty('expected the worker container name of the task definition'),
  SUBNET_IDS: csv('expected a comma-separated list of subnet ids (subnet-...)', /^subnet-[0-9a-zA-Z]+$/),
  SECURITY_GROUP_IDS: csv(
    'expected a comma-separated list of security group ids (sg-...)',
    /^sg-[0-9a-zA-Z]+$/,
  ),
  ASSIGN_PUBLIC_IP: z
    .enum(['ENABLED', 'DISABLED'], { error: 'expected ENABLED or DISABLED' })
    .default('DISABLED'),
  MAX_RUNNING_TASKS: int(1, 1000, 'expected an integer from 1 to 1000'),
  MAX_ATTEMPTS: int(1, 10, 'expected an integer from 1 to 10'),
  RETRY_BASE_DELAY_SECONDS: int(0, 900, 'expected an integer from 0 to 900'),
  TASK_TIME_LIMIT_SECONDS: int(60, 86400, 'expected an integer from 60 to 86400'),
  LOG_LEVEL: z
    .enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' })
    .default('info'),
} satisfies Record<DispatcherEnvName, z.ZodType>);

export interface DispatcherLambdaConfig {
  readonly rawBucket: string;
  readonly queueUrl: string;
  readonly opsTopicArn: string;
  readonly taskFamily: string;
  readonly ecs: EcsTaskConfig;
  readonly dispatcher: DispatcherConfig;
  readonly logLevel: LogLevel;
}

/** Reads the dispatcher's environment once; a ConfigError names the first wrong variable. */
export function loadDispatcherConfig(env: NodeJS.ProcessEnv = process.env): DispatcherLambdaConfig {
  const parsed = DispatcherEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue?.path[0] ?? 'environment'), issue?.message ?? 'invalid');
  }
  const e = parsed.data;
  return {
    rawBucket: e.RAW_BUCKET,
    queueUrl: e.DISPATCH_QUEUE_URL,
    opsTopicArn: e.OPS_TOPIC_ARN,
    taskFamily: e.TASK_FAMILY,
    ecs: {
      clusterArn: e.CLUSTER_ARN,
      taskDefinitionArn: e.TASK_DEFINITION_ARN,
      containerName: e.CONTAINER_NAME,
      subnetIds: e.SUBNET_IDS,
      securityGroupIds: e.SECURITY_GROUP_IDS,
      assignPublicIp: e.ASSIGN_PUBLIC_IP,
    },
    dispatcher: {
      maxRunningTasks: e.MAX_RUNNING_TASKS,
      maxAttempts: e.MAX_ATTEMPTS,
      retryBaseDelaySeconds: e.RETRY_BASE_DELAY_SECONDS,
      taskTimeLimitSeconds: e.TASK_TIME_LIMIT_SECONDS,
    },
    logLevel: e.LOG_LEVEL,
  };
}
