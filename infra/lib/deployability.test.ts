/**
 * What a first deployment on a fresh account and day-to-day operation need (issue 14), asserted on
 * the synthesized template: no reserved concurrency, alarms that may publish, PHI access named
 * role by role, a data-event trail with Object Lock, the dispatcher's cap, limit and retries.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATA_ACTIONS, KEY_ADMIN_ACTIONS } from './constructs/storage.ts';
import type { PipelineStack } from './pipeline-stack.ts';
import { REPO_ROOT } from './sources.ts';
import { synthPipeline } from './testing.ts';

type Json = Record<string, unknown>;
interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

const ADMIN = 'arn:aws:iam::123456789012:role/medimg-admin';
let stack: PipelineStack;
let template: Template;

beforeAll(() => {
  ({ stack } = synthPipeline({
    findingsEmails: 'radiology@example.org',
    opsEmails: 'ops@example.org',
    adminRoleArn: ADMIN,
    maxRunningTasks: 12,
    maxTaskAttempts: 4,
    taskTimeLimitMinutes: 90,
    trailRetentionDays: 400,
  }));
  template = Template.fromStack(stack);
});

const id = (c: IConstruct) => Stack.of(c).getLogicalId((c.node.defaultChild ?? c) as never);
const ref = (c: IConstruct) => ({ Ref: id(c) });
const arnOf = (c: IConstruct) => ({ 'Fn::GetAtt': [id(c), 'Arn'] });
const props = (c: IConstruct) =>
  (template.toJSON().Resources as Record<string, { Properties: Json }>)[id(c)]?.Properties as Json;

function bucketPolicy(bucket: IConstruct): Statement[] {
  const policy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find(
    (p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify(ref(bucket)),
  );
  return (policy?.Properties.PolicyDocument.Statement ?? []) as Statement[];
}
const keyPolicy = (key: IConstruct) => (props(key).KeyPolicy as { Statement: Statement[] }).Statement;
function statementsOf(role: IConstruct): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${id(role)}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
const actionsOf = (st: Statement) => (Array.isArray(st.Action) ? st.Action : [st.Action]);

describe('a fresh account', () => {
  it('reserves no trigger concurrency and bounds the trigger by its event source', () => {
    expect(props(stack.ingest.trigger).ReservedConcurrentExecutions).toBeUndefined();
    expect(props(stack.jobControl.dispatcher).ReservedConcurrentExecutions).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(stack.ingest.queue),
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('lets CloudWatch alarms and EventBridge rules of this account publish to the operations topic', () => {
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy')).find((p) =>
      JSON.stringify(p.Properties.Topics).includes(id(stack.notifications.opsTopic)),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as Statement[];
    for (const [service, arn] of [
      ['cloudwatch.amazonaws.com', ':cloudwatch:'],
      ['events.amazonaws.com', ':events:'],
    ] as const) {
      const st = statements.find((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: service }));
      expect(st, service).toEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'sns:Publish',
          Resource: ref(stack.notifications.opsTopic),
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: { 'aws:SourceArn': expect.objectContaining({ 'Fn::Join': expect.anything() }) },
          },
        }),
      );
      expect(JSON.stringify(st?.Condition)).toContain(arn);
    }
  });

  it('puts the same source conditions on the topic key statements', () => {
    const statements = keyPolicy(stack.notifications.key);
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      const st = statements.find((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: service }));
      expect(Object.keys(st?.Condition ?? {}).sort(), service).toEqual(['ArnLike', 'StringEquals']);
    }
  });

  it('tells the worker that findings have subscribers', () => {
    const env = (props(stack.worker.taskDefinition).ContainerDefinitions as Json[])[0]?.Environment;
    expect(env).toContainEqual({ Name: 'FINDINGS_SUBSCRIBERS', Value: 'email' });
  });

  it('refuses to synthesize without recipients', () => {
    expect(() => synthPipeline({ allowNoRecipients: false })).toThrow(
      /findingsEmails.*allowNoRecipients=true/,
    );
    expect(() => synthPipeline({ allowNoRecipients: false, findingsEmails: 'a@example.org' })).toThrow(
      /opsEmails/,
    );
  });

  it('justifies the SQS interface endpoint: the trigger and the dispatcher send to the dispatch queue', () => {
    expect(statementsOf(stack.ingest.role).filter((s) => actionsOf(s).includes('sqs:SendMessage'))).toEqual([
      expect.objectContaining({ Resource: arnOf(stack.jobControl.queue) }),
    ]);
  });
});

describe('S3 gateway endpoint', () => {
  it('admits the stack buckets and the ECR layer bucket only', () => {
    const endpoint = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).find(
      (e) => e.Properties.VpcEndpointType === 'Gateway',
    );
    const statements = endpoint?.Properties.PolicyDocument.Statement as Statement[];
    const s = stack.storage;
    const buckets = statements.find((st) => st.Sid === 'StackBuckets');
    for (const b of [s.rawBucket, s.processedBucket, s.linkageBucket]) {
      expect(buckets?.Resource).toContainEqual(arnOf(b));
    }
    expect(actionsOf(buckets as Statement)).not.toContain('s3:*');
    const layers = statements.find((st) => st.Sid === 'EcrImageLayers');
    expect(layers?.Action).toEqual('s3:GetObject');
    expect(JSON.stringify(layers?.Resource)).toContain('-starport-layer-bucket/*');
  });
});

describe('PHI access', () => {
  it('gives the worker write-only access to the linkage store', () => {
    const linkage = JSON.stringify(arnOf(stack.storage.linkageBucket));
    const onLinkage = statementsOf(stack.worker.taskRole).filter((st) =>
      JSON.stringify(st.Resource).includes(linkage),
    );
    expect(onLinkage.flatMap(actionsOf)).toEqual(['s3:PutObject']);
    const onKey = statementsOf(stack.worker.taskRole).filter(
      (st) => JSON.stringify(st.Resource) === JSON.stringify(arnOf(stack.storage.linkageKey)),
    );
    expect(onKey.flatMap(actionsOf)).toEqual(['kms:GenerateDataKey']);
  });

  it('has a re-identification role that reads linkage/ and writes audit records only, with MFA', () => {
    const role = stack.phiAccess.reidentificationRole;
    const r = props(role);
    expect(r.MaxSessionDuration).toBe(3600);
    expect(JSON.stringify(r.AssumeRolePolicyDocument)).toContain('"aws:MultiFactorAuthPresent":"true"');
    const linkage = stack.storage.linkageBucket;
    const st = statementsOf(role);
    expect(st.filter((s) => actionsOf(s).includes('s3:GetObject'))).toEqual([
      expect.objectContaining({ Resource: { 'Fn::Join': ['', [arnOf(linkage), '/linkage/*']] } }),
    ]);
    expect(st.filter((s) => actionsOf(s).includes('s3:PutObject'))).toEqual([
      expect.objectContaining({ Resource: { 'Fn::Join': ['', [arnOf(linkage), '/audit/reidentify/*']] } }),
    ]);
    expect(new Set(st.flatMap(actionsOf))).toEqual(
      new Set(['s3:ListBucket', 's3:GetObject', 's3:PutObject', 'kms:Decrypt', 'kms:GenerateDataKey']),
    );
  });

  it('denies object access to every principal not named in the raw and linkage bucket policies', () => {
    const s = stack.storage;
    const w = stack.worker;
    const expected = new Map<IConstruct, IConstruct[]>([
      [s.rawBucket, [stack.ingest.role, stack.jobControl.role, w.taskRole, stack.uploadApi.role]],
      [s.linkageBucket, [w.taskRole, stack.phiAccess.reidentificationRole]],
    ]);
    for (const [bucket, roles] of expected) {
      const deny = bucketPolicy(bucket).find((st) => st.Sid === 'DenyObjectAccessOutsideNamedRoles');
      expect(deny, bucket.node.path).toEqual(
        expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' } }),
      );
      expect([...actionsOf(deny as Statement)].sort()).toEqual([...DATA_ACTIONS].sort());
      const named = ((deny?.Condition?.ArnNotLike ?? {}) as Json)['aws:PrincipalArn'] as unknown[];
      expect(named).toHaveLength(roles.length + 1);
      expect(named).toEqual(expect.arrayContaining([ADMIN, ...roles.map(arnOf)]));
      expect(deny?.Condition?.Bool).toEqual({ 'aws:PrincipalIsAWSService': 'false' });
    }
  });

  it('keeps the access-log bucket as tight: the administrator role only', () => {
    const deny = bucketPolicy(stack.storage.auditBucket).find(
      (st) => st.Sid === 'DenyObjectAccessOutsideNamedRoles',
    );
    expect(deny?.Condition?.ArnNotLike).toEqual({ 'aws:PrincipalArn': [ADMIN] });
  });

  it('lets the account administer the PHI keys but only the named roles use them, through S3', () => {
    const s = stack.storage;
    for (const [key, roles] of [
      [s.rawKey, [stack.ingest.role, stack.jobControl.role, stack.worker.taskRole]],
      [s.linkageKey, [stack.worker.taskRole, stack.phiAccess.reidentificationRole]],
    ] as const) {
      const statements = keyPolicy(key);
      const root = statements.filter((st) => JSON.stringify(st.Principal).includes(':root'));
      expect(root).toHaveLength(1);
      expect([...actionsOf(root[0] as Statement)].sort()).toEqual([...KEY_ADMIN_ACTIONS].sort());
      expect(actionsOf(root[0] as Statement).some((a) => a === 'kms:*' || a.startsWith('kms:Decrypt'))).toBe(
        false,
      );
      const users = statements.filter((st) => st !== root[0]).map((st) => JSON.stringify(st.Principal));
      for (const role of roles) expect(users).toContain(JSON.stringify({ AWS: arnOf(role) }));
      expect(users).toContain(JSON.stringify({ AWS: ADMIN }));
      for (const st of statements.filter((x) => x !== root[0])) {
        expect(st.Condition).toEqual({ StringEquals: { 'kms:ViaService': expect.anything() } });
      }
    }
  });
});

describe('audit trail', () => {
  it('records data events of the raw and linkage buckets, encrypted, validated, to CloudWatch Logs', () => {
    template.hasResourceProperties('AWS::CloudTrail::Trail', {
      IsLogging: true,
      EnableLogFileValidation: true,
      KMSKeyId: arnOf(stack.auditTrail.key),
      S3BucketName: ref(stack.auditTrail.bucket),
      CloudWatchLogsLogGroupArn: Match.anyValue(),
      EventSelectors: [
        {
          IncludeManagementEvents: false,
          ReadWriteType: 'All',
          DataResources: [
            {
              Type: 'AWS::S3::Object',
              Values: [
                { 'Fn::Join': ['', [arnOf(stack.storage.rawBucket), '/']] },
                { 'Fn::Join': ['', [arnOf(stack.storage.linkageBucket), '/']] },
              ],
            },
          ],
        },
      ],
    });
  });

  it('keeps the records in a bucket of their own with Object Lock (governance, default retention)', () => {
    expect(props(stack.auditTrail.bucket)).toEqual(
      expect.objectContaining({
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 400 } },
        },
        LoggingConfiguration: {
          DestinationBucketName: ref(stack.storage.auditBucket),
          LogFilePrefix: 's3-access/trail/',
        },
      }),
    );
    // The access-log bucket has no default retention (S3 log delivery refuses one).
    expect(props(stack.storage.auditBucket).ObjectLockConfiguration).toBeUndefined();
  });
});

describe('job dispatch', () => {
  it('sends every stopped worker task to the dispatcher', () => {
    const rule = props(stack.jobControl.stoppedTaskRule);
    expect(rule.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        clusterArn: [arnOf(stack.worker.cluster)],
        lastStatus: ['STOPPED'],
        group: [expect.stringMatching(/^family:/)],
      },
    });
    expect(rule.Targets).toEqual([
      expect.objectContaining({ Arn: arnOf(stack.jobControl.dispatcher), RetryPolicy: expect.anything() }),
    ]);
  });

  it('configures the task cap, the attempts, the backoff and the time limit', () => {
    const env = (props(stack.jobControl.dispatcher).Environment as { Variables: Json }).Variables;
    expect(env).toEqual(
      expect.objectContaining({
        MAX_RUNNING_TASKS: '12',
        MAX_ATTEMPTS: '4',
        RETRY_BASE_DELAY_SECONDS: '60',
        TASK_TIME_LIMIT_SECONDS: '5400',
        DISPATCH_QUEUE_URL: ref(stack.jobControl.queue),
        OPS_TOPIC_ARN: ref(stack.notifications.opsTopic),
      }),
    );
  });

  it('lets jobs wait at the cap on the dispatch queue, which comes back every minute', () => {
    expect(props(stack.jobControl.queue)).toEqual(
      expect.objectContaining({
        VisibilityTimeout: 60,
        RedrivePolicy: {
          deadLetterTargetArn: arnOf(stack.jobControl.deadLetterQueue),
          maxReceiveCount: 1000,
        },
      }),
    );
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(stack.jobControl.queue),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('lets the dispatcher stop and count tasks of the pipeline cluster only', () => {
    const st = statementsOf(stack.jobControl.role);
    for (const action of ['ecs:StopTask', 'ecs:ListTasks']) {
      expect(st.filter((s) => actionsOf(s).includes(action))).toEqual([
        expect.objectContaining({ Condition: { ArnEquals: { 'ecs:cluster': arnOf(stack.worker.cluster) } } }),
      ]);
    }
  });
});

describe('operations alarms', () => {
  const metricOf = (a: Json) =>
    (a.Metrics as { MetricStat?: { Metric: Json } }[] | undefined)?.[0]?.MetricStat?.Metric ?? a;

  it('alarms on queue age, RunTask failures, dead-lettered jobs, jobs without inference, throttling and failed deliveries', () => {
    const alarms = stack.operationsAlarms.alarms.map((a) => props(a));
    const names = alarms.map((a) => `${metricOf(a).Namespace} ${metricOf(a).MetricName}`);
    expect(names.sort()).toEqual(
      [
        'AWS/SQS ApproximateAgeOfOldestMessage',
        'AWS/SQS ApproximateAgeOfOldestMessage',
        'AWS/SQS ApproximateNumberOfMessagesVisible',
        'Medimg/Pipeline RunTaskFailures',
        'Medimg/Pipeline JobsDeadLettered',
        'Medimg/Pipeline JobsWithoutInference',
        'Medimg/Pipeline InferenceThrottles',
        'AWS/SNS NumberOfNotificationsFailed',
        'AWS/SNS NumberOfNotificationsFailed',
      ].sort(),
    );
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([ref(stack.notifications.opsTopic)]);
      expect(String(a.AlarmDescription)).toContain('docs/runbook.md');
    }
    expect(
      alarms
        .filter((a) => metricOf(a).MetricName === 'ApproximateAgeOfOldestMessage')
        .map((a) => a.Threshold),
    ).toEqual([1800, 1800]);
  });

  it('names, in every alarm of the stack, its own row of docs/runbook.md, and that row exists', () => {
    const runbook = readFileSync(path.join(REPO_ROOT, 'docs', 'runbook.md'), 'utf8');
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(10);
    for (const alarm of alarms) {
      const description = String((alarm as { Properties: Json }).Properties.AlarmDescription);
      const id = /\(docs\/runbook\.md: (\w+)\)$/.exec(description)?.[1];
      expect(id, description).toBeDefined();
      expect(runbook, id).toMatch(new RegExp(`^\\| [^|]*\`${id}\``, 'm'));
    }
  });
});
