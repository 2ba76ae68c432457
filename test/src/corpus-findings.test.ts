/**
 * The whole worker (parse, de-identify, normalize, series selection, inference through the real SageMaker
 * adapter and model server, assessment, results.json) on every file of the public corpus
 * (../shared/dicom-corpus: real images, normal anatomy, no known lesion), one job per file. Must show:
 * every in-scope file of the evaluation split yields no critical finding, and every out-of-scope file that
 * is processed is recorded as "not assessed (out of scope)" and never sent to the model. Prints a table.
 */

import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { processedKeys } from '@medimg/common';
import { ARTIFACTS_DIR, type ModelServer, startModelServer } from '@medimg/models';
import { FsObjectStore } from '@medimg/worker/adapters/fs-object-store.ts';
import { SageMakerInferenceClient } from '@medimg/worker/adapters/sagemaker-inference.ts';
import { DEFAULT_DEID_OPTIONS } from '@medimg/worker/deid/options.ts';
import { silentLogger } from '@medimg/worker/logger.ts';
import { runJob } from '@medimg/worker/pipeline/job.ts';
import type { PublishInput } from '@medimg/worker/ports/notifier.port.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = path.resolve(REPO, '../shared/dicom-corpus');
const split = JSON.parse(readFileSync(path.join(REPO, 'models/training/corpus-split.json'), 'utf8')) as {
  groups: { name: string; split: string; files: string[] }[];
};

interface Row {
  readonly file: string;
  readonly split: string;
  readonly outcome: string;
  readonly assessment?: string;
  readonly reason?: string;
  readonly score?: number;
  readonly critical: number;
  readonly sentToModel: number;
}

let server: ModelServer;
let root: string;
const rows: Row[] = [];

beforeAll(async () => {
  expect(existsSync(path.join(CORPUS, 'manifest.tsv')), `the corpus folder ${CORPUS} is missing`).toBe(true);
  server = await startModelServer({ port: 0, host: '127.0.0.1', modelDir: ARTIFACTS_DIR, log: () => {} });
  await server.ready;
  root = await mkdtemp(path.join(os.tmpdir(), 'medimg-corpus-'));
  const adapter = new SageMakerInferenceClient({
    endpointName: 'reference',
    client: new SageMakerRuntimeClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    }),
  });
  let sent = 0;
  const counting = {
    describe: adapter.describe.bind(adapter),
    invoke: (r: Parameters<typeof adapter.invoke>[0]) => {
      sent += r.instances.length;
      return adapter.invoke(r);
    },
  };
  for (const [n, group] of split.groups.entries()) {
    for (const [m, file] of group.files.entries()) {
      const dir = path.join(root, `${n}-${m}`);
      await mkdir(path.join(dir, 'raw/in'), { recursive: true });
      await copyFile(path.join(CORPUS, file), path.join(dir, 'raw/in/f.dcm'));
      const store = new FsObjectStore(dir);
      const published: PublishInput[] = [];
      sent = 0;
      const { status } = await runJob(
        {
          version: 1,
          jobId: `job-corpus-${n}-${m}`,
          createdAt: '2026-01-01T00:00:00Z',
          rawBucket: 'raw',
          source: 'manifest',
          objects: [{ key: 'in/f.dcm', size: 1 }],
        },
        {
          store,
          processedBucket: 'processed',
          linkageBucket: 'linkage',
          deid: { key: new Uint8Array(32).fill(5), options: DEFAULT_DEID_OPTIONS },
          inference: counting,
          notifier: {
            publish: async (p) => {
              published.push(p);
              return 'm';
            },
          },
          findingsTopicArn: 'arn:aws:sns:us-east-1:000000000000:findings',
          logger: silentLogger,
          clock: { now: () => new Date('2026-01-01T00:00:00Z') },
        },
      );
      const f = status.files[0]!;
      const row: Row = {
        file,
        split: group.split,
        outcome: f.status,
        critical: published.length,
        sentToModel: sent,
      };
      if (f.status === 'processed') {
        const results = JSON.parse(
          Buffer.from(await store.get('processed', processedKeys.results(f.study!))).toString('utf8'),
        );
        const s = results.series[0];
        rows.push({
          ...row,
          assessment: s.assessment,
          reason: s.notAssessed?.reason,
          score: s.findings[0]?.score,
          critical: results.critical.length + published.length,
        });
      } else rows.push({ ...row, reason: f.reason ?? f.errorCode });
    }
  }
  console.log(
    rows
      .map(
        (r) =>
          `${r.split.padEnd(11)} ${r.outcome.padEnd(11)} ${(r.assessment ?? '-').padEnd(12)} ${(r.reason ?? '').padEnd(26)} ${r.score?.toFixed(3) ?? '  -  '} ${r.file}`,
      )
      .join('\n'),
  );
}, 600_000);

afterAll(async () => {
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the reference model on the public corpus, through the whole worker', () => {
  it('raises no critical finding on any in-scope file of the evaluation split', () => {
    const evaluation = rows.filter((r) => r.split === 'evaluation' && r.sentToModel > 0);
    expect(evaluation.length).toBeGreaterThan(0);
    for (const r of evaluation) expect(r.critical, r.file).toBe(0);
  });

  it('raises no critical finding on any corpus file at all', () => {
    expect(rows.filter((r) => r.critical > 0).map((r) => r.file)).toEqual([]);
  });

  it('records every processed out-of-scope file as not assessed (out of scope), never sent to the model', () => {
    const outside = rows.filter((r) => r.outcome === 'processed' && r.sentToModel === 0);
    expect(outside.length).toBeGreaterThan(10);
    for (const r of outside) {
      expect(r, r.file).toMatchObject({ assessment: 'not_assessed', reason: 'OUT_OF_SCOPE', critical: 0 });
    }
  });

  it('assesses (or declines as out of distribution) only the CT chest files the scope admits', () => {
    const assessed = rows.filter((r) => r.sentToModel > 0).map((r) => path.basename(r.file));
    expect(assessed.length).toBeGreaterThan(0);
    for (const name of assessed) expect(name).toMatch(/^(CTImage|CT1_UNC)/);
  });
});
