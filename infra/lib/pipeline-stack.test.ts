/**
 * Resource-by-resource assertions on the synthesized template (default: serverless inference).
 * One app is synthesized for the whole file; a few context values differ from the defaults to
 * prove that they reach the template.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineStack } from './pipeline-stack.ts';
import { synthPipeline } from './testing.ts';

type Json = Record<string, unknown>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

let stack: PipelineStack;
let template: Template;

const CONTEXT = {
  rawUploadExpirationDays: 7,
  processedInfrequentAccessAfterDays: 45,
  processedGlacierAfterDays: 200,
  findingsEmails: 'radiology@example.org,oncall-radiologist@example.org',
  opsEmails: ['ops@example.org'],
  uploadCorsOrigins: ['https://upload.example.org'],
  logRetentionDays: 731,
  triggerReservedConcurrency: 4,
};

beforeAll(() => {
  ({ stack } = synthPipeline(CONTEXT));
  template = Template.fromStack(stack);
});

const id = (c: IConstruct) => Stack.of(c).getLogicalId((c.node.defaultChild ?? c) as never);
const ref = (c: IConstruct) => ({ Ref: id(c) });
const arnOf = (c: IConstruct) => ({ 'Fn::GetAtt': [id(c), 'Arn'] });

function resource(c: IConstruct): Json {
  const all = template.toJSON().Resources as Record<string, Json>;
  const r = all[id(c)];
  if (!r) throw new Error(`no resource for ${c.node.path}`);
  return r.Properties as Json;
}

/** Every statement of every policy attached to the role. */
function statementsOf(role: IConstruct): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${id(role)}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (st: Statement) => (Array.isArray(st.Action) ? st.Action : [st.Action]);
const allActions = (role: IConstruct) => new Set(statementsOf(role).flatMap(actionsOf));
const withAction = (role: IConstruct, action: string) =>
  statementsOf(role).filter((st) => actionsOf(st).includes(action));
/** Every resource any statement grants the action on. */
const resourcesFor = (role: IConstruct, action: string) =>
  withAction(role, action).flatMap((st) => (Array.isArray(st.Resource) ? st.Resource : [st.Resource]));
const sameItems = (actual: unknown[], expected: unknown[]) => {
  expect(actual).toHaveLength(expected.length);
  expect(actual).toEqual(expect.arrayContaining(expected));
};

function objectArn(bucket: IConstruct, prefix: string) {
  return { 'Fn::Join': ['', [arnOf(bucket), `/${prefix}*`]] };
}

