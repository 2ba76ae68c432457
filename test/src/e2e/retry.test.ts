/**
 * The retry path (docs/decisions/014-job-dispatch-and-retries.md), with the real trigger, the real
 * dispatcher core behind the local SQS, the real worker as a child process: a task that fails once
 * is re-run and the job succeeds; a task that always fails stops after the configured number of
 * attempts, with a dead-letter record and an operations message. A re-run after success starts
 * nothing.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rawKeys } from '@medimg/common';
import type { DeadLetterRecord, JobLedger } from '@medimg/trigger-lambda/dispatch/model.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../local/pipeline.ts';
import { REPO_ROOT, taskProblems } from '../local/task-runner.ts';

const STUDY = path.join(REPO_ROOT, 'sample-dicom/studies/dx-chest');
const MAX_ATTEMPTS = 3;

/**
 * Within a describe: a local pipeline whose worker fails its first `failAttempts` attempts, the
 * sample study uploaded and everything settled before the tests; stopped and removed after them.
 */
function pipelineRun(
  failAttempts: number,
  extra: Record<string, string> = {},
): { readonly pipeline: LocalPipeline } {
  const run = {} as { pipeline: LocalPipeline };
  let dataDir: string | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'medimg-retry-'));
    run.pipeline = await startLocalPipeline({
      dataDir,
      workerEnvironment: { MEDIMG_FAULT_FAIL_ATTEMPTS: String(failAttempts), ...extra },
      dispatch: {
        maxAttempts: MAX_ATTEMPTS,
        maxRunningTasks: 4,
        retryBaseDelaySeconds: 0,
        taskTimeLimitSeconds: 600,
      },
    });
    await run.pipeline.upload(STUDY);
    await run.pipeline.settle();
  }, 120_000);
  afterAll(async () => {
    await run.pipeline?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return run;
}

describe('a worker task that fails once', () => {
  const run = pipelineRun(1);

  it('is re-run as attempt 2, which succeeds and says so in the job record', async () => {
    const tasks = run.pipeline.runner.tasks;
    expect(tasks.map((t) => [t.attempt, t.exitCode])).toEqual([
      [1, 1],
      [2, 0],
    ]);
    const record = await run.pipeline.jobStatus(tasks[0]!.jobId);
    expect(record.state, await taskProblems(tasks[1]!)).toBe('succeeded');
    expect(record.attempt).toBe(2);
  });

  it('keeps a ledger of both attempts and sends no operations message', async () => {
    const jobId = run.pipeline.runner.tasks[0]!.jobId;
    const ledger = await run.pipeline.getJson<JobLedger>(
      run.pipeline.servers.names.rawBucket,
      rawKeys.jobAttempts(jobId),
    );
    expect(ledger.state).toBe('succeeded');
    expect(ledger.attempts.map((a) => [a.attempt, a.outcome, a.exitCode])).toEqual([
      [1, 'failed', 1],
      [2, 'succeeded', 0],
    ]);
    expect(run.pipeline.mail.filter((m) => m.subject.includes('dead-lettered'))).toEqual([]);
  });

  it('starts nothing when the job is dispatched again after its success', async () => {
    const first = run.pipeline.runner.tasks[0]!;
    await run.pipeline.dispatch!.queue.send(
      { kind: 'start', version: 1, jobId: first.jobId, jobSpecUri: first.jobSpecUri, attempt: 3 },
      0,
    );
    await run.pipeline.settle();
    expect(run.pipeline.runner.tasks).toHaveLength(2);
  });
});

describe('a worker task that always fails', () => {
  const run = pipelineRun(99);

  it(`stops after ${MAX_ATTEMPTS} attempts`, () => {
    expect(run.pipeline.runner.tasks.map((t) => [t.attempt, t.exitCode])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });

  it('writes a dead-letter record and tells operations, by job id only', async () => {
    const jobId = run.pipeline.runner.tasks[0]!.jobId;
    const raw = run.pipeline.servers.names.rawBucket;
    const deadLetter = await run.pipeline.getJson<DeadLetterRecord>(raw, rawKeys.jobDeadLetter(jobId));
    expect(deadLetter.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed']);
    const ledger = await run.pipeline.getJson<JobLedger>(raw, rawKeys.jobAttempts(jobId));
    expect(ledger.state).toBe('dead-lettered');

    const ops = run.pipeline.mail.filter((m) => m.topicArn === run.pipeline.servers.opsTopicArn);
    const dead = ops.filter((m) => m.subject.includes('dead-lettered'));
    expect(dead).toHaveLength(1);
    expect(dead[0]?.subject).toBe(`[medimg ops] job ${jobId} failed 3 attempts: dead-lettered`);
    expect(dead[0]?.body).toContain('attempt 3: failed, exit code 1');
    expect(dead[0]?.body).toContain('docs/runbook.md');
    expect(dead[0]?.body).not.toMatch(/incoming\//);
  });
});

describe('a job whose inference failed (endpoint down on the first attempt)', () => {
  const run = pipelineRun(0, { MEDIMG_FAULT_INFERENCE_DOWN_ATTEMPTS: '1' });

  it('is not finished silently: the attempt fails and the job is re-queued', () => {
    expect(run.pipeline.runner.tasks.map((t) => [t.attempt, t.exitCode])).toEqual([
      [1, 1],
      [2, 0],
    ]);
  });

  it('re-runs inference alone, reusing the stored files, and then succeeds', async () => {
    const [first, second] = run.pipeline.runner.tasks;
    const record = await run.pipeline.jobStatus(first!.jobId);
    expect(record.state, await taskProblems(second!)).toBe('succeeded');
    expect(record.resumedFrom).toEqual({ attempt: 1, mode: 'inference-only' });
    expect(record.inference.state).toBe('succeeded');
    expect(record.counts.processed).toBeGreaterThan(0);
    const log = await readFile(second!.logFile, 'utf8');
    expect(log).toContain('inference-only re-run');
    expect(log).not.toContain('"step":"fetch"');
    expect(await readFile(first!.logFile, 'utf8')).toContain('"step":"fetch"');
  });
});
