/**
 * The whole worker (parse, de-identify, normalize, series selection, inference through the real SageMaker
 * adapter and model server, assessment, results.json) on every file of the public corpus
 * (../shared/dicom-corpus: real images, normal anatomy, no known lesion), one job per file. Must show:
 * every in-scope file of the evaluation split yields no critical finding, and every out-of-scope file that
 * is processed is recorded as "not assessed (out of scope)" and never sent to the model. Prints a table.
 *
 * Which files are in scope is written down here by hand (IN_SCOPE, as models/MODEL_CARD.md lists them), not
 * taken from what the worker sent: a file the worker wrongly left out, or wrongly sent, fails a test.
 */

import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { processedKeys } from '@medimg/common';
import { CORPUS_DIR, CORPUS_PRESENT } from '@medimg/common/testing/corpus.ts';
import { ARTIFACTS_DIR, type ModelServer, startModelServer } from '@medimg/models';
import { FsObjectStore } from '@medimg/worker/adapters/fs-object-store.ts';
import { SageMakerInferenceClient } from '@medimg/worker/adapters/sagemaker-inference.ts';
import { DEFAULT_DEID_OPTIONS } from '@medimg/worker/deid/options.ts';
import { silentLogger } from '@medimg/worker/logger.ts';
import { runJob } from '@medimg/worker/pipeline/job.ts';
import type { PublishInput } from '@medimg/worker/ports/notifier.port.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The corpus setting every corpus test uses (MEDIMG_CORPUS, by default ../shared/dicom-corpus).
const CORPUS = CORPUS_DIR;
const split = JSON.parse(readFileSync(path.join(REPO, 'models/training/corpus-split.json'), 'utf8')) as {
  groups: { name: string; split: string; files: string[] }[];
};

/**
 * The corpus's in-scope files: the six encodings of the CTImage study (calibration split, a CT at shoulder level)
 * and CT1_UNC (evaluation split, patient 1CT1). Every other corpus file is outside the declared scope (head and
 * brain CT, crops, MR, ultrasound, radiographs without a chest body part, non-image objects).
 */
const IN_SCOPE = [/\/CTImage\.dcm_[^/]+$/, /\/CT1_UNC\.[^/]+$/];
const inScope = (file: string): boolean => IN_SCOPE.some((r) => r.test(file));

interface Row {
  readonly file: string;
  readonly split: string;
  readonly outcome: string;
  readonly assessment?: string;
  readonly reason?: string;
  readonly score?: number;
  readonly critical: number;
  readonly sentToModel: number;
  /** results.json: images in scope and out of distribution, the highest finding score, the critical threshold. */
  readonly images?: { inScope: number; outOfScope: number; outOfDistribution: number };
  readonly threshold?: number;
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
          images: s.images,
          threshold: results.thresholds?.suspicious_lesion,
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

describe.skipIf(!CORPUS_PRESENT)('the reference model on the public corpus, through the whole worker', () => {
  it('sends exactly the in-scope files to the model (7: six CTImage encodings and CT1_UNC), nothing else', () => {
    const sent = rows.filter((r) => r.sentToModel > 0).map((r) => r.file);
    const expected = rows.filter((r) => inScope(r.file)).map((r) => r.file);
    expect(expected).toHaveLength(7);
    expect([...sent].sort()).toEqual([...expected].sort());
  });

  it('assesses every in-scope file of the evaluation split and raises no critical finding on it', () => {
    const evaluation = rows.filter((r) => r.split === 'evaluation' && inScope(r.file));
    expect(evaluation.map((r) => path.basename(r.file))).toEqual([expect.stringMatching(/^CT1_UNC\./)]);
    for (const r of evaluation) {
      // Assessed, not declined as out of distribution: a refusal would pass "no critical finding" vacuously.
      expect(r, r.file).toMatchObject({ outcome: 'processed', assessment: 'assessed', critical: 0 });
      expect(r.images, r.file).toMatchObject({ outOfScope: 0, outOfDistribution: 0 });
      expect(r.images!.inScope, r.file).toBeGreaterThan(0);
      expect(r.threshold, r.file).toBeTypeOf('number');
      if (r.score !== undefined) expect(r.score, r.file).toBeLessThan(r.threshold!);
    }
  });

  it('raises no critical finding on any corpus file at all', () => {
    expect(rows.filter((r) => r.critical > 0).map((r) => r.file)).toEqual([]);
  });

  it('records every out-of-scope file that is processed as not assessed (out of scope), never sent to the model', () => {
    const outside = rows.filter((r) => !inScope(r.file));
    expect(outside.length).toBe(rows.length - 7);
    const processed = outside.filter((r) => r.outcome === 'processed');
    expect(processed.length).toBeGreaterThan(10);
    for (const r of processed) {
      expect(r, r.file).toMatchObject({
        assessment: 'not_assessed',
        reason: 'OUT_OF_SCOPE',
        critical: 0,
        sentToModel: 0,
      });
    }
    // The rest never reach series selection: the worker quarantines them with a reason code (no pixel data,
    // burned-in text, undecodable); none is sent to the model either.
    for (const r of outside.filter((o) => o.outcome !== 'processed')) {
      expect(r.sentToModel, r.file).toBe(0);
      expect(r.reason, r.file).toMatch(/^[A-Z_]+$/);
    }
  });
});
