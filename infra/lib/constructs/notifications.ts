import { WORKER_ENV } from '@medimg/common';
import { Aws, RemovalPolicy } from 'aws-cdk-lib';
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
 * The AWS services that publish to the operations topic, and the only sources they may publish
 * for (confused-deputy guard): this account's alarms and this account's EventBridge rules.
 */
export const OPS_PUBLISHERS = [
  {
    service: 'cloudwatch.amazonaws.com',
    sid: 'CloudWatchAlarms',
    sourceArn: 'cloudwatch',
    resource: 'alarm:*',
  },
  { service: 'events.amazonaws.com', sid: 'EventBridgeRules', sourceArn: 'events', resource: 'rule/*' },
] as const;

function sourceConditions(p: (typeof OPS_PUBLISHERS)[number]) {
  return {
    StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    ArnLike: {
      'aws:SourceArn': `arn:${Aws.PARTITION}:${p.sourceArn}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${p.resource}`,
    },
  };
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
  /** False only for a stack deployed with allowNoRecipients and no findings emails. */
  readonly findingsHaveSubscribers: boolean;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'TopicKey', {
      description: 'medimg pipeline: SNS topics (findings, operations)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms and EventBridge rules of this account publish to the operations topic.
    for (const p of OPS_PUBLISHERS) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${p.sid}ToPublishToEncryptedTopics`,
          principals: [new iam.ServicePrincipal(p.service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: sourceConditions(p),
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
    // enforceSSL writes a topic policy; without an Allow for CloudWatch in it, alarm actions are refused.
    for (const p of OPS_PUBLISHERS) {
      this.opsTopic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${p.sid}ToPublish`,
          principals: [new iam.ServicePrincipal(p.service)],
          actions: ['sns:Publish'],
          resources: [this.opsTopic.topicArn],
          conditions: sourceConditions(p),
        }),
      );
    }
    this.findingsHaveSubscribers = props.findingsEmails.length > 0;
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
    // The worker records "no subscribers" in the job record instead of counting a finding as delivered.
    container.addEnvironment(
      WORKER_ENV.FINDINGS_SUBSCRIBERS,
      this.findingsHaveSubscribers ? 'email' : 'none',
    );
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
