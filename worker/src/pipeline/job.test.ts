/**
 * The job runner's states for what a local server cannot be made to do on demand: an endpoint that
 * stays down, and a notification whose dedup record was left half-way by a crash. Real files, a
 * real folder-backed object store; fakes only for the inference and notifier ports.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceRequest, InferenceResponse, JobSpec } from '@medimg/common';
import { processedKeys } from '@medimg/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { DEFAULT_DEID_OPTIONS } from '../deid/options.ts';
import { createLogger, silentLogger } from '../logger.ts';
import { type InferenceClient, InferenceError } from '../ports/inference.port.ts';
import type { Notifier, PublishInput } from '../ports/notifier.port.ts';
import { type JobDeps, runJob } from './job.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DX = path.join(REPO, 'sample-dicom/studies/dx-chest/1-chest-pa/001.dcm');

/** Scores every image 0.95: a critical finding at the 0.9 threshold. */
const scoringModel: InferenceClient = {
  invoke: async (request: InferenceRequest): Promise<InferenceResponse> => ({
    model: { name: 'fake', version: '1' },
    predictions: request.instances.map((i) => ({
      id: i.id,
      scores: { suspicious_lesion: 0.95 },
      findings: [{ label: 'suspicious_lesion', score: 0.95 }],
    })),
    timing: { inferenceMs: 1 },
  }),
};

class RecordingNotifier implements Notifier {
  readonly published: PublishInput[] = [];
  async publish(input: PublishInput): Promise<string> {
    this.published.push(input);
    return `msg-${this.published.length}`;
  }
}

