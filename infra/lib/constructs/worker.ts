import { TRIGGER_ENV, WORKER_ENV } from '@medimg/common';
import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { WorkerSettings } from '../config.ts';
import { acknowledge, ECR_TOKEN_REASON, INLINE_POLICY_REASON } from '../nag.ts';
import type { Network } from './network.ts';

export interface DockerImageSource {
  /** Build context (the repository root: the workspaces share one lockfile). */
  readonly directory: string;
  /** Dockerfile path relative to `directory`. */
  readonly file: string;
  /** Patterns left out of the build context (and of the asset hash). */
  readonly exclude: readonly string[];
}

export interface WorkerProps {
  readonly settings: WorkerSettings;
  readonly network: Network;
  readonly image: DockerImageSource;
  readonly logRetention: logs.RetentionDays;
  readonly logKey: kms.IKey;
  /** The worker's payload limit depends on the endpoint kind (DESIGN D5). */
  readonly serverlessInference: boolean;
}

export const WORKER_CONTAINER_NAME = 'worker';

/**
 * The Fargate worker (DESIGN D1, D2): one task per upload batch, started by the trigger with
 * RunTask. The cluster runs no service; tasks are one-shot. The root file system is read-only and
 * only /tmp is writable.
 */
export class Worker extends Construct {
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly taskRole: iam.Role;
  readonly executionRole: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  private readonly network: Network;

  constructor(scope: Construct, id: string, props: WorkerProps) {
    super(scope, id);
    const s = props.settings;
    this.network = props.network;

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: ecsTasksPrincipal(),
      description: 'medimg worker task: pipeline data access (granted by each construct it uses)',
    });
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: ecsTasksPrincipal(),
      description: 'medimg worker task execution: pull the image, write the log stream',
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: s.cpu,
      memoryLimitMiB: s.memoryMiB,
      taskRole: this.taskRole,
      executionRole: this.executionRole,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture:
          s.cpuArchitecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      },
    });
    this.taskDefinition.addVolume({ name: 'tmp' });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.container = this.taskDefinition.addContainer(WORKER_CONTAINER_NAME, {
      image: ecs.ContainerImage.fromAsset(props.image.directory, {
        file: props.image.file,
        exclude: [...props.image.exclude],
        platform: s.cpuArchitecture === 'arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      }),
      essential: true,
      readonlyRootFilesystem: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'worker' }),
      environment: {
        // Unset: the worker uses the thresholds the model was calibrated for (its metadata).
        ...(s.criticalThresholds
          ? { [WORKER_ENV.CRITICAL_THRESHOLDS]: JSON.stringify(s.criticalThresholds) }
          : {}),
        [WORKER_ENV.BURNED_IN_POLICY]: s.burnedInPolicy,
        [WORKER_ENV.DEID_PROFILE]: s.deidProfile,
        [WORKER_ENV.LOG_LEVEL]: s.logLevel,
        [WORKER_ENV.SAGEMAKER_SERVERLESS]: String(props.serverlessInference),
        // Bytes of input decoded at once: a sixteenth of the task memory (256 MiB of the default
        // 4 GiB) leaves room for the decoded pixels, the resized copies and Node itself.
        [WORKER_ENV.MAX_BYTES_IN_FLIGHT]: String(Math.floor((s.memoryMiB * 1024 * 1024) / 16)),
        // Decoded bytes per input (inflated data set, one frame): 256 MiB at 4 GiB, as before the
        // task was sized down (decision 018); with 4 files at once a quarter of the task memory in
        // all. A deflate bomb is refused at this size (DECODED_SIZE_LIMIT).
        [WORKER_ENV.MAX_DECODED_BYTES]: String(Math.floor((s.memoryMiB * 1024 * 1024) / 16)),
        // Files processed at once from the task's vCPUs (two per vCPU, as the worker's own default
        // from its CPU count; decision 018): a Fargate task may see more CPUs than it is given.
        [WORKER_ENV.MAX_CONCURRENT_FILES]: String(Math.max(2, Math.floor(s.cpu / 1024) * 2)),
        TMPDIR: '/tmp',
      },
    });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });

    this.securityGroup = props.network.workloadSecurityGroup(
      this,
      'SecurityGroup',
      'medimg worker tasks: no inbound, HTTPS out to VPC endpoints',
    );

    acknowledge(
      this.taskDefinition,
      'AwsSolutions-ECS2',
      'The environment holds resource names and ARNs, thresholds and log level only. The one secret, the de-identification key, is not in it: the worker receives DEID_KEY_SECRET_ARN and reads the value from Secrets Manager at start-up (ECS "secrets" would put the value itself into the environment).',
    );
    acknowledge(this.executionRole, 'AwsSolutions-IAM5[Resource::*]', ECR_TOKEN_REASON);
    acknowledge(this.executionRole, 'HIPAA.Security-IAMNoInlinePolicy', INLINE_POLICY_REASON);
    acknowledge(this.taskRole, 'HIPAA.Security-IAMNoInlinePolicy', INLINE_POLICY_REASON);
  }

  /**
   * The function that starts worker tasks (the dispatcher, job-control.ts): ecs:RunTask on this
   * task definition in this cluster only, and
   * iam:PassRole on the two task roles only, to ECS only. Sets the environment it needs to build
   * its RunTask call.
   */
  bindTrigger(fn: lambda.Function): void {
    fn.addEnvironment(TRIGGER_ENV.CLUSTER_ARN, this.cluster.clusterArn);
    fn.addEnvironment(TRIGGER_ENV.TASK_DEFINITION_ARN, this.taskDefinition.taskDefinitionArn);
    fn.addEnvironment(TRIGGER_ENV.CONTAINER_NAME, this.container.containerName);
    fn.addEnvironment(TRIGGER_ENV.SUBNET_IDS, this.network.workloadSubnets.subnetIds.join(','));
    fn.addEnvironment(TRIGGER_ENV.SECURITY_GROUP_IDS, this.securityGroup.securityGroupId);
    fn.addEnvironment(TRIGGER_ENV.ASSIGN_PUBLIC_IP, 'DISABLED');

    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [this.taskDefinition.taskDefinitionArn],
        conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.taskRole.roleArn, this.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }
}

/** ECS tasks of this account only (confused-deputy guard). */
function ecsTasksPrincipal(): iam.IPrincipal {
  return new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
    conditions: {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:ecs:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` },
    },
  });
}
