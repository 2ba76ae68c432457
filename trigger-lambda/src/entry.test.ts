import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { startLocalS3 } from '@medimg/aws/testing';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHandlerFromEnv, handler } from './handler.ts';
import { s3NotificationBody, sqsEvent } from './testing/events.ts';

const env = {
  RAW_BUCKET: 'raw',
  CLUSTER_ARN: 'arn:aws:ecs:us-east-1:123456789012:cluster/medimg',
  TASK_DEFINITION_ARN: 'arn:aws:ecs:us-east-1:123456789012:task-definition/medimg-worker:3',
  CONTAINER_NAME: 'worker',
  SUBNET_IDS: 'subnet-0a1b2c3d',
  SECURITY_GROUP_IDS: 'sg-0123abcd',
  LOG_LEVEL: 'error',
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('Lambda entry', () => {
  it('fails the invocation naming the missing variable', async () => {
    vi.stubEnv('RAW_BUCKET', undefined);
    vi.stubEnv('SUBNET_IDS', undefined);

    await expect(handler(sqsEvent([]))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      variable: 'RAW_BUCKET',
    });
  });

  it('wires the S3 and ECS adapters from the environment', async () => {
    const s3 = await startLocalS3('raw');
    try {
      const ecsClient = new ECSClient({ region: 'us-east-1' });
      const ecs = mockClient(ecsClient);
      ecs
        .on(RunTaskCommand)
        .resolves({ tasks: [{ taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/medimg/1' }] });
      await s3.put('incoming/export/a.dcm', 'DICM');
      const h = createHandlerFromEnv(env, { s3: s3.client, ecs: ecsClient });

      const res = await h(sqsEvent([s3NotificationBody({ key: 'incoming/export/a.dcm', size: 4 })]));

      expect(res.batchItemFailures).toEqual([]);
      const input = ecs.commandCalls(RunTaskCommand)[0]?.args[0].input;
      expect(input?.cluster).toBe(env.CLUSTER_ARN);
      expect(input?.overrides?.containerOverrides?.[0]?.environment?.[0]?.value).toMatch(
        /^s3:\/\/raw\/jobs\/job-[0-9a-f]{24}\.json$/,
      );
    } finally {
      await s3.close();
    }
  });
});