describe('storage', () => {
  it('encrypts the raw, processed and linkage buckets with their own KMS keys, with a bucket key', () => {
    const s = stack.storage;
    for (const [bucket, key] of [
      [s.rawBucket, s.rawKey],
      [s.processedBucket, s.processedKey],
      [s.linkageBucket, s.linkageKey],
    ] as const) {
      expect(resource(bucket).BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arnOf(key) },
            BucketKeyEnabled: true,
          },
        ],
      });
    }
    expect(new Set([id(s.rawKey), id(s.processedKey), id(s.linkageKey)]).size).toBe(3);
  });

  it('encrypts the audit (access log) bucket with SSE-S3, the only encryption S3 log delivery accepts', () => {
    expect(resource(stack.storage.auditBucket).BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('blocks public access, disables ACLs and versions every bucket', () => {
    template.resourceCountIs('AWS::S3::Bucket', 5);
    template.allResourcesProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('retains buckets and keys when the stack is deleted', () => {
    for (const type of ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SecretsManager::Secret']) {
      for (const r of Object.values(template.findResources(type))) {
        expect(r.DeletionPolicy).toBe('Retain');
      }
    }
  });

  it('denies non-TLS and pre-TLS-1.2 requests on every bucket', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    const s = stack.storage;
    for (const bucket of [s.rawBucket, s.processedBucket, s.linkageBucket, s.auditBucket]) {
      const policy = policies.find(
        (p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify(ref(bucket)),
      );
      expect(policy, bucket.node.path).toBeDefined();
      const statements = policy?.Properties.PolicyDocument.Statement as Statement[];
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      );
    }
  });

  it('sends the server access logs of the three data buckets to the audit bucket', () => {
    const s = stack.storage;
    for (const [bucket, prefix] of [
      [s.rawBucket, 'raw'],
      [s.processedBucket, 'processed'],
      [s.linkageBucket, 'linkage'],
    ] as const) {
      expect(resource(bucket).LoggingConfiguration).toEqual({
        DestinationBucketName: ref(s.auditBucket),
        LogFilePrefix: `s3-access/${prefix}/`,
      });
    }
  });

  it('expires raw uploads after the configured number of days', () => {
    const rules = (resource(stack.storage.rawBucket).LifecycleConfiguration as Json).Rules as Json[];
    expect(rules).toContainEqual(
      expect.objectContaining({
        Id: 'expire-raw-uploads',
        Prefix: 'incoming/',
        ExpirationInDays: 7,
        Status: 'Enabled',
      }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
    );
  });

  it('moves processed data to Standard-IA, then Glacier Instant Retrieval, on the configured days', () => {
    const rules = (resource(stack.storage.processedBucket).LifecycleConfiguration as Json).Rules as Json[];
    expect(rules).toContainEqual(
      expect.objectContaining({
        Id: 'tier-processed-data',
        Transitions: [
          { StorageClass: 'STANDARD_IA', TransitionInDays: 45 },
          { StorageClass: 'GLACIER_IR', TransitionInDays: 200 },
        ],
      }),
    );
  });

  it('allows browser PUTs of presigned uploads from the configured origins only', () => {
    expect(resource(stack.storage.rawBucket).CorsConfiguration).toEqual({
      CorsRules: [
        expect.objectContaining({ AllowedMethods: ['PUT'], AllowedOrigins: ['https://upload.example.org'] }),
      ],
    });
    expect(resource(stack.storage.processedBucket).CorsConfiguration).toBeUndefined();
  });

  it('rotates every customer-managed key', () => {
    template.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });
});

describe('ingest', () => {
  it('sends ObjectCreated events under incoming/ only to the intake queue', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: ref(stack.storage.rawBucket),
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'incoming/' }] } },
            QueueArn: arnOf(stack.ingest.queue),
          },
        ],
      },
    });
  });

  it('encrypts both queues with the queue key (not the raw bucket key) and redrives to the DLQ after 5 receives', () => {
    const { queue, deadLetterQueue, queueKey } = stack.ingest;
    expect(resource(queue)).toEqual(
      expect.objectContaining({
        KmsMasterKeyId: arnOf(queueKey),
        VisibilityTimeout: 360,
        RedrivePolicy: { deadLetterTargetArn: arnOf(deadLetterQueue), maxReceiveCount: 5 },
      }),
    );
    expect(resource(deadLetterQueue)).toEqual(
      expect.objectContaining({ KmsMasterKeyId: arnOf(queueKey), MessageRetentionPeriod: 1209600 }),
    );
  });

  it('lets S3 use the queue key, and denies non-TLS access to the queues', () => {
    const keyPolicy = resource(stack.ingest.queueKey).KeyPolicy as { Statement: Json[] };
    expect(keyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 's3.amazonaws.com' },
        Action: expect.arrayContaining(['kms:GenerateDataKey*', 'kms:Decrypt']),
      }),
    );
    const queuePolicies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    for (const q of [stack.ingest.queue, stack.ingest.deadLetterQueue]) {
      const p = queuePolicies.find((qp) => JSON.stringify(qp.Properties.Queues).includes(`"${id(q)}"`));
      expect(p?.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('runs the trigger on the latest Node.js runtime, ARM64, in the private subnets, with the configured reserved concurrency', () => {
    expect(resource(stack.ingest.trigger)).toEqual(
      expect.objectContaining({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        ReservedConcurrentExecutions: 4,
        VpcConfig: expect.objectContaining({ SubnetIds: expect.any(Array) }),
        LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
      }),
    );
  });

  it('gives the trigger the raw bucket and the dispatch queue, and no ECS settings', () => {
    const env = (resource(stack.ingest.trigger).Environment as { Variables: Json }).Variables;
    expect(env).toEqual(
      expect.objectContaining({
        RAW_BUCKET: ref(stack.storage.rawBucket),
        DISPATCH_QUEUE_URL: ref(stack.jobControl.queue),
      }),
    );
    expect(env.CLUSTER_ARN).toBeUndefined();
  });

  it('gives the dispatcher the environment its RunTask call needs', () => {
    const env = (resource(stack.jobControl.dispatcher).Environment as { Variables: Json }).Variables;
    const w = stack.worker;
    expect(env).toEqual(
      expect.objectContaining({
        RAW_BUCKET: ref(stack.storage.rawBucket),
        CLUSTER_ARN: arnOf(w.cluster),
        TASK_DEFINITION_ARN: ref(w.taskDefinition),
        CONTAINER_NAME: 'worker',
        SECURITY_GROUP_IDS: { 'Fn::GetAtt': [id(w.securityGroup), 'GroupId'] },
        ASSIGN_PUBLIC_IP: 'DISABLED',
      }),
    );
    expect(JSON.stringify(env.SUBNET_IDS)).toMatch(
      /NetworkVpcprivateSubnet1Subnet.*NetworkVpcprivateSubnet2Subnet/,
    );
  });

  it('reads the queue in batches with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(stack.ingest.queue),
      FunctionName: ref(stack.ingest.trigger),
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 20,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets the dispatcher (not the trigger) run the worker task definition, in the pipeline cluster only', () => {
    const w = stack.worker;
    expect(withAction(stack.ingest.role, 'ecs:RunTask')).toEqual([]);
    expect(withAction(stack.jobControl.role, 'ecs:RunTask')).toEqual([
      {
        Effect: 'Allow',
        Action: 'ecs:RunTask',
        Resource: ref(w.taskDefinition),
        Condition: { ArnEquals: { 'ecs:cluster': arnOf(w.cluster) } },
      },
    ]);
  });

  it('lets the dispatcher pass the task and execution roles, to ECS tasks only', () => {
    const w = stack.worker;
    const [passRole, ...more] = withAction(stack.jobControl.role, 'iam:PassRole');
    expect(more).toEqual([]);
    expect(passRole).toEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    sameItems(passRole?.Resource as unknown[], [arnOf(w.taskRole), arnOf(w.executionRole)]);
  });

  it('lets the trigger read incoming/, jobs/ and batches/, write jobs/ only, in the raw bucket', () => {
    const raw = stack.storage.rawBucket;
    expect(withAction(stack.ingest.role, 's3:GetObject')).toEqual([
      expect.objectContaining({
        Resource: [objectArn(raw, 'batches/'), objectArn(raw, 'incoming/'), objectArn(raw, 'jobs/')],
      }),
    ]);
    expect(withAction(stack.ingest.role, 's3:PutObject')).toEqual([
      expect.objectContaining({ Resource: objectArn(raw, 'jobs/') }),
    ]);
    expect(withAction(stack.ingest.role, 's3:ListBucket')).toEqual([
      expect.objectContaining({
        Resource: arnOf(raw),
        Condition: { StringLike: { 's3:prefix': ['incoming/*', 'jobs/*', 'batches/*'] } },
      }),
    ]);
  });

  it('grants the trigger no other action than those it needs', () => {
    expect([...allActions(stack.ingest.role)].sort()).toEqual(
      [
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:UnassignPrivateIpAddresses',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:SendMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ].sort(),
    );
    // No AWS managed policy on the role.
    expect(resource(stack.ingest.role).ManagedPolicyArns).toBeUndefined();
  });
});

