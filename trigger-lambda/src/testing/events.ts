/** Builds SQS events from the real-shaped fixtures in ../fixtures (test support). */
import { readFileSync } from 'node:fs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

export const fixtureBody = (name: string): string => JSON.stringify(fixture(name));

/** How S3 writes a key into an event notification: URL-encoded UTF-8, `+` for a space, `/` kept. */
export function encodeKeyLikeS3(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

export interface ObjectEventInput {
  /** The key as stored; encoded into the event unless `encode` is false. */
  readonly key: string;
  readonly size?: number;
  readonly etag?: string;
  readonly bucket?: string;
  readonly eventName?: string;
  readonly encode?: boolean;
}

interface TemplateRecord {
  eventName: string;
  s3: {
    bucket: { name: string; arn: string };
    object: { key: string; size: number; eTag: string; sequencer: string };
  };
}

/** An S3 event notification body (the `s3-object-created.json` fixture with another object). */
export function s3NotificationBody(...objects: ObjectEventInput[]): string {
  const template = fixture('s3-object-created.json') as { Records: TemplateRecord[] };
  const base = template.Records[0]!;
  const records = objects.map((o, i) => {
    const r = structuredClone(base);
    r.eventName = o.eventName ?? 'ObjectCreated:Put';
    r.s3.bucket.name = o.bucket ?? 'raw';
    r.s3.bucket.arn = `arn:aws:s3:::${o.bucket ?? 'raw'}`;
    r.s3.object.key = o.encode === false ? o.key : encodeKeyLikeS3(o.key);
    r.s3.object.size = o.size ?? 0;
    r.s3.object.eTag = o.etag ?? 'd41d8cd98f00b204e9800998ecf8427e';
    r.s3.object.sequencer = `0055AED6DCD9028${i.toString(16).padStart(4, '0')}`;
    return r;
  });
  return JSON.stringify({ Records: records });
}

/** An SNS notification envelope around a message (the `sns-notification.json` fixture). */
export function snsWrappedBody(message: string): string {
  const env = fixture('sns-notification.json') as Record<string, unknown>;
  return JSON.stringify({ ...env, Message: message });
}

let seq = 0;

/** A Lambda SQS event whose records carry the bodies (the `sqs-record.json` fixture per record). */
export function sqsEvent(bodies: readonly string[], ids?: readonly string[]): SQSEvent {
  const template = fixture('sqs-record.json') as SQSRecord;
  return {
    Records: bodies.map((body, i) => ({
      ...structuredClone(template),
      messageId: ids?.[i] ?? `msg-${++seq}`,
      body,
    })),
  };
}

/** Splits into chunks of `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
