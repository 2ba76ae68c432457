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

export class NotifyError extends Error {
  override readonly name = 'NotifyError';
  readonly code = 'NOTIFY_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
