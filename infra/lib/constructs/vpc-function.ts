/**
 * One Lambda function of the pipeline inside the VPC (trigger, dispatcher, upload API): its own
 * encrypted log group, an explicit role that writes only there (no AWS managed policy), the EC2
 * network-interface actions a function in a VPC needs, a security group with no inbound rule, and
 * the bundling every function shares (ESM, the AWS SDK bundled in: what runs is what was tested).
 */
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge, arnWildcardFinding, INLINE_POLICY_REASON } from '../nag.ts';
import type { Network } from './network.ts';

/** Where a function's code comes from (esbuild bundles it from the repository). */
export interface LambdaCodeSource {
  /** The handler module (exports `handler`). */
  readonly entry: string;
  /** Repository root: the lockfile and the workspaces esbuild resolves from. */
  readonly projectRoot: string;
  readonly depsLockFilePath: string;
}

export interface VpcFunctionProps {
  /** Construct ids of the log group, role, security group and function (they name the resources). */
  readonly ids: {
    readonly logGroup: string;
    readonly role: string;
    readonly securityGroup: string;
    readonly function: string;
  };
  readonly description: string;
  readonly roleDescription: string;
  readonly securityGroupDescription: string;
  readonly code: LambdaCodeSource;
  readonly network: Network;
  readonly logRetention: logs.RetentionDays;
  readonly logKey: kms.IKey;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Added to NODE_OPTIONS=--enable-source-maps. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly reservedConcurrentExecutions?: number | undefined;
  readonly deadLetterQueue?: sqs.IQueue;
  /** Why the role's `Resource::*` statements are needed, when it has more than the EC2 actions. */
  readonly resourceStarReason?: string;
}

export interface VpcFunction {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

const EC2_REASON =
  'The EC2 network-interface actions a Lambda function in a VPC needs (the same set as the AWSLambdaVPCAccessExecutionRole managed policy) support no resource-level permissions.';

export function vpcFunction(scope: Construct, props: VpcFunctionProps): VpcFunction {
  const logGroup = new logs.LogGroup(scope, props.ids.logGroup, {
    retention: props.logRetention,
    encryptionKey: props.logKey,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, props.ids.role, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn, `${logGroup.logGroupArn}:*`],
    }),
  );
  // Lambda in a VPC manages its own network interfaces; these EC2 actions take no resource ARN.
  role.addToPrincipalPolicy(
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
    scope,
    props.ids.securityGroup,
    props.securityGroupDescription,
  );

  const fn = new nodejs.NodejsFunction(scope, props.ids.function, {
    description: props.description,
    entry: props.code.entry,
    handler: 'handler',
    projectRoot: props.code.projectRoot,
    depsLockFilePath: props.code.depsLockFilePath,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    ...(props.reservedConcurrentExecutions !== undefined
      ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
      : {}),
    vpc: props.network.vpc,
    vpcSubnets: props.network.workloadSubnets,
    securityGroups: [securityGroup],
    ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    bundling: {
      forceDockerBundling: false,
      format: nodejs.OutputFormat.ESM,
      target: 'node24',
      minify: true,
      sourceMap: true,
      // Bundle the AWS SDK too: the deployed code is exactly what was tested.
      externalModules: [],
      mainFields: ['module', 'main'],
      banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });

  acknowledge(
    role,
    arnWildcardFinding(logGroup, ':*'),
    "Log streams of the function's own log group; Lambda names them at run time.",
  );
  acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', props.resourceStarReason ?? EC2_REASON);
  acknowledge(role, 'HIPAA.Security-IAMNoInlinePolicy', INLINE_POLICY_REASON);
  return { fn, role, logGroup };
}
