import { Aws } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface NetworkProps {
  readonly maxAzs: number;
  /** VPC flow logs land here (the audit bucket, under `vpc-flow-logs/`). */
  readonly flowLogBucket: s3.IBucket;
}

/** ECR stores image layers in this AWS-owned bucket of each region (ECR user guide, VPC endpoints). */
export const ECR_LAYER_BUCKET_OBJECTS = `arn:${Aws.PARTITION}:s3:::prod-${Aws.REGION}-starport-layer-bucket/*`;

/** Interface endpoints the workloads need, by the AWS API each one serves. */
export const INTERFACE_ENDPOINTS = {
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Sns: ec2.InterfaceVpcEndpointAwsService.SNS,
  // The trigger hands jobs to the dispatch queue and the dispatcher re-queues retries (SendMessage
  // from inside the VPC); the event source mappings themselves poll from the Lambda service.
  Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  SageMakerRuntime: ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
  // The dispatcher Lambda runs in the VPC too and calls ecs:RunTask, StopTask and ListTasks.
  Ecs: ec2.InterfaceVpcEndpointAwsService.ECS,
} as const;

/**
 * A VPC with isolated private subnets only: no internet gateway, no NAT gateway. Everything the
 * worker and the trigger call goes through VPC endpoints (S3 through a gateway endpoint, the rest
 * through interface endpoints with private DNS), so no data path leaves the AWS network.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: props.maxAzs,
      natGateways: 0,
      subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      restrictDefaultSecurityGroup: true,
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toS3(props.flowLogBucket, 'vpc-flow-logs/'),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });

    this.s3Endpoint = this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });

    // Inbound rules are added per workload security group (workloadSecurityGroup), nothing else.
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface VPC endpoints: HTTPS from the pipeline workloads only',
      allowAllOutbound: false,
    });
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      this.vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        securityGroups: [this.endpointSecurityGroup],
        open: false,
      });
    }
  }

  /**
   * Replaces the S3 gateway endpoint's full-access policy: object and list actions on the stack's
   * buckets only, plus reads of ECR's regional layer bucket, where image layers are downloaded from
   * (without it no task can pull its image), plus any object named in `extraObjectArns` (the model
   * data, which instance endpoints in the VPC download).
   */
  restrictS3Endpoint(buckets: readonly s3.IBucket[], extraObjectArns: readonly string[] = []): void {
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StackBuckets',
        principals: [new iam.AnyPrincipal()],
        actions: [
          's3:GetObject',
          's3:PutObject',
          's3:ListBucket',
          's3:GetBucketLocation',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        resources: buckets.flatMap((b) => [b.bucketArn, b.arnForObjects('*')]),
      }),
    );
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EcrImageLayers',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [ECR_LAYER_BUCKET_OBJECTS, ...extraObjectArns],
      }),
    );
  }

  /** The private subnets workloads run in. */
  get workloadSubnets(): ec2.SelectedSubnets {
    return this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
  }

  /**
   * A security group for a workload: no inbound rule, outbound HTTPS only, and the endpoints accept
   * HTTPS from it. The subnets have no route to the internet, so outbound HTTPS reaches only the
   * interface endpoints and the S3 gateway endpoint (whose regional address ranges form a prefix
   * list that cannot be resolved offline, hence 0.0.0.0/0 on port 443 for egress).
   */
  workloadSecurityGroup(scope: Construct, id: string, description: string): ec2.SecurityGroup {
    const sg = new ec2.SecurityGroup(scope, id, { vpc: this.vpc, description, allowAllOutbound: false });
    sg.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to VPC endpoints and the S3 gateway endpoint',
    );
    this.endpointSecurityGroup.addIngressRule(sg, ec2.Port.tcp(443), description.split(':')[0] ?? id);
    return sg;
  }
}
