/**
 * The dispatcher on this machine (docs/decisions/014-job-dispatch-and-retries.md): the same core
 * and handlers as the Lambda, with the ledger in the local S3, the dispatch queue in the local SQS,
 * tasks from the local task runner, operations messages to the local SNS; each task that exits is
 * turned into the "ECS Task State Change" event EventBridge would deliver.
 */
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { S3ObjectStore } from '@medimg/aws';
import { emfSink } from '@medimg/common';
import {
  ObjectStoreLedger,
  SnsOpsNotifier,
  SqsDispatchQueue,
} from '@medimg/trigger-lambda/adapters/dispatch-aws.ts';
import { Dispatcher, type DispatcherConfig } from '@medimg/trigger-lambda/dispatch/core.ts';
import { createDispatchHandlers } from '@medimg/trigger-lambda/dispatch/handler.ts';
import { taskStoppedEvent } from '@medimg/trigger-lambda/dispatch/task-event.ts';
import { createLogger } from '@medimg/trigger-lambda/logger.ts';
import { type LambdaPoller, pollQueueIntoHandler } from './lambda-poller.ts';
import type { LocalServers } from './servers.ts';
import type { LocalTaskRunner, TaskRecord } from './task-runner.ts';

export const LOCAL_CLUSTER_ARN = 'arn:aws:ecs:us-east-1:000000000000:cluster/local';
const CONTAINER = 'worker';

export interface LocalDispatch {
  readonly queue: SqsDispatchQueue;
  readonly queueUrl: string;
  /** Hand every exited task to the dispatcher (wire into the task runner's onExit). */
  onTaskExit(task: TaskRecord): void;
  /** Messages on the dispatch queue, visible or in flight (delayed ones not counted). */
  depth(): Promise<number>;
  /** Resolves when every stopped-task event handed over so far has been handled. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalDispatch(options: {
  readonly servers: LocalServers;
  readonly runner: LocalTaskRunner;
  readonly config: DispatcherConfig;
  readonly log: (line: string) => void;
}): Promise<LocalDispatch> {
  const { servers, runner } = options;
  const created = await servers.sqs.send(
    // The Lambda's queue comes back after 60 s at the cap; locally 2 s keeps tests short.
    new CreateQueueCommand({ QueueName: 'medimg-dispatch', Attributes: { VisibilityTimeout: '2' } }),
  );
  const queueUrl = created.QueueUrl!;
  const queue = new SqsDispatchQueue(queueUrl, { client: servers.sqs });
  const logger = createLogger({ write: options.log });
  const dispatcher = new Dispatcher({
    ledger: new ObjectStoreLedger(servers.names.rawBucket, new S3ObjectStore({ client: servers.s3 })),
    queue,
    tasks: {
      runTask: (input) => runner.runTask(input),
      stopTask: (taskArn) => runner.stopTask(taskArn),
      countRunning: (atMost) => runner.countRunning(atMost),
    },
    ops: new SnsOpsNotifier(servers.opsTopicArn, { client: servers.sns }),
    config: options.config,
    logger,
    metrics: emfSink(options.log),
  });
  const handlers = createDispatchHandlers(dispatcher, { containerName: CONTAINER, logger });
  const poller: LambdaPoller = pollQueueIntoHandler({
    sqs: servers.sqs,
    queueUrl,
    handler: handlers.onQueueBatch,
    batchSize: 10,
    batchingWindowMs: 100,
  });
  const pending = new Set<Promise<unknown>>();
  return {
    queue,
    queueUrl,
    onTaskExit(task) {
      const event = taskStoppedEvent({
        clusterArn: LOCAL_CLUSTER_ARN,
        taskArn: task.taskArn,
        containerName: CONTAINER,
        jobSpecUri: task.jobSpecUri,
        attempt: task.attempt,
        ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
        stopCode: task.stopCode ?? 'EssentialContainerExited',
        time: new Date(),
      });
      const p = handlers.onTaskStateChange(event).catch((error: unknown) => {
        options.log(
          JSON.stringify({ level: 'error', message: 'stopped-task event failed', error: String(error) }),
        );
      });
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    async depth() {
      const out = await servers.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    stop: () => poller.stop(),
  };
}
