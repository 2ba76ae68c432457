/**
 * Runs the trigger Lambda's handler on SQS batches, as the Lambda SQS event source mapping does:
 * gather messages until the batch size or the batching window is reached (ReceiveMessage returns
 * at most 10 at a time), call the handler, delete the messages that did not fail (partial batch
 * responses). Failed ones come back after the
 * visibility timeout and end in the dead-letter queue after maxReceiveCount.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface LambdaPoller {
  /** Number of handler invocations so far. */
  readonly invocations: number;
  stop(): Promise<void>;
}

export function pollQueueIntoHandler(options: {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn?: string;
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Largest batch handed to the handler (the event source mapping's BatchSize). */
  readonly batchSize?: number;
  /** The mapping's MaximumBatchingWindowInSeconds, in ms (AWS: 20 s in infra; locally shorter). */
  readonly batchingWindowMs?: number;
  readonly onBatch?: (records: number, failed: number) => void;
  readonly onError?: (error: unknown) => void;
}): LambdaPoller {
  let running = true;
  let invocations = 0;
  const loop = (async () => {
    while (running) {
      try {
        const batchSize = options.batchSize ?? 1000;
        const messages: Message[] = [];
        let windowEnds = Number.POSITIVE_INFINITY;
        while (running && messages.length < batchSize && Date.now() < windowEnds) {
          const out = await options.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: options.queueUrl,
              MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
              WaitTimeSeconds: messages.length ? 0 : 1,
              MessageSystemAttributeNames: ['All'],
            }),
          );
          const got = out.Messages ?? [];
          if (got.length === 0) {
            if (messages.length === 0) break;
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          if (messages.length === 0) windowEnds = Date.now() + (options.batchingWindowMs ?? 1500);
          messages.push(...got);
        }
        if (messages.length === 0) continue;
        const event: SQSEvent = {
          Records: messages.map(
            (m): SQSRecord => ({
              messageId: m.MessageId!,
              receiptHandle: m.ReceiptHandle!,
              body: m.Body ?? '',
              attributes: (m.Attributes ?? {}) as unknown as SQSRecord['attributes'],
              messageAttributes: {},
              md5OfBody: m.MD5OfBody ?? '',
              eventSource: 'aws:sqs',
              eventSourceARN: options.queueArn ?? 'arn:aws:sqs:us-east-1:000000000000:local',
              awsRegion: 'us-east-1',
            }),
          ),
        };
        invocations += 1;
        let failedIds = new Set<string>();
        try {
          const response = await options.handler(event);
          failedIds = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        } catch (error) {
          // A thrown handler fails the whole batch, as in Lambda.
          failedIds = new Set(messages.map((m) => m.MessageId!));
          options.onError?.(error);
        }
        options.onBatch?.(messages.length, failedIds.size);
        const done = messages.filter((m) => !failedIds.has(m.MessageId!));
        for (let i = 0; i < done.length; i += 10) {
          await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done
                .slice(i, i + 10)
                .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
      } catch (error) {
        if (running) options.onError?.(error);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    get invocations() {
      return invocations;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
