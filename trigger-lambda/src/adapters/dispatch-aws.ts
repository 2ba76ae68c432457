/** The dispatcher's AWS adapters: ledger on S3, dispatch queue on SQS, operations on SNS. */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from '@medimg/aws';
import { type ObjectStore, rawKeys } from '@medimg/common';
import {
  type DeadLetterRecord,
  type DispatchMessage,
  type JobLedger,
  JobLedgerSchema,
} from '../dispatch/model.ts';
import type { DispatchQueue, LedgerStore, OpsNotifier } from '../dispatch/ports.ts';
import type { RunTaskInput, TaskRunner } from '../ports.ts';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2));

/**
 * `jobs/<jobId>.attempts.json` and `jobs/<jobId>.dead-letter.json` in the raw bucket, on the shared
 * ObjectStore port (S3ObjectStore in AWS and in the demo). Store errors stay ObjectStoreErrors.
 */
export class ObjectStoreLedger implements LedgerStore {
  constructor(
    private readonly bucket: string,
    private readonly store: ObjectStore,
  ) {}

  async read(jobId: string): Promise<JobLedger | undefined> {
    const bytes = await this.store.getIfExists(this.bucket, rawKeys.jobAttempts(jobId));
    if (bytes === undefined) return undefined;
    return JobLedgerSchema.parse(JSON.parse(new TextDecoder().decode(bytes)));
  }

  async write(ledger: JobLedger): Promise<void> {
    await this.store.put(this.bucket, rawKeys.jobAttempts(ledger.jobId), json(ledger), {
      contentType: 'application/json',
    });
  }

  async writeDeadLetter(record: DeadLetterRecord): Promise<void> {
    await this.store.put(this.bucket, rawKeys.jobDeadLetter(record.jobId), json(record), {
      contentType: 'application/json',
    });
  }
}

export class SqsDispatchQueue implements DispatchQueue {
  readonly #client: SQSClient;
  constructor(
    private readonly queueUrl: string,
    options: { readonly client?: SQSClient } = {},
  ) {
    this.#client = options.client ?? new SQSClient(awsClientConfig());
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
    this.#client = options.client ?? new SNSClient(awsClientConfig());
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