describe('runJob', () => {
  let root: string;
  let store: FsObjectStore;
  let notifier: RecordingNotifier;
  const spec: JobSpec = {
    version: 1,
    jobId: 'job-0123456789abcdef01234567',
    createdAt: '2026-01-01T00:00:00Z',
    rawBucket: 'raw',
    batchId: 'b-test',
    source: 'manifest',
    objects: [{ key: 'incoming/b-test/chest.dcm', size: 1 }],
  };
  const deps = (over: Partial<JobDeps> = {}): JobDeps => ({
    store,
    processedBucket: 'processed',
    linkageBucket: 'linkage',
    deid: { key: new Uint8Array(32).fill(9), options: DEFAULT_DEID_OPTIONS },
    inference: scoringModel,
    notifier,
    findingsTopicArn: 'arn:aws:sns:us-east-1:000000000000:findings',
    thresholds: { suspicious_lesion: 0.9 },
    logger: silentLogger,
    clock: { now: () => new Date('2026-01-01T00:00:00Z') },
    ...over,
  });

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'medimg-job-'));
    await mkdir(path.join(root, 'raw/incoming/b-test'), { recursive: true });
    await copyFile(DX, path.join(root, 'raw/incoming/b-test/chest.dcm'));
    store = new FsObjectStore(root);
    notifier = new RecordingNotifier();
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps the files processed and ends failed with ENDPOINT_UNAVAILABLE when the endpoint stays down', async () => {
    const down: InferenceClient = {
      invoke: async () => Promise.reject(new InferenceError('ENDPOINT_UNAVAILABLE', 'endpoint unavailable')),
    };
    const { status, exitCode } = await runJob(spec, deps({ inference: down }));
    expect(exitCode).toBe(1);
    expect(status.state).toBe('failed');
    expect(status.counts).toMatchObject({ inputs: 1, processed: 1, failed: 0 });
    expect(status.inference).toMatchObject({ state: 'failed', errorCode: 'ENDPOINT_UNAVAILABLE' });
    expect(status.steps.notify.state).toBe('skipped');
    expect(notifier.published).toHaveLength(0);
    const stored = await store.list('processed', 'studies/');
    expect(stored.some((o) => o.key.endsWith('.dcm'))).toBe(true);
  });

  it('notifies once, and a second run of the same job skips the sent notification', async () => {
    const first = await runJob(spec, deps());
    const second = await runJob(spec, deps());
    expect(first.status.notifications).toMatchObject({ published: 1, duplicatesSkipped: 0 });
    expect(second.status.notifications).toMatchObject({ published: 0, duplicatesSkipped: 1 });
    expect(notifier.published).toHaveLength(1);
    expect(second.exitCode).toBe(0);
  });

  it('publishes again when a crash left the dedup record before its publish was confirmed', async () => {
    const first = await runJob(spec, deps());
    const file = first.status.files[0]!;
    const dedupKey = processedKeys.notification(file.study!, 'suspicious_lesion');
    await store.put(
      'processed',
      dedupKey,
      JSON.stringify({ state: 'publishing', jobId: spec.jobId, score: 0.95 }),
    );
    const rerun = await runJob(spec, deps());
    expect(rerun.status.notifications.published).toBe(1);
    expect(notifier.published).toHaveLength(2);
    expect(notifier.published[1]?.attributes?.dedupKey).toBe(notifier.published[0]?.attributes?.dedupKey);
    const record = JSON.parse(Buffer.from(await store.get('processed', dedupKey)).toString('utf8'));
    expect(record.state).toBe('sent');
  });

  it('writes the job record with every input in a final state and no raw key in it', async () => {
    await runJob(spec, deps());
    const record = Buffer.from(await store.get('processed', processedKeys.jobStatus(spec.jobId))).toString(
      'utf8',
    );
    expect(JSON.parse(record).files[0]).toMatchObject({ index: 0, status: 'processed' });
    expect(record).not.toContain('chest.dcm');
    expect(record).not.toContain('incoming/');
  });

  it('writes the linkage record once per study, not once per image', async () => {
    const mr = path.join(REPO, 'sample-dicom/studies/mr-head/3-t1-se-axial');
    const objects = ['001.dcm', '002.dcm', '003.dcm'].map((name) => ({
      key: `incoming/b-test/${name}`,
      size: 1,
    }));
    for (const name of ['001.dcm', '002.dcm', '003.dcm']) {
      await copyFile(path.join(mr, name), path.join(root, 'raw/incoming/b-test', name));
    }
    const linkagePuts: string[] = [];
    const counting = new FsObjectStore(root);
    const put = counting.put.bind(counting);
    counting.put = async (bucket, key, body, options) => {
      if (bucket === 'linkage') linkagePuts.push(key);
      return put(bucket, key, body, options);
    };
    const { status } = await runJob({ ...spec, objects }, deps({ store: counting }));
    expect(status.counts.processed).toBe(3);
    expect(linkagePuts).toHaveLength(1);
  });

  it('says "no subscribers" in the job record when nobody subscribes to the findings topic', async () => {
    const { status } = await runJob(spec, deps({ findingsHaveSubscribers: false, attempt: 2 }));
    expect(status.notifications).toEqual(
      expect.objectContaining({ published: 1, delivery: 'no-subscribers' }),
    );
    expect(status.attempt).toBe(2);
    const { status: usual } = await runJob(spec, deps());
    expect(usual.notifications.delivery).toBe('subscribers');
  });

  it('re-runs inference alone after an attempt that stored every file but could not infer', async () => {
    const down: InferenceClient = {
      invoke: async () => {
        throw new InferenceError('ENDPOINT_UNAVAILABLE', 'down');
      },
    };
    const first = await runJob(spec, deps({ inference: down }));
    expect(first.exitCode).toBe(1);
    expect(first.status.inference.state).toBe('failed');
    const reads: string[] = [];
    const watching = new FsObjectStore(root);
    const get = watching.get.bind(watching);
    watching.get = async (bucket, key) => {
      reads.push(`${bucket}/${key}`);
      return get(bucket, key);
    };
    const second = await runJob(spec, deps({ store: watching, attempt: 2 }));
    expect(second.exitCode).toBe(0);
    expect(second.status.resumedFrom).toEqual({ attempt: 1, mode: 'inference-only' });
    expect(second.status.findings.critical).toBe(1);
    // The raw input was not fetched again; the stored model input was.
    expect(reads.some((r) => r.startsWith('raw/'))).toBe(false);
    expect(reads.some((r) => r.includes('/model-input/'))).toBe(true);
  });

  it('logs the end of every job-level step, record included, and records its duration', async () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => void lines.push(line) });

    const { status } = await runJob(spec, deps({ logger }));

    const finished = lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'step finished');
    expect(finished.map((l) => l.step)).toEqual(
      expect.arrayContaining(['infer', 'assess', 'notify', 'record']),
    );
    expect(status.steps.record).toMatchObject({ state: 'succeeded', ok: 1, failed: 0 });
    expect(status.steps.notify.state).toBe('succeeded');
  });
});
