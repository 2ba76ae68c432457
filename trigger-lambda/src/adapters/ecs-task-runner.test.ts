import {
  ECSClient,
  ECSServiceException,
  InvalidParameterException,
  RunTaskCommand,
  ServerException,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EcsTaskConfig } from '../config.ts';
import { TaskLaunchError } from '../errors.ts';
import { EcsTaskRunner } from './ecs-task-runner.ts';

const config: EcsTaskConfig = {
  clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/medimg',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/medimg-worker:3',
  containerName: 'worker',
  subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
  securityGroupIds: ['sg-0123abcd'],
  assignPublicIp: 'DISABLED',
};
const input = {
  jobId: 'job-0123456789abcdef01234567',
  jobSpecUri: 's3://raw/jobs/job-0123456789abcdef01234567.json',
};
const taskArn = 'arn:aws:ecs:us-east-1:123456789012:task/medimg/0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const capacity = {
  failures: [
    {
      arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/medimg',
      reason:
        'Capacity is unavailable at this time. Please try again later or in a different availability zone',
    },
  ],
  tasks: [],
};

const throttling = () =>
  new ECSServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });

const ecs = mockClient(ECSClient);
let delays: number[];
const runner = (maxAttempts = 4) =>
  new EcsTaskRunner(config, {
    client: new ECSClient({ region: 'us-east-1' }),
    maxAttempts,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 0.999,
  });

beforeEach(() => {
  ecs.reset();
  delays = [];
});
afterEach(() => ecs.reset());

describe('EcsTaskRunner', () => {
  it('starts one Fargate task with the job spec location as the only override', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn }], failures: [] });

    await expect(runner().runTask(input)).resolves.toEqual({ taskArn });

    const [call] = ecs.commandCalls(RunTaskCommand);
    expect(call?.args[0].input).toEqual({
      cluster: config.clusterArn,
      taskDefinition: config.taskDefinitionArn,
      launchType: 'FARGATE',
      count: 1,
      startedBy: input.jobId,
      clientToken: input.jobId,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: config.subnetIds,
          securityGroups: config.securityGroupIds,
          assignPublicIp: 'DISABLED',
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: 'worker',
            environment: [
              { name: 'JOB_SPEC_URI', value: input.jobSpecUri },
              { name: 'JOB_ATTEMPT', value: '1' },
            ],
          },
        ],
      },
    });
  });

  it('retries a throttled RunTask with the same client token and returns the task', async () => {
    ecs
      .on(RunTaskCommand)
      .rejectsOnce(throttling())
      .resolves({ tasks: [{ taskArn }] });

    await expect(runner().runTask(input)).resolves.toEqual({ taskArn });

    const calls = ecs.commandCalls(RunTaskCommand);
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.args[0].input.clientToken)).toEqual([input.jobId, input.jobId]);
    expect(delays).toHaveLength(1);
  });

  it('retries a server error', async () => {
    ecs
      .on(RunTaskCommand)
      .rejectsOnce(new ServerException({ $metadata: { httpStatusCode: 500 }, message: 'internal' }))
      .resolves({ tasks: [{ taskArn }] });

    await expect(runner().runTask(input)).resolves.toEqual({ taskArn });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(2);
  });

  it('gives up with TASK_LAUNCH_CAPACITY after the bounded attempts when capacity stays unavailable', async () => {
    ecs.on(RunTaskCommand).resolves(capacity);

    const err = await runner(4)
      .runTask(input)
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(TaskLaunchError);
    expect(err).toMatchObject({ code: 'TASK_LAUNCH_CAPACITY', attempts: 4 });
    expect((err as TaskLaunchError).reasons[0]).toMatch(/^Capacity is unavailable/);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(4);
    // Exponential ceilings 100, 200, 400 (capped at 1000), full jitter below each.
    expect(delays).toHaveLength(3);
    delays.forEach((d, i) => {
      expect(d).toBeLessThan(Math.min(1000, 100 * 2 ** i));
    });
    expect(delays[2]).toBeGreaterThan(delays[0]!);
  });

  it('retries a RESOURCE failure and succeeds when capacity comes back', async () => {
    ecs
      .on(RunTaskCommand)
      .resolvesOnce({ failures: [{ reason: 'RESOURCE:ENI' }] })
      .resolves({ tasks: [{ taskArn }] });

    await expect(runner().runTask(input)).resolves.toEqual({ taskArn });
  });

  it('does not retry a refused request', async () => {
    ecs.on(RunTaskCommand).rejects(new InvalidParameterException({ $metadata: {}, message: 'bad subnet' }));

    await expect(runner().runTask(input)).rejects.toMatchObject({
      code: 'TASK_LAUNCH_REJECTED',
      attempts: 1,
    });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(1);
  });

  it('does not retry a failure reason that will not go away', async () => {
    ecs.on(RunTaskCommand).resolves({ failures: [{ reason: 'MISSING' }] });

    await expect(runner().runTask(input)).rejects.toMatchObject({
      code: 'TASK_LAUNCH_REJECTED',
      reasons: ['MISSING'],
    });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(1);
  });

  it('reports TASK_LAUNCH_NO_TASK for an answer with neither task nor failure', async () => {
    ecs.on(RunTaskCommand).resolves({});

    await expect(runner().runTask(input)).rejects.toMatchObject({ code: 'TASK_LAUNCH_NO_TASK' });
  });

  it('refuses a job id too long for startedBy without calling ECS', async () => {
    await expect(runner().runTask({ ...input, jobId: 'x'.repeat(37) })).rejects.toMatchObject({
      code: 'TASK_LAUNCH_REJECTED',
    });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });
});
