import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { awsClientConfig } from '@medimg/aws';
import { type Notifier, NotifyError, type PublishInput } from '../ports/notifier.port.ts';

/**
 * SNS behind the Notifier port; the SDK's standard retry strategy covers throttling, 5xx and
 * timeouts (the shared HTTP bounds of @medimg/aws).
 */
export class SnsNotifier implements Notifier {
  private readonly client: SNSClient;

  constructor(options: { client?: SNSClient } = {}) {
    this.client = options.client ?? new SNSClient(awsClientConfig());
  }

  async publish(input: PublishInput): Promise<string> {
    try {
      const out = await this.client.send(
        new PublishCommand({
          TopicArn: input.topicArn,
          Subject: input.subject,
          Message: input.message,
          MessageAttributes: Object.fromEntries(
            Object.entries(input.attributes ?? {}).map(([k, v]) => [
              k,
              { DataType: 'String', StringValue: v },
            ]),
          ),
        }),
      );
      return out.MessageId ?? '';
    } catch (error) {
      throw new NotifyError('publish failed', { cause: error });
    }
  }
}
