/**
 * The worker killed at every step: one upload batch per step (a few CT slices through the nodule,
 * so each batch has one critical finding to notify), each job's first task killed (exit 137, as a
 * task stopped by ECS) right after its step, and the dispatcher re-running it as in AWS. Returns
 * what each job left, and the whole run's account.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WORKER_ENV } from '@medimg/common';
import { ctLesionSlices } from '@medimg/sample-dicom';
import type { StepName } from '@medimg/worker/pipeline/status.ts';
import { listFiles } from '../local/uploader.ts';
import { makeBatches } from './batches.ts';
import { type Account, account, CT_STUDY, type FaultStack, startFaultStack } from './scenarios.ts';

export interface KilledJob {
  readonly step: StepName;
  readonly jobId: string;
  /** Exit codes of the job's tasks, in order. */
  readonly exitCodes: (number | undefined)[];
  /** Findings emails that name the job. */
  readonly mails: number;
  /** From the final job record: notifications this run published, and those it found sent already. */
  readonly published: number;
  readonly duplicatesSkipped: number;
  readonly state: string;
  readonly processed: number;
  readonly files: number;
}

export interface KillRun {
  readonly jobs: KilledJob[];
  readonly account: Account;
  readonly filesPerBatch: number;
}

/** Runs one killed job per step through the local stack (dispatcher on) and accounts for it. */
export async function killAtEveryStep(
  steps: readonly StepName[],
  options: { readonly files?: number; readonly maxTasks?: number } = {},
): Promise<KillRun> {
  const filesPerBatch = options.files ?? 4;
  const work = await mkdtemp(path.join(os.tmpdir(), 'medimg-kill-'));
  let stack: FaultStack | undefined;
  try {
    // Slices through the nodule's core first: every batch gets the finding, whatever its size.
    const all = (await listFiles(CT_STUDY)).sort();
    const core = ctLesionSlices().core[0]! - 1;
    const sources = [...all.slice(core), ...all.slice(0, core)];
    const roots = await makeBatches(work, {
      batches: steps.length,
      files: filesPerBatch,
      size: 0,
      sources,
      rotate: 0,
    });
    stack = await startFaultStack({
      dispatch: {
        maxAttempts: 2,
        maxRunningTasks: options.maxTasks ?? 3,
        retryBaseDelaySeconds: 0,
        taskTimeLimitSeconds: 600,
      },
    });
    const { pipeline } = stack;
    const stepOf = new Map<string, StepName>();
    const findings = () => pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn);
    const studyMails = (jobId: string) => findings().filter((m) => mailJob(m.body) === jobId).length;
    // Each job's first task is killed after the next step in the list (jobs take steps in start order).
    pipeline.runner.environmentFor = (jobId, attempt): Record<string, string> => {
      if (attempt > 1) return {};
      const step = steps[stepOf.size];
      if (!step) return {};
      stepOf.set(jobId, step);
      return { [WORKER_ENV.MEDIMG_FAULT_EXIT_AFTER_STEP]: step };
    };
    for (const root of roots) await pipeline.upload(root);
    await pipeline.settle(600_000);
    const jobs: KilledJob[] = [];
    for (const [jobId, step] of stepOf) {
      const record = await pipeline.jobStatus(jobId);
      jobs.push({
        step,
        jobId,
        exitCodes: pipeline.runner.tasks.filter((t) => t.jobId === jobId).map((t) => t.exitCode),
        mails: studyMails(jobId),
        published: record.notifications.published,
        duplicatesSkipped: record.notifications.duplicatesSkipped,
        state: record.state,
        processed: record.counts.processed,
        files: record.files.length,
      });
    }
    return { jobs, account: await account(stack), filesPerBatch };
  } finally {
    await stack?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** The job id a findings email names ("Pipeline job:   job-..."; the attributes do not carry it). */
function mailJob(body: string): string | undefined {
  return /Pipeline job:\s+(job-[0-9a-f]{24})/.exec(body)?.[1];
}
