import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { InferenceErrorBody, InferenceResponse, MetadataResponse } from '@medimg/common/inference.ts';
import { exitOf } from '@medimg/common/testing/child.ts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVAL_KINDS, type EvalSet, evalImagePng, readEvalSet } from './eval-set.ts';
import { ARTIFACTS_DIR } from './index.ts';
import type { ModelManifest } from './model.ts';
import { attributesInside, ruleNamed } from './scope-example.ts';
import { type ModelServer, startModelServer } from './server.ts';

const quiet = (): void => {};
let server: ModelServer;
let evalSet: EvalSet;
let manifest: ModelManifest;
let positive: number; // the eval image with the largest lesion
let negative: number; // the first eval image without one

async function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; json: InferenceResponse & InferenceErrorBody; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', body, headers });
  return {
    status: res.status,
    json: (await res.json()) as InferenceResponse & InferenceErrorBody,
    headers: res.headers,
  };
}

/** The scope rule each kind of synthetic evaluation image belongs to. */
const RULE_OF_KIND: Record<(typeof EVAL_KINDS)[number], string> = {
  ct_chest: 'ct_chest',
  cr_chest: 'xr_chest',
  mr_head: 'mr_head',
};
const attributesOf = (i: number) =>
  attributesInside(ruleNamed(manifest.scope, RULE_OF_KIND[EVAL_KINDS[evalSet.kinds[i]!]!]));

const instancesBody = async (indices: number[]): Promise<string> =>
  JSON.stringify({
    instances: await Promise.all(
      indices.map(async (i) => ({
        id: `img-${i}`,
        data: (await evalImagePng(evalSet, i)).toString('base64'),
        attributes: attributesOf(i),
      })),
    ),
  });

beforeAll(async () => {
  evalSet = await readEvalSet(join(ARTIFACTS_DIR, 'eval-set.bin.gz'));
  manifest = JSON.parse(await readFile(join(ARTIFACTS_DIR, 'model.json'), 'utf8')) as ModelManifest;
  positive = 0;
  for (let i = 0; i < evalSet.count; i++) {
    if (evalSet.lesions[i * 3 + 2]! > evalSet.lesions[positive * 3 + 2]!) positive = i;
  }
  negative = evalSet.labels.indexOf(0);
  server = await startModelServer({ port: 0, host: '127.0.0.1', modelDir: ARTIFACTS_DIR, log: quiet });
  await server.ready;
});

afterAll(async () => {
  await server?.close();
});

describe('model server: health', () => {
  it('answers GET /ping with 200 once the model is loaded', async () => {
    const res = await fetch(`${server.url}/ping`);
    expect(res.status).toBe(200);
  });

  it('answers 503 on /ping and /invocations while no model is loaded, and `ready` rejects', async () => {
    const broken = await startModelServer({
      port: 0,
      host: '127.0.0.1',
      modelDir: '/nonexistent/model',
      log: quiet,
    });
    try {
      await expect(broken.ready).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
      expect((await fetch(`${broken.url}/ping`)).status).toBe(503);
      const res = await post(`${broken.url}/invocations`, await instancesBody([0]));
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe('MODEL_NOT_LOADED');
    } finally {
      await broken.close();
    }
  });
});

