/**
 * The upload API in the synthesized template: IAM authorization on every route, throttling and
 * access logs on the stage, the function's environment and bucket rights, the uploader role that
 * can only invoke the API, the manifest-writer rule on the raw bucket, and the stack outputs.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineStack } from '../pipeline-stack.ts';
import { synthPipeline } from '../testing.ts';

let stack: PipelineStack;
let template: Template;

beforeAll(() => {
  ({ stack } = synthPipeline());
  template = Template.fromStack(stack);
});

const id = (c: IConstruct) => Stack.of(c).getLogicalId((c.node.defaultChild ?? c) as never);

describe('the upload API', () => {
  it('authorizes every route with IAM (SigV4)', () => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    const keys = Object.values(routes).map(
      (r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey,
    );

    expect(keys.sort()).toEqual([
      'GET /batches/{batchId}',
      'GET /limits',
      'POST /batches',
      'POST /batches/{batchId}/complete',
      'POST /batches/{batchId}/urls',
    ]);
    for (const r of Object.values(routes)) {
      expect((r as { Properties: { AuthorizationType: string } }).Properties.AuthorizationType).toBe(
        'AWS_IAM',
      );
    }
  });

  it('throttles the stage and writes an access log line per call with the caller', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [id(stack.uploadApi.accessLogGroup), 'Arn'] },
        Format: Match.stringLikeRegexp('"caller":"\\$context.identity.userArn"'),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.absent(),
      KmsKeyId: { 'Fn::GetAtt': [id(stack.logKey), 'Arn'] },
    });
  });

  it('runs the function on Node 24 in the VPC with 15-minute URLs and both bucket names', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^medimg upload API'),
      Runtime: 'nodejs24.x',
      Timeout: 29,
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Environment: {
        Variables: Match.objectLike({
          URL_EXPIRY_SECONDS: '900',
          RAW_BUCKET: { Ref: id(stack.storage.rawBucket) },
          PROCESSED_BUCKET: { Ref: id(stack.storage.processedBucket) },
        }),
      },
    });
  });

  it('lets the function presign and write under incoming/ and batches/ only, and read job records', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: id(stack.uploadApi.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:PutObject'],
            Resource: [
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.storage.rawBucket), 'Arn'] }, '/batches/*']] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.storage.rawBucket), 'Arn'] }, '/incoming/*']] },
            ],
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: [
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(stack.storage.processedBucket), 'Arn'] }, '/jobs/*']] },
              {
                'Fn::Join': [
                  '',
                  [{ 'Fn::GetAtt': [id(stack.storage.processedBucket), 'Arn'] }, '/studies/*'],
                ],
              },
            ],
          }),
        ]),
      },
    });
  });

  it('gives the uploader role execute-api:Invoke on the API routes and nothing else', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: id(stack.uploadApi.uploaderRole) }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: { Action: unknown }[] } } }).Properties
          .PolicyDocument.Statement,
    );

    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'execute-api:Invoke' });
    expect(JSON.stringify(statements[0])).toContain('/$default/POST/batches/*/complete');
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('^medimg uploader'),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('refuses manifest writes to the raw bucket from anyone but the API function', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id(stack.storage.rawBucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'OnlyTheUploadApiWritesManifests',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: {
              'Fn::Join': [
                '',
                [{ 'Fn::GetAtt': [id(stack.storage.rawBucket), 'Arn'] }, '/incoming/*/manifest.json'],
              ],
            },
            Condition: {
              ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [id(stack.uploadApi.role), 'Arn'] } },
            },
          }),
        ]),
      },
    });
  });

  it('outputs the API URL and the uploader role ARN', () => {
    template.hasOutput('UploadApiUrl', {
      Value: { 'Fn::GetAtt': [id(stack.uploadApi.httpApi), 'ApiEndpoint'] },
    });
    template.hasOutput('UploaderRoleArn', {
      Value: { 'Fn::GetAtt': [id(stack.uploadApi.uploaderRole), 'Arn'] },
    });
  });
});
