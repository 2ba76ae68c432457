import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TriggerSettings } from '../config.ts';
import { acknowledge } from '../nag.ts';
import { LAMBDA_CONCURRENCY_REASON } from './job-control.ts';
import type { Network } from './network.ts';
import { RAW_PREFIX } from './storage.ts';
import { type LambdaCodeSource, vpcFunction } from './vpc-function.ts';

export interface IngestProps {
  readonly settings: TriggerSettings;
  readonly rawBucket: s3.Bucket;
  readonly network: Network;
  readonly code: LambdaCodeSource;
  readonly logRetention: logs.RetentionDays;
  readonly logKey: kms.IKey;
}

/** Lambda timeout; the queue's visibility timeout is six times this (AWS guidance for SQS sources). */
const TRIGGER_TIMEOUT = Duration.seconds(60);
/** Receives before a message goes to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;

/**
 * From upload to task start (DESIGN D1): ObjectCreated events under `incoming/` go to an SQS queue
 * (with a dead-letter queue); the trigger Lambda reads them in batches, reports per-message
 * failures, writes job specs and hands each job to the dispatch queue (job-control.ts).
 */
export class Ingest extends Construct {
  /** Separate from the raw bucket's key: sharing it makes a circular dependency. */
  readonly queueKey: kms.Key;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly trigger: nodejs.NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    const s = props.settings;

    this.queueKey = new kms.Key(this, 'QueueKey', {
      description: 'medimg pipeline: intake queue and its dead-letter queue',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'IntakeQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(TRIGGER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    props.rawBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), {
      prefix: RAW_PREFIX.incoming,
    });
    acknowledgeBucketNotificationsHandler(props.rawBucket);

    const { fn, role } = vpcFunction(this, {
      ids: {
        logGroup: 'TriggerLogGroup',
        role: 'TriggerRole',
        securityGroup: 'TriggerSecurityGroup',
        function: 'TriggerFunction',
      },
      description: 'medimg trigger: S3 upload events (via SQS) to job specs and the dispatch queue',
      roleDescription: 'medimg trigger Lambda: job specs in the raw bucket, jobs to the dispatch queue',
      securityGroupDescription: 'medimg trigger Lambda: no inbound, HTTPS out to VPC endpoints',
      code: props.code,
      network: props.network,
      logRetention: props.logRetention,
      logKey: props.logKey,
      memorySize: 512,
      timeout: TRIGGER_TIMEOUT,
      reservedConcurrentExecutions: s.reservedConcurrency,
    });
    this.role = role;
    this.trigger = fn;

    if (s.reservedConcurrency === undefined) {
      acknowledge(this.trigger, 'HIPAA.Security-LambdaConcurrency', LAMBDA_CONCURRENCY_REASON);
    }
    acknowledge(
      this.trigger,
      'HIPAA.Security-LambdaDLQ',
      'The function is invoked synchronously by an SQS event source mapping; a function dead-letter queue applies to asynchronous invocations only. Messages that fail are returned to the intake queue (partial batch responses) and moved to its dead-letter queue after the maximum receive count, which is alarmed.',
    );

    this.trigger.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: s.batchSize,
        maxBatchingWindow: Duration.seconds(s.maxBatchingWindowSeconds),
        reportBatchItemFailures: true,
        maxConcurrency: s.maxConcurrency,
      }),
    );
  }
}

/**
 * S3 event notifications are configured by CDK's own singleton custom resource (one per stack); its
 * role and policy are CDK's, not ours to narrow.
 */
function acknowledgeBucketNotificationsHandler(bucket: s3.Bucket): void {
  const stack = Stack.of(bucket);
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
    acknowledge(
      child,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "CDK's bucket-notifications custom resource (runs only during deployment to set the notification configuration) uses the basic Lambda execution managed policy to write its own logs.",
    );
  }
  const notifications = bucket.node.tryFindChild('Notifications');
  if (notifications) {
    acknowledge(
      notifications,
      'HIPAA.Security-IAMNoInlinePolicy',
      "CDK's bucket-notifications custom resource policy: s3:PutBucketNotification on this bucket only, attached inline by CDK to its deployment-time handler.",
    );
  }
}