describe('processing', () => {
  it('has private isolated subnets only: no internet gateway, no NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
  });

  it('reaches S3 through a gateway endpoint and the other services through private interface endpoints', () => {
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((e) => e.Properties);
    const services = endpoints.map((e) => JSON.stringify(e.ServiceName));
    for (const suffix of [
      's3',
      'ecr.api',
      'ecr.dkr',
      'logs',
      'sns',
      'sqs',
      'secretsmanager',
      'sagemaker.runtime',
      'ecs',
    ]) {
      expect(
        services.some((s) => s.includes(`.${suffix}"`)),
        suffix,
      ).toBe(true);
    }
    const s3 = endpoints.find((e) => JSON.stringify(e.ServiceName).includes('.s3"'));
    expect(s3?.VpcEndpointType).toBe('Gateway');
    for (const e of endpoints.filter((x) => x.VpcEndpointType === 'Interface')) {
      expect(e.PrivateDnsEnabled).toBe(true);
    }
  });

  it('lets only the workloads reach the interface endpoints, on 443', () => {
    const groupId = { 'Fn::GetAtt': [id(stack.network.endpointSecurityGroup), 'GroupId'] };
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((r) => r.Properties as Json)
      .filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(groupId));
    // The worker, the trigger, the dispatcher and the upload API (serverless inference runs outside the VPC).
    expect(ingress).toHaveLength(4);
    expect(resource(stack.network.endpointSecurityGroup).SecurityGroupIngress).toBeUndefined();
    for (const rule of ingress) {
      expect(rule).toEqual(expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }));
      expect(rule.SourceSecurityGroupId).toBeDefined();
      expect(rule.CidrIp).toBeUndefined();
    }
  });

  it('logs all VPC traffic to the audit bucket', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'ALL',
      LogDestinationType: 's3',
      LogDestination: { 'Fn::Join': ['', [arnOf(stack.storage.auditBucket), '/vpc-flow-logs/']] },
    });
  });

  it('enables Container Insights on the cluster', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('defines a Fargate task with a read-only root file system, a writable /tmp and encrypted logs', () => {
    const w = stack.worker;
    const td = resource(w.taskDefinition);
    expect(td).toEqual(
      expect.objectContaining({
        RequiresCompatibilities: ['FARGATE'],
        NetworkMode: 'awsvpc',
        Cpu: '2048',
        Memory: '4096',
        TaskRoleArn: arnOf(w.taskRole),
        ExecutionRoleArn: arnOf(w.executionRole),
        Volumes: [{ Name: 'tmp' }],
      }),
    );
    const [container, ...others] = td.ContainerDefinitions as Json[];
    expect(others).toEqual([]);
    expect(container).toEqual(
      expect.objectContaining({
        Name: 'worker',
        Essential: true,
        ReadonlyRootFilesystem: true,
        MountPoints: [{ ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false }],
        LogConfiguration: expect.objectContaining({
          LogDriver: 'awslogs',
          Options: expect.objectContaining({ 'awslogs-group': ref(w.logGroup) }),
        }),
      }),
    );
    expect(resource(w.logGroup)).toEqual({ KmsKeyId: arnOf(stack.logKey), RetentionInDays: 731 });
  });

  it('gives the worker its configuration as names and ARNs, and the de-identification key only by ARN', () => {
    const td = resource(stack.worker.taskDefinition);
    const container = (td.ContainerDefinitions as Json[])[0] as Json;
    const env = Object.fromEntries(
      (container.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
    );
    const n = stack.notifications;
    expect(env).toEqual(
      expect.objectContaining({
        PROCESSED_BUCKET: ref(stack.storage.processedBucket),
        LINKAGE_BUCKET: ref(stack.storage.linkageBucket),
        SAGEMAKER_ENDPOINT_NAME: { 'Fn::GetAtt': [id(stack.inference.endpoint), 'EndpointName'] },
        FINDINGS_TOPIC_ARN: ref(n.findingsTopic),
        OPS_TOPIC_ARN: ref(n.opsTopic),
        DEID_KEY_SECRET_ARN: ref(stack.deidKey.secret),
        BURNED_IN_POLICY: 'quarantine',
        DEID_PROFILE: 'research',
        MAX_DECODED_BYTES: String(256 * 1024 * 1024),
        // Two files per vCPU of the 2-vCPU task.
        MAX_CONCURRENT_FILES: '4',
        LOG_LEVEL: 'info',
        SAGEMAKER_SERVERLESS: 'true',
      }),
    );
    expect(Object.keys(env)).not.toContain('DEID_KEY');
    // No override by default: the worker uses the thresholds the model was calibrated for.
    expect(Object.keys(env)).not.toContain('CRITICAL_THRESHOLDS');
    expect(container.Secrets).toBeUndefined();
  });

  it('never puts the de-identification key in the template: Secrets Manager generates it', () => {
    const secret = resource(stack.deidKey.secret);
    expect(secret.SecretString).toBeUndefined();
    expect(secret.GenerateSecretString).toEqual(
      expect.objectContaining({ PasswordLength: 64, ExcludeUppercase: true, ExcludePunctuation: true }),
    );
    expect(secret.KmsKeyId).toEqual(arnOf(stack.deidKey.encryptionKey));
  });

  it('scopes the task role to the pipeline objects, the endpoint, the topics and the key secret', () => {
    const w = stack.worker;
    const s = stack.storage;
    const n = stack.notifications;
    // The linkage store is written, never read (re-identification has its own role).
    sameItems(resourcesFor(w.taskRole, 's3:GetObject'), [
      objectArn(s.rawBucket, 'incoming/'),
      objectArn(s.rawBucket, 'jobs/'),
      objectArn(s.processedBucket, ''),
    ]);
    sameItems(resourcesFor(w.taskRole, 's3:PutObject'), [
      objectArn(s.rawBucket, 'quarantine/'),
      objectArn(s.processedBucket, ''),
      objectArn(s.linkageBucket, 'linkage/'),
    ]);
    sameItems(resourcesFor(w.taskRole, 's3:ListBucket'), [arnOf(s.processedBucket)]);
    expect(resourcesFor(w.taskRole, 'kms:Decrypt')).not.toContainEqual(arnOf(s.linkageKey));
    sameItems(resourcesFor(w.taskRole, 'kms:GenerateDataKey'), [
      arnOf(s.rawKey),
      arnOf(s.processedKey),
      arnOf(s.linkageKey),
      arnOf(n.key),
    ]);
    expect(withAction(w.taskRole, 'sagemaker:InvokeEndpoint')).toEqual([
      {
        Effect: 'Allow',
        Action: 'sagemaker:InvokeEndpoint',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':sagemaker:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':endpoint/medimgpipeline-anomaly',
            ],
          ],
        },
      },
    ]);
    expect(withAction(w.taskRole, 'sns:Publish')).toEqual([
      { Effect: 'Allow', Action: 'sns:Publish', Resource: [ref(n.findingsTopic), ref(n.opsTopic)] },
    ]);
    expect(withAction(w.taskRole, 'secretsmanager:GetSecretValue')).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: ref(stack.deidKey.secret) },
    ]);
    // KMS only through the service that owns the data.
    for (const st of statementsOf(w.taskRole).filter((x) => actionsOf(x).some((a) => a.startsWith('kms:')))) {
      expect(Object.keys((st.Condition?.StringEquals ?? {}) as Json)).toEqual(['kms:ViaService']);
    }
    expect([...allActions(w.taskRole)].sort()).toEqual(
      [
        'kms:Decrypt',
        'kms:GenerateDataKey',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sagemaker:InvokeEndpoint',
        'secretsmanager:GetSecretValue',
        'sns:Publish',
      ].sort(),
    );
  });

  it('lets ECS tasks of this account only assume the task role', () => {
    expect(resource(stack.worker.taskRole).AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        expect.objectContaining({
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Condition: expect.objectContaining({
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          }),
        }),
      ],
    });
  });

  it('limits the execution role to pulling the image and writing the log group', () => {
    expect([...allActions(stack.worker.executionRole)].sort()).toEqual(
      [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetAuthorizationToken',
        'ecr:GetDownloadUrlForLayer',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ].sort(),
    );
  });
});

