import type { SQSEvent, SQSRecord } from 'aws-lambda';

/** A message as SQS ReceiveMessage returns it (the fields the trigger reads). */
export interface ReceivedMessage {
  readonly MessageId?: string;
  readonly ReceiptHandle?: string;
  readonly Body?: string;
  readonly Attributes?: Partial<Record<string, string>>;
}

/**
 * Builds the Lambda SQS event for messages received from a queue, the way the event source
 * mapping does; the demo uses it to drive the handler from a local queue.
 */
export function sqsEventFromMessages(
  messages: readonly ReceivedMessage[],
  queueArn = 'arn:aws:sqs:us-east-1:000000000000:intake',
): SQSEvent {
  return {
    Records: messages.map(
      (m, i): SQSRecord => ({
        messageId: m.MessageId ?? `local-${i}`,
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
          SenderId: m.Attributes?.SenderId ?? 'local',
          ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
      }),
    ),
  };
}
