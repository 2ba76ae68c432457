/**
 * `npm run soak [-- --batches N --files N --size PX --max-tasks N --seed N --time-limit SECONDS
 *   --kill-rate R --fault-rate R]`
 *
 * Many upload batches at once through the local stack (upload API, trigger, dispatcher with its
 * task cap and retries, worker tasks, s3rver, fauxqs, the model server) with faults injected at
 * random in front of S3, SNS and the model: 503 SlowDown, 500, slow answers, throttling, resets
 * and silent endpoints (the clients' time bounds end those calls), and some tasks killed after a
 * random step. Jobs that did not end well after the dispatcher's retries are re-run until they do
 * or three rounds pass. Reports files in, processed, quarantined, failed, duplicates,
 * notifications, the latency from upload to result, the wall time and the load average; exits 1 on
 * a lost, failed or duplicated input or a notification sent twice.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type JobSpec, rawKeys, WORKER_ENV } from '@medimg/common';
import { resumeUpload, type UploadOutcome, uploadFiles } from '@medimg/upload-api';
import { STEP_NAMES } from '@medimg/worker/pipeline/status.ts';
import { random } from '../fuzz/mutate.ts';
import { listFiles } from '../local/uploader.ts';
import { makeBatches, SAMPLE_STUDIES } from './batches.ts';
import {
  account,
  type FaultRule,
  type FaultStack,
  is,
  rerunUnfinished,
  startFaultStack,
} from './scenarios.ts';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '50' },
    files: { type: 'string', default: '100' },
    /** Images are subsampled to at most this many pixels a side (0: as the samples are). */
    size: { type: 'string', default: '128' },
    seed: { type: 'string', default: '19' },
    'time-limit': { type: 'string', default: '3600' },
    'kill-rate': { type: 'string', default: '0.1' },
    /** Every n-th batch has images of at most 256 px (the CT as generated, with its nodule): model and SNS work. */
    'full-every': { type: 'string', default: '10' },
    /** The chance that a request meets a fault, per kind of fault (five times this for the model and SNS, which see few requests). */
    'fault-rate': { type: 'string', default: '0.03' },
    /** Worker tasks at once (the dispatcher's cap). */
    'max-tasks': { type: 'string', default: '3' },
    /** Batches uploaded at once. */
    concurrency: { type: 'string', default: '8' },
  },
});
const batches = Number(values.batches);
const filesPerBatch = Number(values.files);
const size = Number(values.size);
const killRate = Number(values['kill-rate']);
const faultRate = Number(values['fault-rate']);
const r = random(Number(values.seed));
const started = Date.now();
const deadline = started + Number(values['time-limit']) * 1000;

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;

const dice = (): boolean => r.next() < faultRate;
const oftenDice = (): boolean => r.next() < faultRate * 5;

/** Random faults in front of S3, SNS and the model, each kind on about `fault-rate` of the requests. */
function faultRules(): { s3: FaultRule[]; aws: FaultRule[]; model: FaultRule[] } {
  const status = (status: number, code: string, protocol?: 'query') =>
    ({ kind: 'status', status, code, ...(protocol ? { protocol } : {}) }) as const;
  return {
    s3: [
      { name: 's3 503 SlowDown', match: is.any, when: dice, fault: status(503, 'SlowDown') },
      { name: 's3 500', match: is.s3Put, when: dice, fault: status(500, 'InternalError') },
      { name: 's3 slow', match: is.s3Get, when: dice, fault: { kind: 'delay', ms: 1500 } },
      { name: 's3 reset', match: is.any, when: dice, fault: { kind: 'reset' } },
      { name: 's3 silent', match: is.any, when: () => r.next() < faultRate / 10, fault: { kind: 'silent' } },
    ],
    aws: [
      {
        name: 'sns throttled',
        match: is.snsPublish,
        when: oftenDice,
        fault: status(400, 'Throttling', 'query'),
      },
      { name: 'sns silent', match: is.snsPublish, when: oftenDice, fault: { kind: 'silent' } },
    ],
    model: [
      { name: 'model slow', match: is.invoke, when: oftenDice, fault: { kind: 'delay', ms: 1500 } },
      { name: 'model down', match: is.invoke, when: oftenDice, fault: { kind: 'reset' } },
      { name: 'model silent', match: is.invoke, when: oftenDice, fault: { kind: 'silent' } },
    ],
  };
}

/**
 * One batch through the upload API as `medimg upload` sends it; when a call fails (s3rver answers
 * an InternalError now and then under this load), the upload is resumed from its state file, as
 * `medimg upload --resume` would, so the batch is never announced twice.
 */