describe('inference', () => {
  it('creates the model from the models/ image and the packaged model data', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      ExecutionRoleArn: arnOf(stack.inference.role),
      PrimaryContainer: {
        Image: { 'Fn::Sub': Match.stringLikeRegexp('dkr\\.ecr\\..*container-assets') },
        Mode: 'SingleModel',
        // CDK names an archive asset <hash> plus its last extension.
        ModelDataUrl: { 'Fn::Sub': Match.stringLikeRegexp('^s3://cdk-.*/[0-9a-f]{64}\\.gz$') },
      },
    });
  });

  it('defaults to a serverless endpoint configuration', () => {
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: Match.anyValue(),
          // Follows the task cap (10 by default): one request in flight per task.
          ServerlessConfig: { MemorySizeInMB: 3072, MaxConcurrency: 10 },
        },
      ],
    });
    template.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'MedimgPipeline-anomaly' });
  });

  it('creates the endpoint log group first, encrypted and with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/sagemaker/Endpoints/MedimgPipeline-anomaly',
      KmsKeyId: arnOf(stack.logKey),
      RetentionInDays: 731,
    });
  });

  it('lets the model role read its one model object, not the whole asset bucket', () => {
    const reads = withAction(stack.inference.role, 's3:GetObject');
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0]?.Resource)).toMatch(/\/[0-9a-f]{64}\.gz"\]\]\}$/);
    expect([...allActions(stack.inference.role)].some((a) => a.includes('*'))).toBe(false);
  });
});

