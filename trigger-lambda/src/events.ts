import { z } from 'zod';
import { TriggerError } from './errors.ts';

/** One object event taken out of an S3 event notification, with its key decoded. */
export interface S3ObjectEvent {
  readonly eventName: string;
  readonly bucket: string;
  readonly key: string;
  readonly size?: number;
  readonly etag?: string;
  readonly versionId?: string;
}

export type ParsedBody =
  /** `s3:TestEvent`, sent once when the notification is configured. */
  | { readonly kind: 'test' }
  /** An SNS message that is not a notification (nothing to do). */
  | { readonly kind: 'ignored' }
  | { readonly kind: 's3'; readonly events: readonly S3ObjectEvent[] };

const S3RecordSchema = z.object({
  eventName: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
    }),
  }),
});

const S3NotificationSchema = z.object({ Records: z.array(S3RecordSchema) });
const TestEventSchema = z.object({ Event: z.literal('s3:TestEvent') });
const SnsEnvelopeSchema = z.object({ Type: z.string(), Message: z.string().optional() });

/**
 * Decodes a key from an S3 event notification: URL-encoded UTF-8 with `+` for a space. With
 * `urlEncoded` false (s3rver) the key is taken as it is.
 */
export function decodeEventKey(raw: string, urlEncoded: boolean): string {
  if (!urlEncoded) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch (cause) {
    throw new TriggerError('EVENT_INVALID', 'an S3 event key is not valid URL encoding', { cause });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TriggerError('EVENT_INVALID', 'message body is not JSON', { cause });
  }
}

/**
 * Parses one SQS message body: an S3 event notification, an `s3:TestEvent`, or either wrapped in an
 * SNS notification (`Type: Notification`, the event as a JSON string in `Message`).
 * Throws TriggerError EVENT_INVALID for anything else.
 */
export function parseMessageBody(body: string, options: { readonly keysUrlEncoded: boolean }): ParsedBody {
  let value = parseJson(body);
  const sns = SnsEnvelopeSchema.safeParse(value);
  if (sns.success && !(value as { Records?: unknown }).Records) {
    if (sns.data.Type !== 'Notification') return { kind: 'ignored' };
    if (sns.data.Message === undefined) {
      throw new TriggerError('EVENT_INVALID', 'SNS notification without a message');
    }
    value = parseJson(sns.data.Message);
  }
  if (TestEventSchema.safeParse(value).success) return { kind: 'test' };
  const parsed = S3NotificationSchema.safeParse(value);
  if (!parsed.success) {
    throw new TriggerError('EVENT_INVALID', 'message body is not an S3 event notification');
  }
  return {
    kind: 's3',
    events: parsed.data.Records.map((r) => {
      const { key, size, eTag, versionId } = r.s3.object;
      return {
        eventName: r.eventName,
        bucket: r.s3.bucket.name,
        key: decodeEventKey(key, options.keysUrlEncoded),
        ...(size !== undefined ? { size } : {}),
        ...(eTag !== undefined ? { etag: eTag.replace(/^"|"$/g, '') } : {}),
        ...(versionId !== undefined ? { versionId } : {}),
      };
    }),
  };
}

/** `ObjectCreated:*` events start work; `ObjectRemoved:*` and the rest are ignored. */
export function isObjectCreated(event: Pick<S3ObjectEvent, 'eventName'>): boolean {
  return /^(s3:)?ObjectCreated:/.test(event.eventName);
}
