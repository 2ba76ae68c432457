import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TriggerSettings } from '../config.ts';
import { acknowledge, arnWildcardFinding, INLINE_POLICY_REASON } from '../nag.ts';
import { LAMBDA_CONCURRENCY_REASON } from './job-control.ts';
import type { Network } from './network.ts';
import { RAW_PREFIX } from './storage.ts';

export interface TriggerCodeSource {
  /** The handler module (exports `handler`). */
  readonly entry: string;
  /** Repository root: the lockfile and the workspaces esbuild resolves from. */
  readonly projectRoot: string;
  readonly depsLockFilePath: string;
}

export interface IngestProps {
  readonly settings: TriggerSettings;
  readonly rawBucket: s3.Bucket;
  readonly network: Network;
  readonly code: TriggerCodeSource;
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

    const logGroup = new logs.LogGroup(this, 'TriggerLogGroup', {
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An explicit role: no AWS managed policy, log writes to its own group only.
    this.role = new iam.Role(this, 'TriggerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'medimg trigger Lambda: job specs in the raw bucket, jobs to the dispatch queue',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn, `${logGroup.logGroupArn}:*`],
      }),
    );
    // Lambda in a VPC manages its own network interfaces; these EC2 actions take no resource ARN.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );

    const securityGroup = props.network.workloadSecurityGroup(
      this,
      'TriggerSecurityGroup',
      'medimg trigger Lambda: no inbound, HTTPS out to VPC endpoints',
    );

    this.trigger = new nodejs.NodejsFunction(this, 'TriggerFunction', {
      description: 'medimg trigger: S3 upload events (via SQS) to job specs and the dispatch queue',
      entry: props.code.entry,
      handler: 'handler',
      projectRoot: props.code.projectRoot,
      depsLockFilePath: props.code.depsLockFilePath,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: TRIGGER_TIMEOUT,
      role: this.role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: s.reservedConcurrency,
      vpc: props.network.vpc,
      vpcSubnets: props.network.workloadSubnets,
      securityGroups: [securityGroup],
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Bundle the AWS SDK too: the deployed code is exactly what was tested.
        externalModules: [],
        mainFields: ['module', 'main'],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });

    acknowledge(
      this.role,
      arnWildcardFinding(logGroup, ':*'),
      "Log streams of the function's own log group; Lambda names them at run time.",
    );
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'The EC2 network-interface actions a Lambda function in a VPC needs (the same set as the AWSLambdaVPCAccessExecutionRole managed policy) support no resource-level permissions.',
    );
    acknowledge(this.role, 'HIPAA.Security-IAMNoInlinePolicy', INLINE_POLICY_REASON);
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