describe('notifications', () => {
  it('encrypts both topics with the topic key and enforces TLS', () => {
    const n = stack.notifications;
    for (const topic of [n.findingsTopic, n.opsTopic]) {
      expect(resource(topic).KmsMasterKeyId).toEqual(arnOf(n.key));
    }
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    for (const topic of [n.findingsTopic, n.opsTopic]) {
      const p = policies.find((tp) => JSON.stringify(tp.Properties.Topics).includes(`"${id(topic)}"`));
      expect(p?.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('lets CloudWatch and EventBridge use the topic key', () => {
    const statements = (resource(stack.notifications.key).KeyPolicy as { Statement: Json[] }).Statement;
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      expect(statements).toContainEqual(
        expect.objectContaining({
          Principal: { Service: service },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        }),
      );
    }
  });

  it('subscribes the configured emails to their topics', () => {
    const n = stack.notifications;
    const subs = Object.values(template.findResources('AWS::SNS::Subscription')).map((s) => s.Properties);
    expect(subs).toHaveLength(3);
    expect(subs).toContainEqual({
      Protocol: 'email',
      Endpoint: 'radiology@example.org',
      TopicArn: ref(n.findingsTopic),
    });
    expect(subs).toContainEqual({
      Protocol: 'email',
      Endpoint: 'oncall-radiologist@example.org',
      TopicArn: ref(n.findingsTopic),
    });
    expect(subs).toContainEqual({
      Protocol: 'email',
      Endpoint: 'ops@example.org',
      TopicArn: ref(n.opsTopic),
    });
  });
});

describe('observability', () => {
  /** The alarm on one metric, its metric fields flattened (labelled metrics render as `Metrics`). */
  const alarmFor = (metricName: string, namespace: string, dimension?: string) => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => {
      const p = a.Properties as Json;
      const stat = (p.Metrics as { MetricStat?: { Metric: Json; Stat: string } }[] | undefined)?.[0]
        ?.MetricStat;
      if (!stat) return p;
      const percentile = /^p\d+/.test(stat.Stat);
      return {
        ...p,
        ...stat.Metric,
        ...(percentile ? { ExtendedStatistic: stat.Stat } : { Statistic: stat.Stat }),
      } as Json;
    });
    const hit = alarms.filter(
      (a) =>
        a.MetricName === metricName &&
        a.Namespace === namespace &&
        (dimension === undefined || JSON.stringify(a.Dimensions).includes(dimension)),
    );
    expect(hit, `${namespace} ${metricName}`).toHaveLength(1);
    return hit[0] as Json;
  };

  it('raises every alarm to the operations topic, and reports recovery there too', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms.length).toBe(7 + stack.operationsAlarms.alarms.length);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([ref(stack.notifications.opsTopic)]);
      expect(a.OKActions).toEqual([ref(stack.notifications.opsTopic)]);
      expect(a.TreatMissingData).toBe('notBreaching');
    }
  });

  it('alarms when anything reaches the dead-letter queue', () => {
    expect(
      alarmFor('ApproximateNumberOfMessagesVisible', 'AWS/SQS', id(stack.ingest.deadLetterQueue)),
    ).toEqual(
      expect.objectContaining({
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [id(stack.ingest.deadLetterQueue), 'QueueName'] } },
        ],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
  });

  it('alarms on trigger Lambda errors', () => {
    expect(alarmFor('Errors', 'AWS/Lambda')).toEqual(
      expect.objectContaining({
        Dimensions: [{ Name: 'FunctionName', Value: ref(stack.ingest.trigger) }],
        Statistic: 'Sum',
        Threshold: 1,
      }),
    );
  });

  it('alarms on endpoint errors and on p90 latency above the threshold', () => {
    const dims = [
      { Name: 'EndpointName', Value: 'MedimgPipeline-anomaly' },
      { Name: 'VariantName', Value: 'AllTraffic' },
    ];
    expect(alarmFor('Invocation5XXErrors', 'AWS/SageMaker')).toEqual(
      expect.objectContaining({ Dimensions: dims, Threshold: 1 }),
    );
    expect(alarmFor('ModelLatency', 'AWS/SageMaker')).toEqual(
      expect.objectContaining({ Dimensions: dims, ExtendedStatistic: 'p90', Threshold: 5_000_000 }),
    );
  });

  it('sends failed worker tasks to the operations topic and alarms on their count', () => {
    const rule = resource(stack.observability.failedTaskRule);
    expect(rule.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        clusterArn: [arnOf(stack.worker.cluster)],
        lastStatus: ['STOPPED'],
        $or: [{ containers: { exitCode: [{ 'anything-but': 0 }] } }, { stopCode: ['TaskFailedToStart'] }],
      },
    });
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: ref(stack.notifications.opsTopic),
        InputTransformer: expect.anything(),
      }),
    ]);
    expect(alarmFor('TriggeredRules', 'AWS/Events')).toEqual(
      expect.objectContaining({
        Dimensions: [{ Name: 'RuleName', Value: ref(stack.observability.failedTaskRule) }],
      }),
    );
  });

  it('has a dashboard', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'MedimgPipeline' });
  });
});

describe('outputs', () => {
  it('names the buckets, topics, cluster, task definition, endpoint and dashboard', () => {
    const outputs = Object.keys(template.toJSON().Outputs as Json);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'RawBucketName',
        'ProcessedBucketName',
        'LinkageBucketName',
        'AuditBucketName',
        'FindingsTopicArn',
        'OpsTopicArn',
        'ClusterName',
        'TaskDefinitionArn',
        'EndpointName',
        'DashboardName',
      ]),
    );
  });
});
