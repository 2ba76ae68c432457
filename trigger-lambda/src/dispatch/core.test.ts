import type { EmfRecord } from '@medimg/common';
import { describe, expect, it } from 'vitest';
import { TaskLaunchError } from '../errors.ts';
import { backoffSeconds, Dispatcher, type DispatcherConfig } from './core.ts';
import { createDispatchHandlers } from './handler.ts';
import type { DeadLetterRecord, DispatchMessage, JobLedger, StartMessage } from './model.ts';
import { parseTaskStopped, taskStoppedEvent } from './task-event.ts';

const JOB = 'job-0123456789abcdef01234567';
const SPEC = `s3://raw/jobs/${JOB}.json`;
const start = (attempt = 1): StartMessage => ({
  kind: 'start',
  version: 1,
  jobId: JOB,
  jobSpecUri: SPEC,
  attempt,
});

/** In-memory ports: a ledger, a queue that records sends, tasks that count and stop. */
function harness(config: Partial<DispatcherConfig> = {}, running = 0) {
  const ledgers = new Map<string, JobLedger>();
  const deadLetters: DeadLetterRecord[] = [];
  const sent: { message: DispatchMessage; delaySeconds: number }[] = [];
  const started: { attempt: number }[] = [];
  const stopped: string[] = [];
  const ops: { subject: string; message: string }[] = [];
  const metrics: EmfRecord[] = [];
  let now = new Date('2026-12-01T06:00:00Z');
  const state = { running, failRunTask: false };
  const dispatcher = new Dispatcher({
    ledger: {
      read: async (jobId) => structuredClone(ledgers.get(jobId)),
      write: async (l) => void ledgers.set(l.jobId, structuredClone(l)),
      writeDeadLetter: async (r) => void deadLetters.push(r),
    },
    queue: { send: async (message, delaySeconds) => void sent.push({ message, delaySeconds }) },
    tasks: {
      runTask: async ({ attempt }) => {
        if (state.failRunTask)
          throw new TaskLaunchError('TASK_LAUNCH_CAPACITY', 'no capacity', { attempts: 5 });
        started.push({ attempt });
        return { taskArn: `arn:aws:ecs:eu-west-1:1:task/c/t${started.length}` };
      },
      stopTask: async (arn) => void stopped.push(arn),
      countRunning: async (atMost) => Math.min(atMost, state.running),
    },
    ops: { publish: async (subject, message) => void ops.push({ subject, message }) },
    config: {
      maxAttempts: 3,
      maxRunningTasks: 2,
      retryBaseDelaySeconds: 60,
      taskTimeLimitSeconds: 3600,
      ...config,
    },
    clock: () => now,
    metrics: { emit: (r) => void metrics.push(r) },
  });
  const stop = (taskArn: string, attempt: number, exitCode?: number) =>
    dispatcher.taskStopped({
      jobId: JOB,
      jobSpecUri: SPEC,
      attempt,
      taskArn,
      ...(exitCode !== undefined ? { exitCode } : {}),
      stopCode: 'EssentialContainerExited',
    });
  return {
    dispatcher,
    ledgers,
    deadLetters,
    sent,
    started,
    stopped,
    ops,
    metrics,
    state,
    stop,
    advance: (seconds: number) => {
      now = new Date(now.getTime() + seconds * 1000);
    },
    metricNames: () => metrics.flatMap((m) => m.metrics.map((x) => x.name)),
  };
}

