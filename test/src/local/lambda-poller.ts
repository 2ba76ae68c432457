/**
 * Runs the trigger Lambda's handler on SQS batches, as the Lambda SQS event source mapping does:
 * receive up to 10 messages (waiting up to the batching window), call the handler, delete the
 * messages that did not fail (partial batch responses). Failed ones come back after the
 * visibility timeout and end in the dead-letter queue after maxReceiveCount.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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
  readonly batchSize?: number;
  readonly waitSeconds?: number;
  readonly onBatch?: (records: number, failed: number) => void;
  readonly onError?: (error: unknown) => void;
}): LambdaPoller {
  let running = true;
  let invocations = 0;
  const loop = (async () => {
    while (running) {
      try {
        const out = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: options.waitSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
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
        if (done.length) {
          await options.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
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
