/**
 * The dispatcher Lambda's entry point (export `handler`): wires the AWS adapters to the core.
 * Its two event sources: the dispatch queue (SQS) and the stopped-task rule (EventBridge).
 */
import { S3ObjectStore } from '@medimg/aws';
import { emfSink } from '@medimg/common';
import type { SQSBatchResponse } from 'aws-lambda';
import { ObjectStoreLedger, SnsOpsNotifier, SqsDispatchQueue } from '../adapters/dispatch-aws.ts';
import { EcsTaskRunner } from '../adapters/ecs-task-runner.ts';
import { createLogger } from '../logger.ts';
import { loadDispatcherConfig } from './config.ts';
import { Dispatcher } from './core.ts';
import { createDispatchHandlers, type DispatchHandlers, routeDispatchEvent } from './handler.ts';

let wired: DispatchHandlers | undefined;

function wire(): DispatchHandlers {
  const config = loadDispatcherConfig();
  const logger = createLogger({ level: config.logLevel });
  const ecs = new EcsTaskRunner(config.ecs, { logger });
  const dispatcher = new Dispatcher({
    ledger: new ObjectStoreLedger(config.rawBucket, new S3ObjectStore()),
    queue: new SqsDispatchQueue(config.queueUrl),
    tasks: {
      runTask: (input) => ecs.runTask(input),
      stopTask: (taskArn, reason) => ecs.stopTask(taskArn, reason),
      countRunning: (atMost) => ecs.countRunning(atMost, config.taskFamily),
    },
    ops: new SnsOpsNotifier(config.opsTopicArn),
    config: config.dispatcher,
    logger,
    metrics: emfSink((line) => process.stdout.write(`${line}\n`)),
  });
  return createDispatchHandlers(dispatcher, { containerName: config.ecs.containerName, logger });
}

export async function handler(event: unknown): Promise<SQSBatchResponse | { outcome: string }> {
  wired ??= wire();
  return routeDispatchEvent(wired, event);
}