describe('the dispatcher', () => {
  it('starts the first attempt, records it and queues a time-limit check', async () => {
    const h = harness();
    expect(await h.dispatcher.start(start())).toBe('started');
    expect(h.ledgers.get(JOB)?.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        taskArn: expect.any(String),
        timeLimitAt: '2026-12-01T07:00:00.000Z',
      }),
    ]);
    expect(h.sent).toEqual([
      { message: expect.objectContaining({ kind: 'time-limit', attempt: 1 }), delaySeconds: 900 },
    ]);
  });

  it('defers a start at the task cap and starts nothing', async () => {
    const h = harness({}, 2);
    expect(await h.dispatcher.start(start())).toBe('deferred');
    expect(h.started).toEqual([]);
    expect(h.metricNames()).toContain('JobsDeferred');
  });

  it('retries a failed attempt after a doubling backoff, then dead-letters after the last one', async () => {
    const h = harness();
    await h.dispatcher.start(start(1));
    expect(await h.stop('arn:aws:ecs:eu-west-1:1:task/c/t1', 1, 137)).toBe('retry-scheduled');
    expect(h.sent.at(-1)).toEqual({ message: start(2), delaySeconds: 60 });
    await h.dispatcher.start(start(2));
    expect(await h.stop('arn:aws:ecs:eu-west-1:1:task/c/t2', 2, 1)).toBe('retry-scheduled');
    expect(h.sent.at(-1)).toEqual({ message: start(3), delaySeconds: 120 });
    await h.dispatcher.start(start(3));
    expect(await h.stop('arn:aws:ecs:eu-west-1:1:task/c/t3', 3, 1)).toBe('dead-lettered');
    expect(h.deadLetters).toHaveLength(1);
    expect(h.ledgers.get(JOB)?.state).toBe('dead-lettered');
    expect(h.ops).toHaveLength(1);
    expect(h.ops[0]?.subject).toBe(`[medimg ops] job ${JOB} failed 3 attempts: dead-lettered`);
    expect(h.metricNames()).toContain('JobsDeadLettered');
    // A late duplicate of the last event changes nothing.
    expect(await h.stop('arn:aws:ecs:eu-west-1:1:task/c/t3', 3, 1)).toBe('duplicate');
    expect(h.ops).toHaveLength(1);
  });

  it('counts a task that never started (no exit code) as a failed attempt', async () => {
    const h = harness();
    await h.dispatcher.start(start(1));
    expect(await h.stop('arn:aws:ecs:eu-west-1:1:task/c/t1', 1)).toBe('retry-scheduled');
  });

  it('starts nothing for a job that already succeeded, or an attempt that already has a task', async () => {
    const h = harness();
    await h.dispatcher.start(start(1));
    expect(await h.dispatcher.start(start(1))).toBe('duplicate');
    await h.stop('arn:aws:ecs:eu-west-1:1:task/c/t1', 1, 0);
    expect(await h.dispatcher.start(start(2))).toBe('finished-already');
    expect(h.started).toHaveLength(1);
  });

  it('stops a task still running at its time limit; the stop then counts as a timed-out attempt', async () => {
    const h = harness({ taskTimeLimitSeconds: 1200 });
    await h.dispatcher.start(start(1));
    const check = h.sent[0]?.message;
    if (check?.kind !== 'time-limit') throw new Error('expected a time-limit message');
    h.advance(900);
    expect(await h.dispatcher.timeLimit(check)).toBe('waiting');
    expect(h.sent.at(-1)?.delaySeconds).toBe(300);
    h.advance(300);
    expect(await h.dispatcher.timeLimit(check)).toBe('stopped');
    expect(h.stopped).toEqual([check.taskArn]);
    expect(await h.stop(check.taskArn, 1, 143)).toBe('retry-scheduled');
    expect(h.ledgers.get(JOB)?.attempts[0]?.outcome).toBe('timed-out');
  });

  it('leaves a RunTask failure to the queue (the message comes back) and counts it', async () => {
    const h = harness();
    h.state.failRunTask = true;
    const handlers = createDispatchHandlers(h.dispatcher, { containerName: 'worker' });
    const response = await handlers.onQueueBatch({
      Records: [{ messageId: 'm1', body: JSON.stringify(start()) } as never],
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(h.metricNames()).toContain('RunTaskFailures');
  });

  it('caps the backoff at the longest SQS delay', () => {
    expect([1, 2, 3, 10].map((n) => backoffSeconds(n, 60))).toEqual([60, 120, 240, 900]);
  });
});

describe('the stopped-task event', () => {
  it('round-trips through the event ECS sends and ignores tasks the pipeline did not start', () => {
    const event = taskStoppedEvent({
      clusterArn: 'arn:aws:ecs:eu-west-1:1:cluster/c',
      taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/abc',
      containerName: 'worker',
      jobSpecUri: SPEC,
      attempt: 2,
      exitCode: 137,
      stopCode: 'EssentialContainerExited',
      time: new Date(0),
    });
    expect(parseTaskStopped(event, 'worker')).toEqual({
      jobId: JOB,
      jobSpecUri: SPEC,
      attempt: 2,
      taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/abc',
      exitCode: 137,
      stopCode: 'EssentialContainerExited',
    });
    expect(parseTaskStopped(event, 'another-container')).toBeUndefined();
    expect(
      parseTaskStopped(
        { ...event, detail: { ...(event.detail as object), lastStatus: 'RUNNING' } },
        'worker',
      ),
    ).toBeUndefined();
  });
});

describe('the dispatch queue handler', () => {
  it('replays a stopped-task event redriven from the dead-letter queue', async () => {
    const h = harness();
    await h.dispatcher.start(start(1));
    const handlers = createDispatchHandlers(h.dispatcher, { containerName: 'worker' });
    const event = taskStoppedEvent({
      clusterArn: 'arn:aws:ecs:eu-west-1:1:cluster/c',
      taskArn: 'arn:aws:ecs:eu-west-1:1:task/c/t1',
      containerName: 'worker',
      jobSpecUri: SPEC,
      attempt: 1,
      exitCode: 0,
      stopCode: 'EssentialContainerExited',
      time: new Date(0),
    });
    const response = await handlers.onQueueBatch({
      Records: [{ messageId: 'm1', body: JSON.stringify(event) } as never],
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(h.ledgers.get(JOB)?.state).toBe('succeeded');
  });
});
