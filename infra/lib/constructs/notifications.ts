import { WORKER_ENV } from '@medimg/common';
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationsProps {
  readonly findingsEmails: readonly string[];
  readonly opsEmails: readonly string[];
}

/**
 * Two topics (DESIGN D6): critical findings for clinicians, and operations (alarms, failed tasks)
 * for the people who run the pipeline. Both are encrypted with a customer-managed key, because
 * CloudWatch alarms and EventBridge can publish to a topic only when its key policy lets them.
 */
export class Notifications extends Construct {
  readonly key: kms.Key;
  readonly findingsTopic: sns.Topic;
  readonly opsTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'TopicKey', {
      description: 'medimg pipeline: SNS topics (findings, operations)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms and EventBridge rules publish to the operations topic.
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${service.split('.')[0]}ToPublishToEncryptedTopics`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
    }

    this.findingsTopic = new sns.Topic(this, 'FindingsTopic', {
      displayName: 'Medical imaging: critical findings',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.opsTopic = new sns.Topic(this, 'OpsTopic', {
      displayName: 'Medical imaging pipeline: operations',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.findingsEmails) {
      this.findingsTopic.addSubscription(new subs.EmailSubscription(email));
    }
    for (const email of props.opsEmails) {
      this.opsTopic.addSubscription(new subs.EmailSubscription(email));
    }
  }

  /** The worker publishes to both topics. Sets FINDINGS_TOPIC_ARN and OPS_TOPIC_ARN. */
  bindWorker(container: ecs.ContainerDefinition): void {
    const role = container.taskDefinition.taskRole;
    container.addEnvironment(WORKER_ENV.FINDINGS_TOPIC_ARN, this.findingsTopic.topicArn);
    container.addEnvironment(WORKER_ENV.OPS_TOPIC_ARN, this.opsTopic.topicArn);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sns:Publish'],
        resources: [this.findingsTopic.topicArn, this.opsTopic.topicArn],
      }),
    );
    // Publishing to an encrypted topic needs the key, through SNS only.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${this.key.stack.region}.amazonaws.com` } },
      }),
    );
  }
}
