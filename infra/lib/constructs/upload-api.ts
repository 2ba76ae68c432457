import { UPLOAD_API_ENV } from '@medimg/common';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, INLINE_POLICY_REASON } from '../nag.ts';
import type { Network } from './network.ts';
import { type LambdaCodeSource, vpcFunction } from './vpc-function.ts';

export interface UploadApiSettings {
  /** Steady-state requests per second over the whole API (API Gateway stage throttling). */
  readonly throttleRatePerSecond: number;
  readonly throttleBurst: number;
  /** Presigned URL lifetime; 900 s (15 minutes) at most. */
  readonly urlExpirySeconds: number;
  readonly maxFilesPerBatch: number;
  /** Batch records (`batches/`) are kept this long in the raw bucket. */
  readonly batchRecordDays: number;
  readonly reservedConcurrency: number;
}

export const DEFAULT_UPLOAD_API_SETTINGS: UploadApiSettings = {
  throttleRatePerSecond: 20,
  throttleBurst: 40,
  urlExpirySeconds: 900,
  maxFilesPerBatch: 5000,
  batchRecordDays: 30,
  reservedConcurrency: 10,
};

export interface UploadApiProps {
  readonly code: LambdaCodeSource;
  readonly network: Network;
  readonly rawBucket: s3.Bucket;
  readonly logRetention: logs.RetentionDays;
  readonly logKey: kms.IKey;
  readonly settings?: Partial<UploadApiSettings>;
  /**
   * Who may assume the uploader role (default: this account's IAM principals that are allowed to
   * by their own policies, e.g. a permission set of IAM Identity Center or a role per site).
   */
  readonly uploaderTrust?: iam.IPrincipal;
}

/**
 * The front door of DESIGN D1: an API Gateway HTTP API with IAM (SigV4) authorization on every
 * route, a Lambda function behind it (upload-api/), access logs, stage throttling, and the
 * least-privilege uploader role that sites assume to call it. Bind the buckets with
 * `Storage.bindUploadApi(api.function)`.
 */
export class UploadApi extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly uploaderRole: iam.Role;
  readonly accessLogGroup: logs.LogGroup;
  readonly settings: UploadApiSettings;

  constructor(scope: Construct, id: string, props: UploadApiProps) {
    super(scope, id);
    const s = { ...DEFAULT_UPLOAD_API_SETTINGS, ...props.settings };
    if (s.urlExpirySeconds > 900) throw new Error('presigned URLs live 900 s (15 minutes) at most');
    this.settings = s;

    const { fn, role } = vpcFunction(this, {
      ids: {
        logGroup: 'FunctionLogGroup',
        role: 'FunctionRole',
        securityGroup: 'FunctionSecurityGroup',
        function: 'Function',
      },
      description: 'medimg upload API: batches, presigned upload URLs, completion checks, batch status',
      roleDescription:
        'medimg upload API Lambda: presigns uploads into the raw bucket, writes batch manifests',
      securityGroupDescription: 'medimg upload API Lambda: no inbound, HTTPS out to VPC endpoints',
      code: props.code,
      network: props.network,
      logRetention: props.logRetention,
      logKey: props.logKey,
      memorySize: 1024,
      // API Gateway waits 30 s at most for an integration.
      timeout: Duration.seconds(29),
      environment: {
        [UPLOAD_API_ENV.URL_EXPIRY_SECONDS]: String(s.urlExpirySeconds),
        [UPLOAD_API_ENV.MAX_FILES]: String(s.maxFilesPerBatch),
      },
      reservedConcurrentExecutions: s.reservedConcurrency,
    });
    this.role = role;
    this.function = fn;

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogGroup', {
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'medimg upload API (IAM authorization on every route)',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: s.throttleRatePerSecond, burstLimit: s.throttleBurst },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        // Who called what, and the outcome; paths hold batch ids only, never file names.
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            caller: '$context.identity.userArn',
            sourceIp: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            route: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            integrationStatus: '$context.integrationStatus',
            error: '$context.error.responseType',
          }),
        ),
      },
    });
    const integration = new HttpLambdaIntegration('Integration', this.function);
    const routes: [string, apigwv2.HttpMethod][] = [
      ['/limits', apigwv2.HttpMethod.GET],
      ['/batches', apigwv2.HttpMethod.POST],
      ['/batches/{batchId}', apigwv2.HttpMethod.GET],
      ['/batches/{batchId}/urls', apigwv2.HttpMethod.POST],
      ['/batches/{batchId}/complete', apigwv2.HttpMethod.POST],
    ];
    for (const [path, method] of routes) this.httpApi.addRoutes({ path, methods: [method], integration });

    // The uploader role: calling these routes is all it can do. The presigned URLs carry the
    // function's permissions, so the role needs no S3 or KMS access at all.
    this.uploaderRole = new iam.Role(this, 'UploaderRole', {
      assumedBy: props.uploaderTrust ?? new iam.AccountRootPrincipal(),
      description: 'medimg uploader: calls the upload API (execute-api:Invoke on its routes), nothing else',
      maxSessionDuration: Duration.hours(4),
    });
    this.uploaderRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: routes.map(([path, method]) =>
          this.httpApi.arnForExecuteApi(method, path.replace(/\{batchId\}/, '*'), '$default'),
        ),
      }),
    );

    // In AWS, only this function writes batch manifests (the trigger starts jobs from them).
    props.rawBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheUploadApiWritesManifests',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [props.rawBucket.arnForObjects('incoming/*/manifest.json')],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': this.role.roleArn } },
      }),
    );
    props.rawBucket.addLifecycleRule({
      id: 'expire-batch-records',
      prefix: 'batches/',
      expiration: Duration.days(s.batchRecordDays),
    });

    acknowledge(this.uploaderRole, 'HIPAA.Security-IAMNoInlinePolicy', INLINE_POLICY_REASON);
    acknowledge(
      this.uploaderRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${Stack.of(this).getLogicalId(this.httpApi.node.defaultChild as apigwv2.CfnApi)}>/$default/GET/batches/*]`,
      'The batch id in the path is issued at run time; the method, the route and the stage are fixed.',
    );
    acknowledge(
      this.uploaderRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${Stack.of(this).getLogicalId(this.httpApi.node.defaultChild as apigwv2.CfnApi)}>/$default/POST/batches/*/urls]`,
      'The batch id in the path is issued at run time; the method, the route and the stage are fixed.',
    );
    acknowledge(
      this.uploaderRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${Stack.of(this).getLogicalId(this.httpApi.node.defaultChild as apigwv2.CfnApi)}>/$default/POST/batches/*/complete]`,
      'The batch id in the path is issued at run time; the method, the route and the stage are fixed.',
    );
    acknowledge(
      this.function,
      'HIPAA.Security-LambdaDLQ',
      'The function answers API Gateway synchronously; a function dead-letter queue applies to asynchronous invocations only. A failed call is answered with an error the client retries.',
    );
  }
}
