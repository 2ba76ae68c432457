/** The dispatcher's AWS adapters: ledger on S3, dispatch queue on SQS, operations on SNS. */
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { rawKeys } from '@medimg/common';
import {
  type DeadLetterRecord,
  type DispatchMessage,
  type JobLedger,
  JobLedgerSchema,
} from '../dispatch/model.ts';
import type { DispatchQueue, LedgerStore, OpsNotifier } from '../dispatch/ports.ts';
import { TriggerError } from '../errors.ts';
import type { RunTaskInput, TaskRunner } from '../ports.ts';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2));

/** `jobs/<jobId>.attempts.json` and `jobs/<jobId>.dead-letter.json` in the raw bucket. */
export class S3LedgerStore implements LedgerStore {
  readonly #client: S3Client;
  constructor(
    private readonly bucket: string,
    options: { readonly client?: S3Client } = {},
  ) {
    this.#client = options.client ?? new S3Client({});
  }

  async read(jobId: string): Promise<JobLedger | undefined> {
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: rawKeys.jobAttempts(jobId) }),
      );
      const text = (await out.Body?.transformToString('utf-8')) ?? '';
      return JobLedgerSchema.parse(JSON.parse(text));
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((err instanceof S3ServiceException && err.name === 'NoSuchKey') || status === 404) return undefined;
      throw new TriggerError(
        'STORE_FAILED',
        `S3 ledger read failed: ${err instanceof Error ? err.name : 'unknown'}`,
        {
          cause: err,
        },
      );
    }
  }

  async write(ledger: JobLedger): Promise<void> {
    await this.#put(rawKeys.jobAttempts(ledger.jobId), ledger);
  }

  async writeDeadLetter(record: DeadLetterRecord): Promise<void> {
    await this.#put(rawKeys.jobDeadLetter(record.jobId), record);
  }

  async #put(key: string, value: unknown): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: json(value),
          ContentType: 'application/json',
        }),
      );
    } catch (err) {
      throw new TriggerError(
        'STORE_FAILED',
        `S3 ledger write failed: ${err instanceof Error ? err.name : 'unknown'}`,
        {
          cause: err,
        },
      );
    }
  }
}

export class SqsDispatchQueue implements DispatchQueue {
  readonly #client: SQSClient;
  constructor(
    private readonly queueUrl: string,
    options: { readonly client?: SQSClient } = {},
  ) {
    this.#client = options.client ?? new SQSClient({});
  }

  async send(message: DispatchMessage, delaySeconds: number): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))),
      }),
    );
  }
}

export class SnsOpsNotifier implements OpsNotifier {
  readonly #client: SNSClient;
  constructor(
    private readonly topicArn: string,
    options: { readonly client?: SNSClient } = {},
  ) {
    this.#client = options.client ?? new SNSClient({ maxAttempts: 5 });
  }

  async publish(subject: string, message: string): Promise<void> {
    await this.#client.send(
      new PublishCommand({ TopicArn: this.topicArn, Subject: subject.slice(0, 100), Message: message }),
    );
  }
}

/**
 * The trigger's TaskRunner when jobs go through the dispatcher: it queues the job's first attempt
 * instead of calling RunTask, so that the task cap and the retries apply from the first run.
 * The "task ARN" it returns is the queue message's place holder `dispatched:<jobId>`.
 */
export class QueueDispatchRunner implements TaskRunner {
  constructor(private readonly queue: DispatchQueue) {}

  async runTask(input: RunTaskInput): Promise<{ taskArn: string }> {
    await this.queue.send(
      { kind: 'start', version: 1, jobId: input.jobId, jobSpecUri: input.jobSpecUri, attempt: 1 },
      0,
    );
    return { taskArn: `dispatched:${input.jobId}` };
  }
}
