/**
 * Routes the local S3 server's ObjectCreated events to the SQS intake queue, as an S3 event
 * notification configuration does in AWS. s3rver's event keys are not URL-encoded: the bridge
 * encodes them as AWS does (each path segment percent-encoded, '+' for a space), so the trigger
 * Lambda decodes exactly what it decodes in production.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

interface S3rverRecord {
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string } };
}

export function awsEncodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

export function bridgeS3EventsToSqs(options: {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly onError?: (error: unknown) => void;
}): { listener: (event: unknown) => void; flush(): Promise<void> } {
  const inFlight = new Set<Promise<unknown>>();
  const listener = (event: unknown) => {
    const records = ((event as { Records?: S3rverRecord[] }).Records ?? []).filter(
      (r) =>
        r.eventName?.startsWith('ObjectCreated:') &&
        r.s3?.bucket?.name === options.bucket &&
        (r.s3.object?.key ?? '').startsWith(options.prefix),
    );
    if (records.length === 0) return;
    const body = {
      Records: records.map((r) => ({
        ...r,
        s3: { ...r.s3, object: { ...r.s3?.object, key: awsEncodeKey(r.s3?.object?.key ?? '') } },
      })),
    };
    const sent = options.sqs
      .send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: JSON.stringify(body) }))
      .catch((error) => options.onError?.(error))
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };
  return { listener, flush: async () => void (await Promise.all([...inFlight])) };
}
