import { DISPATCHER_ENV as D, TRIGGER_ENV } from '@medimg/common';
import { type CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { JobSettings } from '../config.ts';
import { acknowledge } from '../nag.ts';
import type { Network } from './network.ts';
import type { LambdaCodeSource } from './vpc-function.ts';
import { vpcFunction } from './vpc-function.ts';
import type { Worker } from './worker.ts';

export interface JobControlProps {
  readonly settings: JobSettings;
  readonly worker: Worker;
  readonly network: Network;
  readonly opsTopic: sns.ITopic;
  readonly opsTopicKey?: kms.IKey;
  /** The dispatcher Lambda's handler module (exports `handler`). */
  readonly code: LambdaCodeSource;
  readonly logRetention: logs.RetentionDays;
  readonly logKey: kms.IKey;
}

export const LAMBDA_CONCURRENCY_REASON =
  "Bounded by the SQS event source's maximum concurrency instead of reserved concurrency: an account must keep 100 executions unreserved and new accounts often have 10 in all, so a reservation makes the first deployment fail. The worker tasks themselves are capped by the dispatcher (maxRunningTasks).";

/** How long a job waits at the task cap before the dispatcher looks again (the queue's visibility timeout). */
export const CAP_RECHECK = Duration.seconds(60);
const DISPATCHER_TIMEOUT = Duration.seconds(30);
/** Deferrals at the cap count as receives: 1,000 of them is about 17 hours of waiting before the DLQ. */
export const DISPATCH_MAX_RECEIVES = 1000;

/**
 * From job to task, and back when a task fails (docs/decisions/014-job-dispatch-and-retries.md).
 * The trigger queues each job's first attempt on the dispatch queue; the dispatcher Lambda starts
 * it when fewer than `maxRunningTasks` worker tasks run, and queues a time-limit check. An
 * EventBridge rule sends every stopped worker task to the same Lambda, which records the attempt
 * in the job's ledger and then finishes, re-queues the next attempt with a backoff, or writes the
 * dead-letter record and tells operations.
 */
export class JobControl extends Construct {
  readonly queueKey: kms.Key;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly dispatcher: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly stoppedTaskRule: events.Rule;

  constructor(scope: Construct, id: string, props: JobControlProps) {
    super(scope, id);
    const s = props.settings;
    const worker = props.worker;

    this.queueKey = new kms.Key(this, 'QueueKey', {
      description: 'medimg pipeline: dispatch queue and its dead-letter queue',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DispatchDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'DispatchQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      enforceSSL: true,
      visibilityTimeout: CAP_RECHECK,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: DISPATCH_MAX_RECEIVES },
    });

    const { fn, role } = vpcFunction(this, {
      ids: {
        logGroup: 'DispatcherLogGroup',
        role: 'DispatcherRole',
        securityGroup: 'DispatcherSecurityGroup',
        function: 'DispatcherFunction',
      },
      description: 'medimg dispatcher: task cap, time limit, retries and dead-letter of worker tasks',
      roleDescription:
        'medimg dispatcher Lambda: start, stop and count worker tasks; attempt ledgers; retries',
      securityGroupDescription: 'medimg dispatcher Lambda: no inbound, HTTPS out to VPC endpoints',
      code: props.code,
      network: props.network,
      logRetention: props.logRetention,
      logKey: props.logKey,
      memorySize: 256,
      timeout: DISPATCHER_TIMEOUT,
      environment: {
        [D.DISPATCH_QUEUE_URL]: this.queue.queueUrl,
        [D.OPS_TOPIC_ARN]: props.opsTopic.topicArn,
        [D.TASK_FAMILY]: worker.taskDefinition.family,
        [D.MAX_RUNNING_TASKS]: String(s.maxRunningTasks),
        [D.MAX_ATTEMPTS]: String(s.maxAttempts),
        [D.RETRY_BASE_DELAY_SECONDS]: String(s.retryBaseDelaySeconds),
        [D.TASK_TIME_LIMIT_SECONDS]: String(s.taskTimeLimitMinutes * 60),
      },
      deadLetterQueue: this.deadLetterQueue,
      resourceStarReason:
        'The EC2 network-interface actions of a Lambda function in a VPC, and ecs:ListTasks, support no resource-level permissions; ListTasks is limited to the pipeline cluster by the ecs:cluster condition.',
    });
    this.role = role;
    this.dispatcher = fn;
    this.grantSend(this.role);
    // Publishing to the encrypted operations topic: sns:Publish here, the key through SNS (Notifications).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [props.opsTopic.topicArn] }),
    );
    if (props.opsTopicKey) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [props.opsTopicKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    worker.bindTrigger(this.dispatcher);
    // Stop (time limit) and count (task cap) this cluster's tasks; neither takes a task ARN we know in advance.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:StopTask'],
        resources: [
          `arn:${worker.cluster.stack.partition}:ecs:${worker.cluster.stack.region}:${worker.cluster.stack.account}:task/${worker.cluster.clusterName}/*`,
        ],
        conditions: { ArnEquals: { 'ecs:cluster': worker.cluster.clusterArn } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:ListTasks'],
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': worker.cluster.clusterArn } },
      }),
    );

    this.dispatcher.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        // Two at a time: the task cap is counted before each start, so fewer racers overshoot less.
        maxConcurrency: 2,
      }),
    );

    this.stoppedTaskRule = new events.Rule(this, 'StoppedTaskRule', {
      description: 'medimg worker task stopped (any exit): record the attempt, retry or dead-letter',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [worker.cluster.clusterArn],
          lastStatus: ['STOPPED'],
          group: [`family:${worker.taskDefinition.family}`],
        },
      },
    });
    this.stoppedTaskRule.addTarget(
      new targets.LambdaFunction(this.dispatcher, { retryAttempts: 8, maxEventAge: Duration.hours(6) }),
    );

    acknowledge(
      this.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${Stack.of(worker.cluster).getLogicalId(worker.cluster.node.defaultChild as CfnResource)}>/*]`,
      'Task ids are assigned by ECS at run time; StopTask is limited to tasks of the pipeline cluster (resource and ecs:cluster condition).',
    );
    acknowledge(this.dispatcher, 'HIPAA.Security-LambdaConcurrency', LAMBDA_CONCURRENCY_REASON);
  }

  /** The trigger queues first attempts here instead of calling RunTask. Sets DISPATCH_QUEUE_URL. */
  bindTrigger(fn: lambda.Function): void {
    fn.addEnvironment(TRIGGER_ENV.DISPATCH_QUEUE_URL, this.queue.queueUrl);
    this.grantSend(fn);
  }

  /** sqs:SendMessage on the dispatch queue and its key through SQS only (no kms:* wildcards). */
  private grantSend(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.queueKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }
}
