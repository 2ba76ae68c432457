/**
 * The local stand-ins for AWS (DESIGN D9): s3rver for S3 (objects persisted in a folder, presigned
 * URLs enforced, ObjectCreated events), fauxqs for SQS and SNS (dead-letter queues, SNS fan-out to
 * SQS), and the model server from models/ on a local port. The production AWS SDK v3 clients talk
 * to them through endpoint overrides.
 */
import { mkdir } from 'node:fs/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from '@medimg/aws';
import { startS3rver } from '@medimg/aws/testing';
import { startModelServer } from '@medimg/models/server.ts';
import { startFauxqs } from 'fauxqs';

export const LOCAL_REGION = 'us-east-1';
/** s3rver checks signatures against its fixed account; fauxqs accepts any credentials. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalNames {
  readonly rawBucket: string;
  readonly processedBucket: string;
  readonly linkageBucket: string;
  readonly intakeQueue: string;
  readonly intakeDlq: string;
  readonly mailQueue: string;
  readonly findingsTopic: string;
  readonly opsTopic: string;
  readonly endpointName: string;
}

export const LOCAL_NAMES: LocalNames = {
  rawBucket: 'medimg-raw',
  processedBucket: 'medimg-processed',
  linkageBucket: 'medimg-linkage',
  intakeQueue: 'medimg-intake',
  intakeDlq: 'medimg-intake-dlq',
  mailQueue: 'medimg-clinician-mail',
  findingsTopic: 'medimg-critical-findings',
  opsTopic: 'medimg-operations',
  endpointName: 'medimg-anomaly-detector',
};

export interface LocalServers {
  readonly names: LocalNames;
  readonly s3Url: string;
  readonly awsUrl: string;
  readonly modelUrl: string;
  readonly intakeQueueUrl: string;
  readonly intakeDlqUrl: string;
  readonly mailQueueUrl: string;
  readonly findingsTopicArn: string;
  readonly opsTopicArn: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  /** s3rver's ObjectCreated events, as S3 event notification JSON (keys not URL-encoded). */
  onS3Event(listener: (event: unknown) => void): void;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** s3rver keeps its objects here, so a user can look at the results afterwards. */
  readonly s3Directory: string;
  readonly modelDir: string;
  readonly names?: LocalNames;
  /** SQS visibility timeout of the intake queue, seconds (a failed message comes back after it). */
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  /** Use this model server instead of starting one (e.g. http://model:8080 under docker compose). */
  readonly modelUrl?: string;
  /** The model server's structured log events (default: dropped). */
  readonly modelLog?: (event: Readonly<Record<string, unknown>>) => void;
  /**
   * Where S3 and SQS/SNS listen (default 127.0.0.1, any free port). Under docker compose they bind
   * 0.0.0.0 on fixed ports, so that the worker's container reaches them as `advertisedHost`.
   */
  readonly network?: { readonly bindHost: string; readonly s3Port: number; readonly awsPort: number };
}

/** Waits until an external model server answers /ping with 200 (its container may still be starting). */
async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error('the model server did not answer /ping in time');
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function startLocalServers(options: StartOptions): Promise<LocalServers> {
  const names = options.names ?? LOCAL_NAMES;
  await mkdir(options.s3Directory, { recursive: true });
  const bindHost = options.network?.bindHost ?? '127.0.0.1';
  const s3rver = await startS3rver({
    directory: options.s3Directory,
    address: bindHost,
    ...(options.network ? { port: options.network.s3Port } : {}),
  });
  const s3Url = s3rver.url;
  const fauxqs = await startFauxqs({ port: options.network?.awsPort ?? 0, host: bindHost, logger: false });
  const awsUrl = `http://127.0.0.1:${fauxqs.port}`;
  // An external model server (docker compose's model container), or the one from models/ in-process.
  const model = options.modelUrl
    ? { url: options.modelUrl.replace(/\/$/, ''), close: async () => {} }
    : await startModelServer({
        port: 0,
        host: '127.0.0.1',
        modelDir: options.modelDir,
        log: options.modelLog ?? (() => {}),
      });
  if ('ready' in model) await model.ready;
  else await waitForPing(model.url, 120_000);

  // The stand-in Lambdas' clients, made as in AWS (retries and time bounds of @medimg/aws).
  const common = { ...awsClientConfig(), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const s3 = new S3Client({ ...common, endpoint: s3Url, forcePathStyle: true });
  const sqs = new SQSClient({ ...common, endpoint: awsUrl });
  const sns = new SNSClient({ ...common, endpoint: awsUrl });

  for (const bucket of [names.rawBucket, names.processedBucket, names.linkageBucket]) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
  }
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: names.intakeDlq }));
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const intake = await sqs.send(
    new CreateQueueCommand({
      QueueName: names.intakeQueue,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? 3,
        }),
      },
    }),
  );
  const mail = await sqs.send(new CreateQueueCommand({ QueueName: names.mailQueue }));
  const mailArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: mail.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const findings = await sns.send(new CreateTopicCommand({ Name: names.findingsTopic }));
  const ops = await sns.send(new CreateTopicCommand({ Name: names.opsTopic }));
  // The clinicians' and the operators' mailboxes: SNS fans out to a queue that the mail subscriber reads.
  for (const topic of [findings.TopicArn, ops.TopicArn]) {
    await sns.send(new SubscribeCommand({ TopicArn: topic, Protocol: 'sqs', Endpoint: mailArn }));
  }

  return {
    names,
    s3Url,
    awsUrl,
    modelUrl: model.url,
    intakeQueueUrl: intake.QueueUrl!,
    intakeDlqUrl: dlq.QueueUrl!,
    mailQueueUrl: mail.QueueUrl!,
    findingsTopicArn: findings.TopicArn!,
    opsTopicArn: ops.TopicArn!,
    s3,
    sqs,
    sns,
    onS3Event: (listener) => {
      s3rver.onEvent(listener);
    },
    stop: async () => {
      s3.destroy();
      sqs.destroy();
      sns.destroy();
      await model.close();
      await fauxqs.stop();
      await s3rver.close();
    },
  };
}
