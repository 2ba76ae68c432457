import { CodedError } from '@medimg/common';

/** Publishes a message to a topic (SNS in AWS, the local SNS-compatible server in the demo). */
export interface PublishInput {
  readonly topicArn: string;
  /** SNS email subjects: ASCII, at most 100 characters. */
  readonly subject: string;
  readonly message: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface Notifier {
  /** Resolves to the message id. */
  publish(input: PublishInput): Promise<string>;
}

export class NotifyError extends CodedError<'NOTIFY_FAILED'> {
  override readonly name = 'NotifyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOTIFY_FAILED', message, options);
  }
}
