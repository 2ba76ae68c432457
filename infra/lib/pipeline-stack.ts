import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from './config.ts';
import { AuditTrail } from './constructs/audit-trail.ts';
import { DeidKey } from './constructs/deid-key.ts';
import { Inference } from './constructs/inference.ts';
import { InferenceScaling } from './constructs/inference-scaling.ts';
import { Ingest } from './constructs/ingest.ts';
import { JobControl } from './constructs/job-control.ts';
import { Network } from './constructs/network.ts';
import { Notifications } from './constructs/notifications.ts';
import { Observability } from './constructs/observability.ts';
import { OperationsAlarms } from './constructs/operations-alarms.ts';
import { PhiAccess } from './constructs/phi-access.ts';
import { Storage } from './constructs/storage.ts';
import { Worker } from './constructs/worker.ts';
import type { PipelineSources } from './sources.ts';

export interface PipelineStackProps extends StackProps {
  readonly config: PipelineConfig;
  readonly sources: PipelineSources;
}

/**
 * The whole pipeline in one stack (one `cdk deploy`, no cross-stack exports to untangle): storage,
 * ingest, processing, inference, notification and observability are constructs, wired here with
 * their bind methods, each of which grants one permission set and sets the matching environment.
 * The upload API (presigned URLs) joins later as one more construct bound to `storage`.
 */
