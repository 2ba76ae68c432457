/**
 * cdk-nag's AwsSolutions and HIPAA Security packs over the whole app, in both inference modes:
 * any unacknowledged finding fails. Also checks that every acknowledgement carries a reason, and
 * that the packs do catch a problem when there is one.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { nagPacks } from './nag.ts';
import type { PipelineStack } from './pipeline-stack.ts';
import { synthPipeline } from './testing.ts';

const SERVERLESS = {};
const INSTANCE = {
  inferenceMode: 'instance',
  inferenceInstanceType: 'ml.c6i.xlarge',
  findingsEmails: 'a@example.org',
  opsEmails: 'ops@example.org',
  adminRoleArn: 'arn:aws:iam::123456789012:role/medimg-admin',
  reidentifierPrincipalArns: 'arn:aws:iam::123456789012:role/privacy-officer',
};

/** Each app is synthesized once for the whole file (synthesis takes seconds). */
const synthesized = new Map<object, { app: App; stack: PipelineStack; template: Template }>();
function pipeline(context: object) {
  let hit = synthesized.get(context);
  if (!hit) {
    const { app, stack } = synthPipeline(context as Record<string, unknown>);
    // Synthesize first, as `cdk synth` does before it validates.
    hit = { app, stack, template: Template.fromStack(stack) };
    synthesized.set(context, hit);
  }
  return hit;
}

function findings(app: App): string[] {
  return nagPacks().flatMap((pack) =>
    pack
      .validateScope(app)
      .violations.flatMap((v) =>
        v.violatingResources.map(
          (r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`,
        ),
      ),
  );
}

/** Every acknowledgement in the tree: rule id and reason. */
function acknowledgements(root: IConstruct): { path: string; rule: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([rule, reason]) => ({
          path: c.node.path,
          rule,
          reason,
        })),
      ),
  );
}

describe.each([
  ['serverless inference (default)', SERVERLESS],
  ['instance-backed inference', INSTANCE],
])('the pipeline app with %s', (_name, context) => {
  let app: App;

  beforeAll(() => {
    ({ app } = pipeline(context));
  });

  it('has no unacknowledged AwsSolutions or HIPAA Security finding', () => {
    expect(findings(app)).toEqual([]);
  });

  it('gives every acknowledgement a written reason', () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.rule} at ${ack.path}`).toBeGreaterThanOrEqual(60);
    }
  });
});

describe('instance-backed inference', () => {
  let stack: PipelineStack;
  let template: Template;

  beforeAll(() => {
    ({ stack, template } = pipeline(INSTANCE));
  });

  it('runs the model in the private subnets with network isolation', () => {
    const sg = stack.inference.securityGroup;
    expect(sg).toBeDefined();
    template.hasResourceProperties('AWS::SageMaker::Model', {
      EnableNetworkIsolation: true,
      VpcConfig: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [stack.getLogicalId(sg?.node.defaultChild as never), 'GroupId'] }],
        Subnets: [
          { Ref: Match.stringLikeRegexp('^NetworkVpcprivateSubnet1') },
          { Ref: Match.stringLikeRegexp('^NetworkVpcprivateSubnet2') },
        ],
      },
    });
  });

  it('encrypts the instance storage volume with a customer-managed key', () => {
    const key = stack.inference.volumeKey;
    expect(key).toBeDefined();
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: { 'Fn::GetAtt': [stack.getLogicalId(key?.node.defaultChild as never), 'Arn'] },
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: {
            'Fn::GetAtt': [stack.getLogicalId(stack.inference.node.findChild('Model') as never), 'ModelName'],
          },
          InstanceType: 'ml.c6i.xlarge',
          InitialInstanceCount: 1,
          InitialVariantWeight: 1,
        },
      ],
    });
  });

  it('scales the instances with target tracking on invocations per instance, within the configured bounds', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'sagemaker',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 1,
      MaxCapacity: 4,
      ResourceId: {
        'Fn::Join': [
          '',
          [
            'endpoint/',
            { 'Fn::GetAtt': [stack.getLogicalId(stack.inference.endpoint), 'EndpointName'] },
            '/variant/AllTraffic',
          ],
        ],
      },
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        TargetValue: 300,
      },
    });
  });

  it('lets the S3 gateway endpoint serve the model data the instances download', () => {
    const endpoint = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).find(
      (e) => e.Properties.VpcEndpointType === 'Gateway',
    );
    expect(JSON.stringify(endpoint?.Properties.PolicyDocument)).toMatch(/[0-9a-f]{64}\.gz/);
  });

  it('tells the worker the endpoint is not serverless (6 MB payload limit)', () => {
    const td = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0];
    expect(td?.Properties.ContainerDefinitions[0].Environment).toContainEqual({
      Name: 'SAGEMAKER_SERVERLESS',
      Value: 'false',
    });
  });
});

describe('the nag packs', () => {
  it('report an unacknowledged problem (a bucket that accepts plain HTTP)', () => {
    const app = new App();
    new s3.Bucket(new Stack(app, 'Bad'), 'Bucket');
    const found = findings(app);
    expect(found.some((f) => f.startsWith('error AwsSolutions-S10 '))).toBe(true);
    expect(found.some((f) => f.startsWith('error HIPAA.Security-S3BucketSSLRequestsOnly '))).toBe(true);
  });
});
