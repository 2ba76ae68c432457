import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WORKER_ENV } from '@medimg/common';
import { AssetHashType, BundlingOutput, DockerImage, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import type { InferenceSettings } from '../config.ts';
import { acknowledge, ECR_TOKEN_REASON, INLINE_POLICY_REASON } from '../nag.ts';
import type { Network } from './network.ts';
import type { DockerImageSource } from './worker.ts';

export interface InferenceProps {
  readonly settings: InferenceSettings;
  /** SageMaker endpoint name; fixed so that its log group can be created encrypted, up front. */
  readonly endpointName: string;
  readonly image: DockerImageSource;
  /**
   * The model files (model.onnx, model.json). Packaged at synth time as model.tar.gz (with the
   * local `tar`, no Docker) and given to SageMaker as the model data, which it unpacks into
   * /opt/ml/model. Omit when the image carries its model.
   */
  readonly modelArtifacts?: ModelArtifacts;
  readonly network: Network;
  readonly logRetention: logs.RetentionDays;
  readonly logKey: kms.IKey;
}

export interface ModelArtifacts {
  readonly directory: string;
  /** Files of `directory` that go into model.tar.gz (evaluation data and the like stay out). */
  readonly files: readonly string[];
}

export const VARIANT_NAME = 'AllTraffic';

/**
 * The anomaly-detection endpoint (DESIGN D5): a SageMaker model from the models/ image, an
 * endpoint configuration (serverless, or instances in the private subnets with network isolation
 * and an encrypted storage volume), and the endpoint.
 */
export class Inference extends Construct {
  readonly endpoint: sagemaker.CfnEndpoint;
  readonly endpointName: string;
  readonly endpointArn: string;
  readonly role: iam.Role;
  readonly volumeKey?: kms.Key;
  readonly securityGroup?: ec2.SecurityGroup;
  /** The model data object(s), which instance endpoints in the VPC download through the S3 endpoint. */
  readonly modelDataObjectArns: string[] = [];

  constructor(scope: Construct, id: string, props: InferenceProps) {
    super(scope, id);
    const s = props.settings;
    const stack = Stack.of(this);
    const serverless = s.mode === 'serverless';
    this.endpointName = props.endpointName;
    this.endpointArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: props.endpointName.toLowerCase(),
    });

    const image = new DockerImageAsset(this, 'Image', {
      directory: props.image.directory,
      file: props.image.file,
      exclude: [...props.image.exclude],
      // SageMaker serverless runs x86_64 only; instances: the configured types are x86_64.
      platform: Platform.LINUX_AMD64,
    });

    this.role = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'medimg SageMaker model: pull the image and model data, write endpoint logs and metrics',
    });
    image.repository.grantPull(this.role);

    // SageMaker writes the endpoint's logs to this group: create it first, encrypted, with retention.
    const logGroup = new logs.LogGroup(this, 'EndpointLogGroup', {
      logGroupName: `/aws/sagemaker/Endpoints/${props.endpointName}`,
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [logGroup.logGroupArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'AWS/SageMaker'] } },
      }),
    );

    let modelDataUrl: string | undefined;
    if (props.modelArtifacts !== undefined) {
      const artifact = modelArtifactAsset(this, 'ModelData', props.modelArtifacts);
      // The one object, not the whole asset bucket.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [artifact.bucket.arnForObjects(artifact.s3ObjectKey)],
        }),
      );
      modelDataUrl = artifact.s3ObjectUrl;
      this.modelDataObjectArns.push(artifact.bucket.arnForObjects(artifact.s3ObjectKey));
    }

    let vpcConfig: sagemaker.CfnModel.VpcConfigProperty | undefined;
    if (!serverless) {
      // Serverless endpoints take no VPC configuration; instances run in the private subnets.
      this.securityGroup = props.network.workloadSecurityGroup(
        this,
        'SecurityGroup',
        'medimg SageMaker model instances: no inbound, HTTPS out to VPC endpoints',
      );
      vpcConfig = {
        subnets: props.network.workloadSubnets.subnetIds,
        securityGroupIds: [this.securityGroup.securityGroupId],
      };
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:CreateNetworkInterfacePermission',
            'ec2:DeleteNetworkInterface',
            'ec2:DeleteNetworkInterfacePermission',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeVpcs',
            'ec2:DescribeDhcpOptions',
            'ec2:DescribeSubnets',
            'ec2:DescribeSecurityGroups',
          ],
          resources: ['*'],
        }),
      );
      this.volumeKey = new kms.Key(this, 'VolumeKey', {
        description: 'medimg pipeline: SageMaker endpoint instance storage volumes',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }

    const model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: {
        image: image.imageUri,
        mode: 'SingleModel',
        modelDataUrl,
      },
      vpcConfig,
      // The container needs no network: SageMaker fetches the image and model data for it.
      enableNetworkIsolation: serverless ? undefined : true,
    });
    // The role's policy must exist before SageMaker validates the model with it.
    model.node.addDependency(this.role);

    const variant: sagemaker.CfnEndpointConfig.ProductionVariantProperty = serverless
      ? {
          variantName: VARIANT_NAME,
          modelName: model.attrModelName,
          serverlessConfig: {
            memorySizeInMb: s.serverlessMemoryMb,
            maxConcurrency: s.serverlessMaxConcurrency,
          },
        }
      : {
          variantName: VARIANT_NAME,
          modelName: model.attrModelName,
          instanceType: s.instanceType,
          initialInstanceCount: s.instanceCount,
          initialVariantWeight: 1,
        };
    const config = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      productionVariants: [variant],
      kmsKeyId: this.volumeKey?.keyArn,
    });

    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName: props.endpointName,
      endpointConfigName: config.attrEndpointConfigName,
    });
    this.endpoint.node.addDependency(logGroup);

    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      `${ECR_TOKEN_REASON} cloudwatch:PutMetricData takes no resource ARN either; it is limited by condition to the SageMaker namespaces.${serverless ? '' : ' The EC2 network-interface actions SageMaker needs to place instances in the VPC support no resource-level permissions.'}`,
    );
    acknowledge(this.role, 'HIPAA.Security-IAMNoInlinePolicy', INLINE_POLICY_REASON);
    if (serverless) {
      acknowledge(
        config,
        'HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured',
        'Serverless endpoint: KmsKeyId encrypts the ML storage volume of instance-backed variants, and a serverless variant has none that the customer manages. With inferenceMode=instance the configuration sets KmsKeyId to a customer-managed key. The endpoint stores no request data (no data capture).',
      );
    }
  }

  /** sagemaker:InvokeEndpoint on this endpoint only. Sets SAGEMAKER_ENDPOINT_NAME. */
  bindWorker(container: ecs.ContainerDefinition): void {
    container.addEnvironment(WORKER_ENV.SAGEMAKER_ENDPOINT_NAME, this.endpoint.attrEndpointName);
    container.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:InvokeEndpoint'], resources: [this.endpointArn] }),
    );
  }
}

/**
 * model.tar.gz of the artifact folder, made with the local `tar` at synth time (no Docker). The
 * asset hash comes from the folder's content, so an unchanged model is not uploaded again.
 */
function modelArtifactAsset(scope: Construct, id: string, artifacts: ModelArtifacts): Asset {
  const dir = artifacts.directory;
  const missing = artifacts.files.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    throw new Error(`model artifacts missing in ${dir}: ${missing.join(', ')} (train the model first)`);
  }
  return new Asset(scope, id, {
    path: dir,
    assetHashType: AssetHashType.SOURCE,
    bundling: {
      image: DockerImage.fromRegistry('local-bundling-only'),
      outputType: BundlingOutput.ARCHIVED,
      local: {
        tryBundle(outputDir: string): boolean {
          const out = path.join(outputDir, 'model.tar.gz');
          execFileSync('tar', ['-czf', out, '-C', dir, '--', ...artifacts.files], { stdio: 'pipe' });
          return true;
        },
      },
    },
  });
}
