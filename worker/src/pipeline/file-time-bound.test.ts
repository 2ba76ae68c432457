/**
 * The per-file time bound over the de-identify step's decodes (decision 019, issues 12 and 19): a
 * codec that never returns during the burned-in text scan, or while blanked compressed pixel data is
 * re-encoded, quarantines its file PROCESSING_TIMEOUT at the deidentify step; the stuck thread is
 * replaced and the next file of the same job is processed; the worker's event loop keeps running
 * meanwhile (a timer keeps firing while the codec is stuck). A real job (runJob, a folder-backed
 * store, the real OCR engine) with the real pool thread, whose RLE codec is made to hang in one kind
 * of request (imaging/testing/stuck-codec.mjs).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import type { JobSpec } from '@medimg/common';
import { writePart10 } from '@medimg/dicom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { TesseractReader } from '../deid/ocr.ts';
import { parseDeidOptions } from '../deid/options.ts';
import { type TextImageCase, textImageSet } from '../deid/testing/text-images.ts';
import { silentLogger } from '../logger.ts';
import type { Notifier } from '../ports/notifier.port.ts';
import { runJob } from './job.ts';
import type { FileResult } from './process-file.ts';

const STUCK_CHANNEL = 'medimg-stuck-codec';
const reader = new TesseractReader(['eng']);
const notifier: Notifier = { publish: async () => 'unused' };

let root: string;
let cases: TextImageCase[];
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'medimg-bound-'));
  cases = await textImageSet({ textPerKind: 1, cleanPerKind: 0, kinds: ['us-rle', 'us'], seed: 34 });
}, 60_000);
afterAll(async () => {
  await reader.close();
  await rm(root, { recursive: true, force: true });
});

/**
 * Runs one job of two files under the redact policy: the RLE image with text (its codec stuck in
 * `stage`), then a native image with text. Returns each file's result and how many times a 20 ms
 * timer fired between the codec getting stuck and the stuck file's result.
 */
async function runStuck(stage: 'scan' | 'blank') {
  const [rle, native] = [cases.find((c) => c.kind === 'us-rle')!, cases.find((c) => c.kind === 'us')!];
  const dir = path.join(root, stage);
  const objects: { key: string; size: number }[] = [];
  for (const [i, c] of [rle, native].entries()) {
    const bytes = writePart10(c.file);
    const key = `incoming/b-${stage}/${i}.dcm`;
    await mkdir(path.dirname(path.join(dir, 'raw', key)), { recursive: true });
    await writeFile(path.join(dir, 'raw', key), bytes);
    objects.push({ key, size: bytes.length });
  }
  const spec: JobSpec = {
    version: 1,
    jobId: `job-${stage}-0123456789abcdef0123`,
    createdAt: '2026-01-01T00:00:00Z',
    rawBucket: 'raw',
    batchId: `b-${stage}`,
    source: 'manifest',
    objects,
  };
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
  }, 20);
  let ticksWhenStuck: number | undefined;
  let ticksWhileStuck: number | undefined;
  const stuck = new BroadcastChannel(STUCK_CHANNEL);
  stuck.onmessage = (event) => {
    if ((event as MessageEvent).data === stage) ticksWhenStuck ??= ticks;
  };
  const results: FileResult[] = [];
  try {
    const { status } = await runJob(spec, {
      store: new FsObjectStore(dir),
      processedBucket: 'processed',
      linkageBucket: 'linkage',
      deid: {
        key: new Uint8Array(32).fill(5),
        options: parseDeidOptions({ burnedInPolicy: 'redact' }),
        reader,
      },
      notifier,
      findingsTopicArn: 'arn:aws:sns:us-east-1:000000000000:findings',
      logger: silentLogger,
      clock: { now: () => new Date('2026-01-01T00:00:00Z') },
      // One file at a time and one thread: the next file runs on the thread that replaced the stuck one.
      limits: {
        maxConcurrent: 1,
        fileTimeoutMs: 15_000,
        threadUrl: new URL(`../imaging/testing/stuck-${stage}-thread.mjs`, import.meta.url),
      },
      onFile: (index, result) => {
        results[index] = result;
        if (index === 0 && ticksWhenStuck !== undefined) ticksWhileStuck = ticks - ticksWhenStuck;
      },
    });
    return { results, status, ticksWhileStuck };
  } finally {
    clearInterval(timer);
    stuck.close();
  }
}

describe('a codec stuck in the de-identify step', () => {
  it.each<['scan' | 'blank', string]>([
    ['scan', 'during the burned-in text scan'],
    ['blank', 'while re-encoding blanked compressed pixel data'],
  ])(
    '%s (%s): the file is quarantined PROCESSING_TIMEOUT, the next one processed',
    async (where) => {
      const { results, status, ticksWhileStuck } = await runStuck(where);

      expect(results[0]).toEqual({ status: 'quarantined', reason: 'PROCESSING_TIMEOUT', step: 'deidentify' });
      expect(results[1]).toMatchObject({
        status: 'processed',
        instance: { textCheck: { action: 'redacted' } },
      });
      expect(status.counts).toMatchObject({ processed: 1, quarantined: 1 });
      expect(ticksWhileStuck).toBeGreaterThan(0);
    },
    120_000,
  );
});