async function uploadBatch(
  stack: FaultStack,
  root: string,
  resumes: { count: number },
): Promise<UploadOutcome> {
  const { pipeline } = stack;
  const paths = (await listFiles(root)).sort();
  const files = await Promise.all(
    paths.map(async (p) => ({ path: p, name: path.relative(root, p), size: (await stat(p)).size })),
  );
  const options = { client: pipeline.uploadClient, stateDir: pipeline.dirs.uploads, concurrency: 8 };
  let batchId: string | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return batchId === undefined
        ? await uploadFiles(files, {
            ...options,
            onBatchCreated: (id) => {
              batchId = id;
            },
          })
        : await resumeUpload(batchId, options);
    } catch (error) {
      if (attempt >= 5) throw error;
      resumes.count += 1;
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/** What the soak was doing, for the message when it stops on an error. */
let phase = 'setup';

async function main(): Promise<number> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'medimg-soak-'));
  const sources = (await listFiles(SAMPLE_STUDIES)).sort();
  const fullEvery = Number(values['full-every']);
  const roots = await makeBatches(work, {
    batches,
    files: filesPerBatch,
    size,
    sources,
    ...(fullEvery > 0 ? { every: { n: fullEvery, size: 256 } } : {}),
  });
  const stack = await startFaultStack({
    // A task of the soak may hold a whole batch under load: bounded by the soak's own time limit.
    taskTimeoutMs: Math.max(240_000, deadline - Date.now()),
    visibilityTimeoutSeconds: 5,
    // Shorter time bounds than production's (10 s idle, 30 s per inference), so that silent calls
    // cost seconds, not minutes; the files per task are fewer than a real batch's too.
    workerEnvironment: {
      [WORKER_ENV.AWS_IDLE_TIMEOUT_MS]: '2000',
      [WORKER_ENV.INFERENCE_TIMEOUT_MS]: '5000',
      [WORKER_ENV.MAX_CONCURRENT_FILES]: '2',
    },
    dispatch: {
      maxAttempts: 3,
      maxRunningTasks: Number(values['max-tasks']),
      retryBaseDelaySeconds: 1,
      taskTimeLimitSeconds: 1800,
    },
  });
  const { pipeline } = stack;
  const kills: Record<string, number> = {};
  const load: number[] = [];
  const sampler = setInterval(() => load.push(os.loadavg()[0]!), 10_000);
  try {
    const rules = faultRules();
    stack.s3.rules = rules.s3;
    stack.aws.rules = rules.aws;
    stack.model.rules = rules.model;
    // Some first attempts are killed after a random step (as a task stopped by ECS would be).
    pipeline.runner.environmentFor = (_jobId, attempt): Record<string, string> => {
      if (attempt > 1 || r.next() >= killRate) return {};
      const step = r.pick(STEP_NAMES);
      kills[step] = (kills[step] ?? 0) + 1;
      return { [WORKER_ENV.MEDIMG_FAULT_EXIT_AFTER_STEP]: step };
    };
    const uploadedAt = new Map<string, number>();
    const uploadResumes = { count: 0 };
    let next = 0;
    phase = 'upload';
    await Promise.all(
      Array.from({ length: Number(values.concurrency) }, async () => {
        while (next < roots.length && Date.now() < deadline) {
          const root = roots[next++]!;
          const result = await uploadBatch(stack, root, uploadResumes);
          uploadedAt.set(result.batchId, Date.now());
        }
      }),
    );
    phase = 'settle';
    await pipeline.settle(Math.max(60_000, deadline - Date.now()));
    const faultsDuringRun = {
      ...stack.s3.counts.faults,
      ...stack.aws.counts.faults,
      ...stack.model.counts.faults,
    };
    // The faults clear; whatever did not end well after the dispatcher's retries is re-run.
    stack.s3.rules = [];
    stack.aws.rules = [];
    stack.model.rules = [];
    phase = 're-run';
    let rounds = 0;
    while (rounds < 3 && (await rerunUnfinished(stack)) > 0) rounds += 1;
    phase = 'account';
    const result = await account(stack);
    const latencies: number[] = [];
    const lastTask = new Map(pipeline.runner.tasks.map((t) => [t.jobId, t]));
    for (const t of lastTask.values()) {
      const spec = await pipeline.getJson<JobSpec>(
        pipeline.servers.names.rawBucket,
        rawKeys.jobSpec(t.jobId),
      );
      const record = await pipeline.jobStatus(t.jobId);
      const up = spec.batchId ? uploadedAt.get(spec.batchId) : undefined;
      if (up !== undefined)
        for (let i = 0; i < spec.objects.length; i++) latencies.push(Date.parse(record.updatedAt) - up);
    }
    latencies.sort((a, b) => a - b);
    const filesIn = uploadedAt.size * filesPerBatch;
    const attempts = new Map<string, number>();
    for (const t of pipeline.runner.tasks) attempts.set(t.jobId, (attempts.get(t.jobId) ?? 0) + 1);
    const sortedLoad = [...load].sort((a, b) => a - b);
    const report = {
      batches: uploadedAt.size,
      filesIn,
      imageSize: size || 'as sampled',
      batchesAt256px: fullEvery > 0 ? Math.ceil(uploadedAt.size / fullEvery) : 0,
      maxTasks: Number(values['max-tasks']),
      ...result,
      lost: filesIn - result.processed - result.quarantined,
      uploadResumes: uploadResumes.count,
      jobsRetried: [...attempts.values()].filter((n) => n > 1).length,
      rerunRounds: rounds,
      kills,
      faults: faultsDuringRun,
      latencySeconds: {
        p50: quantile(latencies, 0.5) / 1000,
        p90: quantile(latencies, 0.9) / 1000,
        p99: quantile(latencies, 0.99) / 1000,
        max: (latencies[latencies.length - 1] ?? 0) / 1000,
      },
      wallSeconds: (Date.now() - started) / 1000,
      loadAverage1m: {
        median: quantile(sortedLoad, 0.5),
        max: sortedLoad[sortedLoad.length - 1] ?? 0,
        cpus: os.cpus().length,
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const ok =
      report.lost === 0 &&
      result.failed === 0 &&
      result.duplicateInstances === 0 &&
      result.missingInstances === 0 &&
      result.duplicateMails === 0 &&
      result.inputs === filesIn;
    process.stdout.write(ok ? 'soak: nothing lost, nothing duplicated\n' : 'soak: FAILED\n');
    return ok ? 0 : 1;
  } finally {
    clearInterval(sampler);
    await stack.stop();
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main().catch((error: unknown) => {
  process.stderr.write(`soak: stopped in phase "${phase}": ${String(error)}\n`);
  return 2;
});
