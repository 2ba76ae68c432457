/**
 * The Lambda entry point (`trigger-lambda/src/handler.ts`, export `handler`). It only wires the AWS
 * adapters to the core (`createHandler`); the demo wires local adapters to the same core.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '@medimg/aws';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { QueueDispatchRunner, SqsDispatchQueue } from './adapters/dispatch-aws.ts';
import { EcsTaskRunner } from './adapters/ecs-task-runner.ts';
import { loadConfigFromEnv } from './config.ts';
import { createLogger } from './logger.ts';
import { createHandler, type SqsBatchHandler } from './trigger.ts';

export { createHandler, type HandlerDeps, type SqsBatchHandler } from './trigger.ts';

/** Builds the AWS-wired handler from the environment (throws ConfigError naming a bad variable). */
export function createHandlerFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  clients: { readonly s3?: S3Client; readonly ecs?: ECSClient } = {},
): SqsBatchHandler {
  const config = loadConfigFromEnv(env);
  const logger = createLogger({ level: config.logLevel });
  return createHandler({
    store: new S3ObjectStore(clients.s3 ? { client: clients.s3 } : {}),
    runner: config.dispatchQueueUrl
      ? new QueueDispatchRunner(new SqsDispatchQueue(config.dispatchQueueUrl))
      : new EcsTaskRunner(requireEcs(config.ecs), {
          logger,
          ...(clients.ecs ? { client: clients.ecs } : {}),
        }),
    config: config.trigger,
    logger,
  });
}

function requireEcs<T>(ecs: T | undefined): T {
  if (ecs === undefined) throw new Error('no ECS settings and no dispatch queue');
  return ecs;
}

let wired: SqsBatchHandler | undefined;

/**
 * Lambda handler for the SQS event source (with `ReportBatchItemFailures`). Configuration is read
 * once, on the first invocation of a cold start; a bad variable fails that invocation loudly.
 */
export async function handler(event: SQSEvent, _context?: Context): Promise<SQSBatchResponse> {
  wired ??= createHandlerFromEnv();
  return wired(event);
}
