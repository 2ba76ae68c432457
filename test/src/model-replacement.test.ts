/**
 * The model-replacement contract (models/REPLACING.md), proved with a second model: a tiny ONNX graph
 * (models/test-fixtures/site-model, written by models/training/site_model.py) with its own label
 * (`bright_spot`), its own scope (CT of the chest only), its own thresholds and no out-of-distribution
 * check, served by the same container code and called by the same worker through the real SageMaker adapter.
 * Nothing in the worker names the reference model: what it selects, scores and alerts on follows the metadata
 * the container serves.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type JobSpec, processedKeys } from '@medimg/common';
import { type ModelServer, startModelServer } from '@medimg/models';
import { FsObjectStore } from '@medimg/worker/adapters/fs-object-store.ts';
import { SageMakerInferenceClient } from '@medimg/worker/adapters/sagemaker-inference.ts';
import { DEFAULT_DEID_OPTIONS } from '@medimg/worker/deid/options.ts';
import { silentLogger } from '@medimg/worker/logger.ts';
import { runJob } from '@medimg/worker/pipeline/job.ts';
import type { Notifier, PublishInput } from '@medimg/worker/ports/notifier.port.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SITE_MODEL = path.join(REPO, 'models/test-fixtures/site-model');
const CT = path.join(REPO, 'sample-dicom/studies/ct-chest/1-axial-chest');
const DX = path.join(REPO, 'sample-dicom/studies/dx-chest/1-chest-pa/001.dcm');

let server: ModelServer;
let root: string;

beforeAll(async () => {
  server = await startModelServer({ port: 0, host: '127.0.0.1', modelDir: SITE_MODEL, log: () => {} });
  await server.ready;
  root = await mkdtemp(path.join(os.tmpdir(), 'medimg-swap-'));
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('replacing the reference model with a site model behind the same container interface', () => {
  it('selects, scores and alerts by the metadata the new model serves: its scope, label and threshold', async () => {
    await mkdir(path.join(root, 'raw/in'), { recursive: true });
    const slices = (await readdir(CT)).filter((f) => f.endsWith('.dcm')).slice(20, 26);
    for (const name of slices) await copyFile(path.join(CT, name), path.join(root, 'raw/in', `ct-${name}`));
    await copyFile(DX, path.join(root, 'raw/in/dx.dcm'));
    const objects = [...slices.map((n) => `in/ct-${n}`), 'in/dx.dcm'].map((key) => ({ key, size: 1 }));
    const spec: JobSpec = {
      version: 1,
      jobId: 'job-swap0123456789abcdef0123',
      createdAt: '2026-01-01T00:00:00Z',
      rawBucket: 'raw',
      source: 'manifest',
      objects,
    };
    const published: PublishInput[] = [];
    const notifier: Notifier = {
      publish: async (m) => {
        published.push(m);
        return `m-${published.length}`;
      },
    };
    const sdk = new SageMakerRuntimeClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const store = new FsObjectStore(root);
    const { status } = await runJob(spec, {
      store,
      processedBucket: 'processed',
      linkageBucket: 'linkage',
      deid: { key: new Uint8Array(32).fill(3), options: DEFAULT_DEID_OPTIONS },
      inference: new SageMakerInferenceClient({ endpointName: 'site', client: sdk }),
      notifier,
      findingsTopicArn: 'arn:aws:sns:us-east-1:000000000000:findings',
      logger: silentLogger,
      clock: { now: () => new Date('2026-01-01T00:00:00Z') },
    });

    expect(status.inference).toMatchObject({
      state: 'succeeded',
      model: { name: 'site-bright-spot', version: '0.1.0' },
    });
    expect(status.findings.notAssessed).toEqual({ outOfScope: 1, outOfDistribution: 0 });
    const studies = [...new Set(status.files.map((f) => f.study!))];
    const results = await Promise.all(
      studies.map(async (s) =>
        JSON.parse(Buffer.from(await store.get('processed', processedKeys.results(s))).toString('utf8')),
      ),
    );
    const ct = results.find((r) => r.series[0].modality === 'CT')!;
    const dx = results.find((r) => r.series[0].modality === 'DX')!;
    // The DX radiograph is inside the reference model's scope but not the site model's: not assessed.
    expect(dx.series[0]).toMatchObject({
      assessment: 'not_assessed',
      notAssessed: { reason: 'OUT_OF_SCOPE' },
    });
    expect(dx.series[0].notAssessed.scopeReasons).toContain('MODALITY');
    // The CT series is scored on the site model's own label, against the site model's own threshold.
    expect(ct.thresholds).toEqual({ bright_spot: 0.8 });
    expect(ct.series[0]).toMatchObject({ assessment: 'assessed', scopeRule: 'ct_chest' });
    expect(ct.series[0].findings.map((f: { label: string }) => f.label)).toEqual(['bright_spot']);
    // Soft tissue in the lung window is near white: the brightest cell scores well over the 0.8 threshold.
    expect(ct.series[0].findings[0].score).toBeGreaterThan(0.8);
    expect(ct.critical).toEqual([
      expect.objectContaining({ label: 'bright_spot', critical: true, threshold: 0.8 }),
    ]);
    expect(published).toHaveLength(1);
    expect(published[0]!.message).toContain('Finding:        bright spot');
    expect(published[0]!.message).toContain('Decision support from a site model');
    const json = await readFile(path.join(SITE_MODEL, 'model.json'), 'utf8');
    expect(JSON.parse(json).kind).toBe('site');
  });
});
