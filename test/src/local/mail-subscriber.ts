/**
 * The clinicians' (and operators') mailbox: SNS delivers email in AWS; locally, the topics fan out
 * to an SQS queue and this subscriber writes each notification as a readable RFC 5322 email file
 * (.eml) under the demo folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface ReceivedMail {
  readonly file: string;
  readonly topicArn: string;
  readonly subject: string;
  readonly body: string;
  readonly messageId: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly eml: string;
}

interface SnsEnvelope {
  Type?: string;
  MessageId?: string;
  TopicArn?: string;
  Subject?: string;
  Message?: string;
  Timestamp?: string;
  MessageAttributes?: Record<string, { Type?: string; Value?: string }>;
}

export function toEml(envelope: SnsEnvelope, to: string): string {
  const date = envelope.Timestamp ? new Date(envelope.Timestamp) : new Date();
  const topicName = envelope.TopicArn?.split(':').at(-1) ?? 'medimg';
  return [
    `From: medimg pipeline <${topicName}@medimg.local>`,
    `To: ${to}`,
    `Subject: ${envelope.Subject ?? '(no subject)'}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${envelope.MessageId ?? 'unknown'}@medimg.local>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    `X-SNS-Topic-Arn: ${envelope.TopicArn ?? ''}`,
    '',
    envelope.Message ?? '',
    '',
  ].join('\r\n');
}

export function subscribeMailbox(options: {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly directory: string;
  readonly recipients: (topicArn: string) => string;
  readonly onMail?: (mail: ReceivedMail) => void;
}): { readonly received: ReceivedMail[]; drain(): Promise<void>; stop(): Promise<void> } {
  const received: ReceivedMail[] = [];
  let running = true;
  const receiveOnce = async (waitSeconds: number): Promise<number> => {
    const out = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
      }),
    );
    for (const m of out.Messages ?? []) {
      const envelope = JSON.parse(m.Body ?? '{}') as SnsEnvelope;
      const eml = toEml(envelope, options.recipients(envelope.TopicArn ?? ''));
      await mkdir(options.directory, { recursive: true });
      const stamp = (envelope.Timestamp ?? new Date().toISOString()).replace(/[:.]/g, '-');
      const file = path.join(options.directory, `${stamp}-${envelope.MessageId ?? m.MessageId}.eml`);
      await writeFile(file, eml);
      const mail: ReceivedMail = {
        file,
        topicArn: envelope.TopicArn ?? '',
        subject: envelope.Subject ?? '',
        body: envelope.Message ?? '',
        messageId: envelope.MessageId ?? '',
        attributes: Object.fromEntries(
          Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value ?? '']),
        ),
        eml,
      };
      received.push(mail);
      options.onMail?.(mail);
      await options.sqs.send(
        new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
    return out.Messages?.length ?? 0;
  };
  const loop = (async () => {
    while (running) {
      await receiveOnce(1).catch(() => new Promise((r) => setTimeout(r, 200)));
    }
  })();
  return {
    received,
    /** Reads until the queue answers empty (SNS to SQS delivery is synchronous in the local server). */
    drain: async () => {
      while ((await receiveOnce(0)) > 0) {}
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
