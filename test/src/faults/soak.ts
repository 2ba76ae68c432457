/**
 * `npm run soak [-- --batches N --files N --seed N --time-limit SECONDS --kill-rate R]`
 *
 * Many upload batches at once through the local stack (trigger, worker tasks, s3rver, fauxqs, the
 * model server) with faults injected at random in front of S3, SNS and the model, and some tasks
 * killed after a random step. Jobs that did not end well are re-run (as the retry path would) until
 * they do or three rounds pass. Reports files in, processed, quarantined, failed, duplicates,
 * notifications and the latency from upload to result; exits 1 on a lost or duplicated input or a
 * notification sent twice.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type JobSpec, rawKeys } from '@medimg/common';
import { parseDicom, stringElement, T, writePart10 } from '@medimg/dicom';
import { STEP_NAMES } from '@medimg/worker/pipeline/status.ts';
import { random } from '../fuzz/mutate.ts';
import { REPO_ROOT } from '../local/task-runner.ts';
import { listFiles } from '../local/uploader.ts';
import { account, is, rerunUnfinished, startFaultStack } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '50' },
    files: { type: 'string', default: '100' },
    seed: { type: 'string', default: '19' },
    'time-limit': { type: 'string', default: '3600' },
    'kill-rate': { type: 'string', default: '0.1' },
    concurrency: { type: 'string', default: '8' },
  },
});
const batches = Number(values.batches);
const filesPerBatch = Number(values.files);
const killRate = Number(values['kill-rate']);
const r = random(Number(values.seed));
const started = Date.now();
const deadline = started + Number(values['time-limit']) * 1000;

/** Batch folders: sample files with UIDs made unique per batch, so every input is one instance. */
async function makeBatches(dir: string): Promise<string[]> {
  const sources = (await listFiles(path.join(REPO_ROOT, 'sample-dicom/studies'))).sort();
  const roots: string[] = [];
  for (let b = 0; b < batches; b++) {
    const root = path.join(dir, `batch-${b}`);
    for (let i = 0; i < filesPerBatch; i++) {
      const source = sources[(b * 7 + i) % sources.length]!;
      const file = parseDicom(new Uint8Array(await readFile(source)));
      const ds = new Map(file.dataset);
      for (const t of [T.StudyInstanceUID, T.SeriesInstanceUID, T.SOPInstanceUID]) {
        const uid = Buffer.from(ds.get(t)!.value)
          .toString('latin1')
          .replace(/[\0 ]+$/, '');
        const suffix = t === T.SOPInstanceUID ? `.${b}.${i}` : `.${b}`;
        ds.set(t, stringElement(t, 'UI', `${uid.slice(0, 64 - suffix.length)}${suffix}`));
      }
      const out = path.join(root, `${String(i).padStart(4, '0')}.dcm`);
      await mkdir(path.dirname(out), { recursive: true });
      await writeFile(out, writePart10({ ...file, dataset: ds, meta: new Map() }));
    }
    roots.push(root);
  }
  return roots;
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;

async function main(): Promise<number> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'medimg-soak-'));
  const roots = await makeBatches(work);
  const stack = await startFaultStack({ visibilityTimeoutSeconds: 5 });
  const { pipeline } = stack;
  const kills: Record<string, number> = {};
  try {
    stack.s3.rules = [
      {
        name: 's3 503 SlowDown',
        match: is.any,
        every: 9,
        fault: { kind: 'status', status: 503, code: 'SlowDown' },
      },
      {
        name: 's3 500',
        match: is.s3Put,
        every: 13,
        fault: { kind: 'status', status: 500, code: 'InternalError' },
      },
      { name: 's3 slow', match: is.s3Get, every: 17, fault: { kind: 'delay', ms: 1500 } },
    ];
    stack.aws.rules = [
      {
        name: 'sns throttled',
        match: is.snsPublish,
        every: 3,
        fault: { kind: 'status', status: 400, code: 'Throttling', protocol: 'query' },
      },
    ];
    stack.model.rules = [
      { name: 'model slow', match: is.invoke, every: 4, fault: { kind: 'delay', ms: 1500 } },
      { name: 'model down', match: is.invoke, every: 11, fault: { kind: 'reset' } },
    ];
    // Some first attempts are killed after a random step (as a task stopped by ECS would be).
    pipeline.runner.environmentFor = (_jobId, attempt): Record<string, string> => {
      if (attempt > 1 || r.next() >= killRate) return {};
      const step = r.pick(STEP_NAMES);
      kills[step] = (kills[step] ?? 0) + 1;
      return { MEDIMG_FAULT_EXIT_AFTER_STEP: step };
    };
    const uploadedAt = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: Number(values.concurrency) }, async () => {
        while (next < roots.length && Date.now() < deadline) {
          const root = roots[next++]!;
          const result = await pipeline.upload(root);
          uploadedAt.set(result.batchId, Date.now());
        }
      }),
    );
    await pipeline.settle(Math.max(60_000, deadline - Date.now()));
    let rounds = 0;
    while (rounds < 3 && (await rerunUnfinished(stack)) > 0) rounds += 1;
    const result = await account(stack);
    const latencies: number[] = [];
    for (const t of pipeline.runner.tasks) {
      if (t.exitCode !== 0) continue;
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
    const report = {
      batches: uploadedAt.size,
      filesIn,
      ...result,
      lost: filesIn - result.processed - result.quarantined,
      rerunRounds: rounds,
      kills,
      faults: { ...stack.s3.counts.faults, ...stack.aws.counts.faults, ...stack.model.counts.faults },
      latencySeconds: {
        p50: quantile(latencies, 0.5) / 1000,
        p90: quantile(latencies, 0.9) / 1000,
        p99: quantile(latencies, 0.99) / 1000,
        max: (latencies[latencies.length - 1] ?? 0) / 1000,
      },
      wallSeconds: (Date.now() - started) / 1000,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const ok =
      report.lost === 0 &&
      result.failed === 0 &&
      result.duplicateInstances === 0 &&
      result.inputs === filesIn &&
      result.findingsMails === result.published;
    process.stdout.write(ok ? 'soak: nothing lost, nothing duplicated\n' : 'soak: FAILED\n');
    return ok ? 0 : 1;
  } finally {
    await stack.stop();
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