describe('model server: POST /invocations', () => {
  it('scores every instance, in order, with the model identity and timing', async () => {
    const res = await post(`${server.url}/invocations`, await instancesBody([positive, negative]));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = res.json as InferenceResponse;
    expect(body.model).toEqual({ name: manifest.name, version: manifest.version });
    expect(body.predictions.map((p) => p.id)).toEqual([`img-${positive}`, `img-${negative}`]);
    for (const p of body.predictions) {
      expect(Object.keys(p.scores)).toEqual(['suspicious_lesion']);
      expect(p.scores.suspicious_lesion).toBeGreaterThanOrEqual(0);
      expect(p.scores.suspicious_lesion).toBeLessThanOrEqual(1);
    }
    expect(body.timing.inferenceMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a finding with a box around the lesion for a clear positive, none for a clear negative', async () => {
    const res = await post(`${server.url}/invocations`, await instancesBody([positive, negative]));
    const [pos, neg] = (res.json as InferenceResponse).predictions;
    expect(pos!.findings).toHaveLength(1);
    const finding = pos!.findings[0]!;
    expect(finding.label).toBe('suspicious_lesion');
    expect(finding.score).toBe(pos!.scores.suspicious_lesion);
    const [cy, cx] = [evalSet.lesions[positive * 3]! / 128, evalSet.lesions[positive * 3 + 1]! / 128];
    const box = finding.box!;
    expect(cx).toBeGreaterThanOrEqual(box.x);
    expect(cx).toBeLessThanOrEqual(box.x + box.width);
    expect(cy).toBeGreaterThanOrEqual(box.y);
    expect(cy).toBeLessThanOrEqual(box.y + box.height);
    expect(neg!.scores.suspicious_lesion).toBeLessThan(manifest.threshold.recommended);
    expect(neg!.findings).toEqual([]);
  });

  it('runs a series larger than one batch and gives each image the score it gets alone', async () => {
    const indices = Array.from({ length: 40 }, (_, i) => i);
    const res = await post(`${server.url}/invocations`, await instancesBody(indices));
    expect(res.status).toBe(200);
    const predictions = (res.json as InferenceResponse).predictions;
    expect(predictions).toHaveLength(40);
    for (const i of [0, 33, 39]) {
      const alone = await post(`${server.url}/invocations`, await instancesBody([i]));
      const score = (alone.json as InferenceResponse).predictions[0]!.scores.suspicious_lesion!;
      expect(predictions[i]!.scores.suspicious_lesion).toBeCloseTo(score, 5);
    }
  });

  it('serves its metadata on {"metadata":true}: scope, intended use, calibrated threshold, performance', async () => {
    const res = await fetch(`${server.url}/invocations`, {
      method: 'POST',
      body: '{"metadata":true}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const { metadata } = (await res.json()) as MetadataResponse;
    expect(metadata).toMatchObject({
      name: manifest.name,
      version: manifest.version,
      kind: 'reference',
      intendedUse: manifest.intendedUse,
      criticalThresholds: manifest.criticalThresholds,
      performance: manifest.performance,
    });
    expect(metadata.scope.rules.map((r) => r.name)).toEqual(['ct_chest', 'xr_chest', 'mr_head']);
  });

  it('marks an in-scope image unlike its training data as not assessed (out of distribution), with no score', async () => {
    // A checkerboard of 4-pixel squares: within the CT chest scope by its attributes, nothing like a CT.
    const pixels = Buffer.alloc(128 * 128);
    for (let y = 0; y < 128; y++)
      for (let x = 0; x < 128; x++) pixels[y * 128 + x] = ((x >> 2) + (y >> 2)) % 2 ? 255 : 0;
    const png = await sharp(pixels, { raw: { width: 128, height: 128, channels: 1 } })
      .png()
      .toBuffer();
    const body = JSON.stringify({
      instances: [
        {
          id: 'board',
          data: png.toString('base64'),
          attributes: attributesInside(ruleNamed(manifest.scope, 'ct_chest')),
        },
        {
          id: 'phantom',
          data: (await evalImagePng(evalSet, negative)).toString('base64'),
          attributes: attributesOf(negative),
        },
      ],
    });
    const res = await post(`${server.url}/invocations`, body);
    expect(res.status).toBe(200);
    const [board, phantom] = res.json.predictions;
    expect(board).toMatchObject({
      id: 'board',
      notAssessed: 'OUT_OF_DISTRIBUTION',
      scores: {},
      findings: [],
    });
    expect(board!.ood!.distance).toBeGreaterThan(board!.ood!.limit);
    expect(phantom!.notAssessed).toBeUndefined();
    expect(phantom!.ood!.distance).toBeLessThanOrEqual(phantom!.ood!.limit);
  });

  it('answers the SageMaker runtime path /endpoints/<name>/invocations the same way', async () => {
    const body = await instancesBody([positive]);
    const direct = await post(`${server.url}/invocations`, body);
    const viaSdkPath = await post(`${server.url}/endpoints/lesion-endpoint/invocations`, body);
    expect(viaSdkPath.status).toBe(200);
    expect(viaSdkPath.json.predictions).toEqual(direct.json.predictions);
  });
});

describe('model server: refusals', () => {
  it('answers 400 BAD_JSON for a body that is not JSON', async () => {
    const res = await post(`${server.url}/invocations`, '{"instances": [');
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: 'BAD_JSON', message: expect.any(String) } });
  });

  it.each([
    ['no instances', { instances: [] }],
    ['a missing id', { instances: [{ data: 'iVBORw0KGgo=' }] }],
    ['data that is not base64', { instances: [{ id: 'a', data: 'not base64!' }] }],
    ['no instances key', { images: [] }],
    ['an id over the contract length', { instances: [{ id: 'x'.repeat(257), data: 'iVBORw0KGgo=' }] }],
    [
      'attributes outside the contract (rows not an integer)',
      { instances: [{ id: 'a', data: 'iVBORw0KGgo=', attributes: { rows: 1.5 } }] },
    ],
  ])('answers 400 BAD_REQUEST for %s', async (_, body) => {
    const res = await post(`${server.url}/invocations`, JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('BAD_REQUEST');
  });

  it('names where a request breaks the contract, never the value found there', async () => {
    const body = {
      instances: [{ id: 'a', data: 'iVBORw0KGgo=', attributes: { modality: 'DOE^JOHN'.repeat(9) } }],
    };
    const res = await post(`${server.url}/invocations`, JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain('instances[0].attributes.modality');
    expect(res.json.error.message).not.toContain('DOE');
  });

  it('answers 400 BAD_IMAGE for data that is not a PNG, naming the index and not the id', async () => {
    const jpeg = await sharp({ create: { width: 128, height: 128, channels: 3, background: 'black' } })
      .jpeg()
      .toBuffer();
    const attributes = attributesOf(negative);
    const body = JSON.stringify({
      instances: [{ id: 'secret-id', data: jpeg.toString('base64'), attributes }],
    });
    const res = await post(`${server.url}/invocations`, body);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('BAD_IMAGE');
    expect(res.json.error.message).toContain('instances[0]');
    expect(res.json.error.message).not.toContain('secret-id');
  });

  it('answers 400 BAD_IMAGE for a PNG of the wrong size, and for a truncated PNG', async () => {
    const small = await sharp(Buffer.alloc(64 * 64), { raw: { width: 64, height: 64, channels: 1 } })
      .png()
      .toBuffer();
    const full = await evalImagePng(evalSet, 0);
    for (const png of [small, full.subarray(0, 60)]) {
      const body = JSON.stringify({
        instances: [{ id: 'a', data: png.toString('base64'), attributes: attributesOf(0) }],
      });
      const res = await post(`${server.url}/invocations`, body);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('BAD_IMAGE');
    }
  });

  it('answers 422 OUT_OF_SCOPE for an instance outside the declared scope, naming the reason and not the id', async () => {
    const ct = attributesInside(ruleNamed(manifest.scope, 'ct_chest'));
    const png = (await evalImagePng(evalSet, negative)).toString('base64');
    for (const [attributes, reason] of [
      [{ ...ct, modality: 'US' }, 'MODALITY'],
      [{ ...ct, bodyPart: 'HEAD' }, 'BODY_PART'],
      [{ ...ct, rows: 64, columns: 64 }, 'IMAGE_SIZE'],
      [{ ...ct, pixelSpacingMm: [0.39, 0.39] }, 'PIXEL_SPACING'],
    ] as const) {
      const body = JSON.stringify({ instances: [{ id: 'secret-id', data: png, attributes }] });
      const res = await post(`${server.url}/invocations`, body);
      expect(res.status).toBe(422);
      expect(res.json.error.code).toBe('OUT_OF_SCOPE');
      expect(res.json.error.message).toContain(
        `instances[0] is outside the model's declared scope: ${reason}`,
      );
      expect(res.json.error.message).not.toContain('secret-id');
    }
  });

  it('answers 422 OUT_OF_SCOPE for an instance that declares no attributes, and for an image/png body', async () => {
    const png = await evalImagePng(evalSet, negative);
    const bare = await post(
      `${server.url}/invocations`,
      JSON.stringify({ instances: [{ id: 'a', data: png.toString('base64') }] }),
    );
    expect(bare.status).toBe(422);
    expect(bare.json.error.message).toContain('instances[0] has no attributes');
    const raw = await post(`${server.url}/invocations`, png, { 'content-type': 'image/png' });
    expect(raw.status).toBe(422);
    expect(raw.json.error.code).toBe('OUT_OF_SCOPE');
  });

  it('answers 415 for another content type', async () => {
    const res = await post(`${server.url}/invocations`, 'hello', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.json.error.code).toBe('UNSUPPORTED_CONTENT_TYPE');
  });

  it('answers 406 when the caller accepts no JSON', async () => {
    const res = await post(`${server.url}/invocations`, await instancesBody([0]), {
      'content-type': 'application/json',
      accept: 'text/csv',
    });
    expect(res.status).toBe(406);
  });

  it('answers 404 for an unknown path and 405 for GET /invocations', async () => {
    expect((await fetch(`${server.url}/predict`)).status).toBe(404);
    const res = await fetch(`${server.url}/invocations`);
    expect(res.status).toBe(405);
    expect(((await res.json()) as InferenceErrorBody).error.code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('model server: payload limit', () => {
  let small: ModelServer;
  beforeAll(async () => {
    small = await startModelServer({
      port: 0,
      host: '127.0.0.1',
      modelDir: ARTIFACTS_DIR,
      maxPayloadBytes: 50_000,
      log: quiet,
    });
    await small.ready;
  });
  afterAll(async () => {
    await small?.close();
  });

  it('answers 413 from Content-Length before reading the body', async () => {
    const res = await post(`${small.url}/invocations`, await instancesBody([0, 1, 2, 3, 4, 5]));
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 413 while streaming a chunked body without Content-Length', async () => {
    const body = Buffer.from(await instancesBody([0, 1, 2, 3, 4, 5]));
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${small.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      for (let at = 0; at < body.length; at += 8192) req.write(body.subarray(at, at + 8192));
      req.end();
    });
    expect(status).toBe(413);
    expect(JSON.parse(text).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('still serves a request under the limit', async () => {
    expect((await post(`${small.url}/invocations`, await instancesBody([0]))).status).toBe(200);
  });
});

describe('serve executable', () => {
  it('starts on SAGEMAKER_BIND_TO_PORT with MODEL_DIR, answers /ping, and exits 0 on SIGTERM', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const bin = new URL('../bin/serve.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin], {
      env: {
        ...process.env,
        SAGEMAKER_BIND_TO_PORT: String(port),
        MODEL_DIR: ARTIFACTS_DIR,
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Bounded (it starts in a second or two and stops at once on SIGTERM), below the test's 120 s.
    const exited = exitOf(child, { name: 'the serve executable', timeoutMs: 100_000 });
    exited.catch(() => undefined);
    try {
      let status = 0;
      for (let i = 0; i < 200 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${port}/ping`).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect(status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
