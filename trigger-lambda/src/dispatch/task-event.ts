import { JOB_ATTEMPT_ENV, JOB_SPEC_ENV } from '@medimg/common';
import { z } from 'zod';
import type { TaskStopped } from './model.ts';

/** The fields of an EventBridge "ECS Task State Change" event the dispatcher reads. */
const TaskStateChangeSchema = z.object({
  'detail-type': z.literal('ECS Task State Change'),
  source: z.literal('aws.ecs'),
  detail: z.object({
    taskArn: z.string().min(1),
    lastStatus: z.string(),
    stopCode: z.string().optional(),
    startedBy: z.string().optional(),
    containers: z.array(z.object({ name: z.string(), exitCode: z.number().int().optional() })).default([]),
    overrides: z
      .object({
        containerOverrides: z
          .array(
            z.object({
              name: z.string(),
              environment: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
            }),
          )
          .default([]),
      })
      .default({ containerOverrides: [] }),
  }),
});

export function isTaskStateChange(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    (event as Record<string, unknown>)['detail-type'] === 'ECS Task State Change'
  );
}

/**
 * The stopped worker task of an event, or undefined when the event is not about one (another
 * status, another container, a task without the job spec override: not started by the pipeline).
 */
export function parseTaskStopped(event: unknown, containerName: string): TaskStopped | undefined {
  const parsed = TaskStateChangeSchema.safeParse(event);
  if (!parsed.success || parsed.data.detail.lastStatus !== 'STOPPED') return undefined;
  const d = parsed.data.detail;
  const env = d.overrides.containerOverrides.find((o) => o.name === containerName)?.environment ?? [];
  const value = (name: string) => env.find((e) => e.name === name)?.value;
  const jobSpecUri = value(JOB_SPEC_ENV);
  const jobId = /\/jobs\/(job-[0-9a-f]{24})\.json$/.exec(jobSpecUri ?? '')?.[1];
  if (jobSpecUri === undefined || jobId === undefined) return undefined;
  const attempt = Number.parseInt(value(JOB_ATTEMPT_ENV) ?? '1', 10);
  const exitCode = d.containers.find((c) => c.name === containerName)?.exitCode;
  return {
    jobId,
    jobSpecUri,
    attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : 1,
    taskArn: d.taskArn,
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(d.stopCode !== undefined ? { stopCode: d.stopCode } : {}),
  };
}

/** The event ECS sends when a worker task stops: what the local task runner emits too. */
export function taskStoppedEvent(input: {
  readonly clusterArn: string;
  readonly taskArn: string;
  readonly containerName: string;
  readonly jobSpecUri: string;
  readonly attempt: number;
  readonly exitCode?: number;
  readonly stopCode: string;
  readonly time: Date;
}): Record<string, unknown> {
  return {
    version: '0',
    source: 'aws.ecs',
    'detail-type': 'ECS Task State Change',
    time: input.time.toISOString(),
    detail: {
      clusterArn: input.clusterArn,
      taskArn: input.taskArn,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: input.stopCode,
      containers: [
        {
          name: input.containerName,
          lastStatus: 'STOPPED',
          ...(input.exitCode !== undefined ? { exitCode: input.exitCode } : {}),
        },
      ],
      overrides: {
        containerOverrides: [
          {
            name: input.containerName,
            environment: [
              { name: JOB_SPEC_ENV, value: input.jobSpecUri },
              { name: JOB_ATTEMPT_ENV, value: String(input.attempt) },
            ],
          },
        ],
      },
    },
  };
}