export class PipelineStack extends Stack {
  readonly storage: Storage;
  readonly notifications: Notifications;
  readonly network: Network;
  readonly deidKey: DeidKey;
  readonly worker: Worker;
  readonly inference: Inference;
  readonly ingest: Ingest;
  readonly observability: Observability;
  readonly jobControl: JobControl;
  readonly phiAccess: PhiAccess;
  readonly auditTrail: AuditTrail;
  readonly operationsAlarms: OperationsAlarms;
  readonly inferenceScaling?: InferenceScaling;
  readonly logKey: kms.Key;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, sources } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.logKey = new kms.Key(this, 'LogKey', {
      description: 'medimg pipeline: CloudWatch Logs (trigger, worker, endpoint)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.logKey.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`));

    this.storage = new Storage(this, 'Storage', {
      settings: config.storage,
      adminRoleArn: config.access.adminRoleArn,
    });
    this.notifications = new Notifications(this, 'Notifications', {
      findingsEmails: config.findingsEmails,
      opsEmails: config.opsEmails,
    });
    this.network = new Network(this, 'Network', {
      maxAzs: config.maxAzs,
      flowLogBucket: this.storage.auditBucket,
    });
    this.deidKey = new DeidKey(this, 'DeidKey');

    this.inference = new Inference(this, 'Inference', {
      settings: config.inference,
      endpointName: `${config.stackName}-anomaly`,
      image: sources.modelImage,
      modelArtifacts: sources.modelArtifacts,
      network: this.network,
      logRetention,
      logKey: this.logKey,
    });
    if (config.inference.mode === 'instance') {
      this.inferenceScaling = new InferenceScaling(this, 'InferenceScaling', {
        inference: this.inference,
        settings: config.inference,
      });
    }

    this.worker = new Worker(this, 'Processing', {
      settings: config.worker,
      network: this.network,
      image: sources.workerImage,
      logRetention,
      logKey: this.logKey,
      serverlessInference: config.inference.mode === 'serverless',
    });
    this.storage.bindWorker(this.worker.container);
    this.notifications.bindWorker(this.worker.container);
    this.deidKey.bindWorker(this.worker.container);
    this.inference.bindWorker(this.worker.container);

    this.ingest = new Ingest(this, 'Ingest', {
      settings: config.trigger,
      rawBucket: this.storage.rawBucket,
      network: this.network,
      code: sources.trigger,
      logRetention,
      logKey: this.logKey,
    });
    this.storage.bindTrigger(this.ingest.trigger);

    this.jobControl = new JobControl(this, 'JobControl', {
      settings: config.jobs,
      worker: this.worker,
      network: this.network,
      opsTopic: this.notifications.opsTopic,
      opsTopicKey: this.notifications.key,
      code: sources.dispatcher,
      logRetention,
      logKey: this.logKey,
    });
    this.jobControl.bindTrigger(this.ingest.trigger);
    this.storage.bindDispatcher(this.jobControl.dispatcher);

    this.phiAccess = new PhiAccess(this, 'PhiAccess', {
      reidentifierPrincipalArns: config.access.reidentifierPrincipalArns,
    });
    this.storage.bindReidentifier(this.phiAccess.reidentificationRole);
    this.auditTrail = new AuditTrail(this, 'AuditTrail', {
      dataBuckets: [this.storage.rawBucket, this.storage.linkageBucket],
      accessLogBucket: this.storage.auditBucket,
      retentionDays: config.access.trailRetentionDays,
      logRetention,
      logKey: this.logKey,
      adminRoleArn: config.access.adminRoleArn,
    });
    this.network.restrictS3Endpoint(
      [this.storage.rawBucket, this.storage.processedBucket, this.storage.linkageBucket],
      this.inference.modelDataObjectArns,
    );

    this.observability = new Observability(this, 'Observability', {
      settings: config.alarms,
      opsTopic: this.notifications.opsTopic,
      queue: this.ingest.queue,
      deadLetterQueue: this.ingest.deadLetterQueue,
      trigger: this.ingest.trigger,
      worker: this.worker,
      endpointName: this.inference.endpointName,
      dashboardName: config.stackName,
    });

    this.operationsAlarms = new OperationsAlarms(this, 'OperationsAlarms', {
      settings: config.alarms,
      opsTopic: this.notifications.opsTopic,
      intakeQueue: this.ingest.queue,
      jobControl: this.jobControl,
      topics: [this.notifications.findingsTopic, this.notifications.opsTopic],
      dashboard: this.observability.dashboard,
    });

    const out = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    out('RawBucketName', this.storage.rawBucket.bucketName, 'Uploads go to incoming/<batchId>/ here');
    out('ProcessedBucketName', this.storage.processedBucket.bucketName, 'De-identified outputs');
    out('LinkageBucketName', this.storage.linkageBucket.bucketName, 'Pseudonym linkage (restricted)');
    out('AuditBucketName', this.storage.auditBucket.bucketName, 'S3 access logs and VPC flow logs');
    out('FindingsTopicArn', this.notifications.findingsTopic.topicArn, 'Critical findings (clinicians)');
    out('OpsTopicArn', this.notifications.opsTopic.topicArn, 'Alarms and failed tasks (operators)');
    out('ClusterName', this.worker.cluster.clusterName, 'ECS cluster of the worker tasks');
    out('TaskDefinitionArn', this.worker.taskDefinition.taskDefinitionArn, 'Worker task definition');
    out('EndpointName', this.inference.endpoint.attrEndpointName, 'SageMaker anomaly endpoint');
    out('DashboardName', this.observability.dashboard.dashboardName, 'CloudWatch dashboard');
    out('DashboardUrl', this.observability.dashboardUrl, 'CloudWatch dashboard');
    out('IntakeQueueUrl', this.ingest.queue.queueUrl, 'Upload events');
    out('DeadLetterQueueUrl', this.ingest.deadLetterQueue.queueUrl, 'Upload events that failed 5 times');
    out('DispatchQueueUrl', this.jobControl.queue.queueUrl, 'Jobs waiting for a task (cap, retries)');
    out(
      'DispatchDeadLetterQueueUrl',
      this.jobControl.deadLetterQueue.queueUrl,
      'Dispatches that kept failing',
    );
    out(
      'ReidentificationRoleArn',
      this.phiAccess.reidentificationRole.roleArn,
      'Break-glass role for medimg reidentify (nobody holds it by default)',
    );
    out('TrailBucketName', this.auditTrail.bucket.bucketName, 'CloudTrail data events of raw and linkage');
    out(
      'DeidKeySecretArn',
      this.deidKey.secret.secretArn,
      'De-identification key (value never in the template)',
    );
  }
}
