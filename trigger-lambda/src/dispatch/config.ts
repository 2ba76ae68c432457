import { type DispatcherEnvName, envFields, type LogLevel, parseEnv } from '@medimg/common';
import { z } from 'zod';
import { type EcsTaskConfig, ecsTaskConfig, ecsTaskEnvShape } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { DispatcherConfig } from './core.ts';

const DispatcherEnvSchema = z.object({
  RAW_BUCKET: envFields.bucket(),
  DISPATCH_QUEUE_URL: z.url({ error: 'expected the dispatch queue URL' }),
  OPS_TOPIC_ARN: z
    .string({ error: 'expected an SNS topic ARN' })
    .startsWith('arn:', { error: 'expected an SNS topic ARN' }),
  ...ecsTaskEnvShape,
  TASK_FAMILY: envFields.nonEmpty('expected the task definition family'),
  MAX_RUNNING_TASKS: envFields.int(1, 1000),
  MAX_ATTEMPTS: envFields.int(1, 10),
  RETRY_BASE_DELAY_SECONDS: envFields.int(0, 900),
  TASK_TIME_LIMIT_SECONDS: envFields.int(60, 86400),
  LOG_LEVEL: envFields.logLevel(),
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
  const e = parseEnv(DispatcherEnvSchema, env, ([p]) => new ConfigError(p.variable, p.expected));
  return {
    rawBucket: e.RAW_BUCKET,
    queueUrl: e.DISPATCH_QUEUE_URL,
    opsTopicArn: e.OPS_TOPIC_ARN,
    taskFamily: e.TASK_FAMILY,
    ecs: ecsTaskConfig(e),
    dispatcher: {
      maxRunningTasks: e.MAX_RUNNING_TASKS,
      maxAttempts: e.MAX_ATTEMPTS,
      retryBaseDelaySeconds: e.RETRY_BASE_DELAY_SECONDS,
      taskTimeLimitSeconds: e.TASK_TIME_LIMIT_SECONDS,
    },
    logLevel: e.LOG_LEVEL,
  };
}
