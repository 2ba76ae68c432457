import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  InvokeEndpointCommand,
  ModelError,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
} from '@aws-sdk/client-sagemaker-runtime';
import { type InferenceInstance, PAYLOAD_LIMIT_REALTIME } from '@medimg/common';
import {
  ARTIFACTS_DIR,
  attributesInside,
  EVAL_KINDS,
  type EvalSet,
  evalImagePng,
  type ModelServer,
  readEvalSet,
  ruleNamed,
  startModelServer,
} from '@medimg/models';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InferenceError } from '../ports/inference.port.ts';
import { chunkInstances, SageMakerInferenceClient } from './sagemaker-inference.ts';

const quiet = (): void => {};
const fast = { baseDelayMs: 1, maxDelayMs: 5 };
let server: ModelServer;
let evalSet: EvalSet;
let instances: InferenceInstance[];

const sdkClient = (endpoint: string): SageMakerRuntimeClient =>
  new SageMakerRuntimeClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });

async function listen(
  handler: Parameters<typeof createHttpServer>[1],
): Promise<{ url: string; server: Server }> {
  const http = createHttpServer(handler);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, server: http };
}

const closeHttp = (http: Server): Promise<void> =>
  new Promise((resolve) => {
    http.closeAllConnections();
    http.close(() => resolve());
  });

async function rejection(promise: Promise<unknown>): Promise<InferenceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InferenceError);
  return err as InferenceError;
}

beforeAll(async () => {
  evalSet = await readEvalSet(join(ARTIFACTS_DIR, 'eval-set.bin.gz'));
  const manifest = JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'model.json'), 'utf8'));
  const rule = { ct_chest: 'ct_chest', cr_chest: 'xr_chest', mr_head: 'mr_head' } as const;
  instances = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => ({
      id: `sop-${i}`,
      data: (await evalImagePng(evalSet, i)).toString('base64'),
      attributes: attributesInside(ruleNamed(manifest.scope, rule[EVAL_KINDS[evalSet.kinds[i]!]!])),
    })),
  );
  server = await startModelServer({ port: 0, host: '127.0.0.1', modelDir: ARTIFACTS_DIR, log: quiet });
  await server.ready;
});

afterAll(async () => {
  await server?.close();
});

describe('SageMakerInferenceClient against the model server (AWS SDK with an endpoint override)', () => {
  it("reads the model's metadata: declared scope, intended use, calibrated thresholds, measured performance", async () => {
    const client = new SageMakerInferenceClient({ endpointName: 'lesion', client: sdkClient(server.url) });
    const metadata = await client.describe();
    expect(metadata.name).toBe('medimg-reference-lesion');
    expect(metadata.scope.rules.map((r) => r.name)).toEqual(['ct_chest', 'xr_chest', 'mr_head']);
    expect(metadata.criticalThresholds.suspicious_lesion).toBeGreaterThan(0);
    expect(metadata.performance.falseAlarmsPer100Studies.studies).toBeGreaterThan(0);
  });

  it('maps the container refusing an out-of-scope image (422 behind ModelError) to MODEL_ERROR, without retrying', async () => {
    const client = new SageMakerInferenceClient({
      endpointName: 'lesion',
      client: sdkClient(server.url),
      ...fast,
    });
    const outside = { ...instances[0]!, attributes: { ...instances[0]!.attributes, modality: 'US' } };
    const err = await rejection(client.invoke({ instances: [outside] }));
    expect(err.code).toBe('MODEL_ERROR');
    expect(err.message).toContain('status 422');
    expect(err.attempts).toBe(1);
  });

  it('returns predictions for every instance in order, with the model identity', async () => {
    const client = new SageMakerInferenceClient({ endpointName: 'lesion', client: sdkClient(server.url) });
    const response = await client.invoke({ instances: instances.slice(0, 3) });
    expect(response.model.name).toBe('medimg-reference-lesion');
    expect(response.predictions.map((p) => p.id)).toEqual(['sop-0', 'sop-1', 'sop-2']);
    for (const p of response.predictions) {
      expect(p.scores.suspicious_lesion).toBeGreaterThanOrEqual(0);
      expect(p.scores.suspicious_lesion).toBeLessThanOrEqual(1);
    }
  });

  it('splits a series over the payload limit into several requests and merges the answers', async () => {
    const one = Buffer.byteLength(JSON.stringify(instances[0]));
    const limit = 16 + 2 * (one + 1) + 200; // room for two instances per request
    const client = new SageMakerInferenceClient({
      endpointName: 'lesion',
      client: sdkClient(server.url),
      payloadLimitBytes: limit,
    });
    const split = await client.invoke({ instances });
    const whole = await new SageMakerInferenceClient({
      endpointName: 'lesion',
      client: sdkClient(server.url),
    }).invoke({
      instances,
    });
    expect(chunkInstances(instances, limit).length).toBeGreaterThan(2);
    expect(split.predictions).toEqual(whole.predictions);
  });

  it('maps the container refusing the size (413 behind ModelError) to PAYLOAD_TOO_LARGE, without retrying', async () => {
    const small = await startModelServer({
      port: 0,
      host: '127.0.0.1',
      modelDir: ARTIFACTS_DIR,
      maxPayloadBytes: 1000,
      log: quiet,
    });
    try {
      await small.ready;
      const client = new SageMakerInferenceClient({
        endpointName: 'lesion',
        client: sdkClient(small.url),
        ...fast,
      });
      const err = await rejection(client.invoke({ instances: instances.slice(0, 1) }));
      expect(err.code).toBe('PAYLOAD_TOO_LARGE');
      expect(err.attempts).toBe(1);
    } finally {
      await small.close();
    }
  });

  it('maps a container that rejects an image (400 behind ModelError) to MODEL_ERROR, without retrying', async () => {
    const client = new SageMakerInferenceClient({
      endpointName: 'lesion',
      client: sdkClient(server.url),
      ...fast,
    });
    const err = await rejection(
      client.invoke({
        instances: [
          {
            id: 'a',
            data: Buffer.from('not a png').toString('base64'),
            attributes: instances[0]!.attributes,
          },
        ],
      }),
    );
    expect(err.code).toBe('MODEL_ERROR');
    expect(err.attempts).toBe(1);
    expect(err.cause).toBeInstanceOf(ModelError);
  });

  it('retries an endpoint whose model is not loaded (503) and then reports ENDPOINT_UNAVAILABLE', async () => {
    const broken = await startModelServer({
      port: 0,
      host: '127.0.0.1',
      modelDir: '/nonexistent',
      log: quiet,
    });
    try {
      await broken.ready.catch(() => undefined);
      const client = new SageMakerInferenceClient({
        endpointName: 'lesion',
        client: sdkClient(broken.url),
        maxAttempts: 3,
        ...fast,
      });
      const err = await rejection(client.invoke({ instances: instances.slice(0, 1) }));
      expect(err.code).toBe('ENDPOINT_UNAVAILABLE');
      expect(err.attempts).toBe(3);
    } finally {
      await broken.close();
    }
  });

  it('reports ENDPOINT_UNAVAILABLE after the retries when nothing listens (connection refused)', async () => {
    const { url, server: probe } = await listen(() => {});
    await closeHttp(probe); // the port is now free and refuses connections
    const client = new SageMakerInferenceClient({
      endpointName: 'lesion',
      client: sdkClient(url),
      maxAttempts: 3,
      ...fast,
    });
    const err = await rejection(client.invoke({ instances: instances.slice(0, 1) }));
    expect(err.code).toBe('ENDPOINT_UNAVAILABLE');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.attempts).toBe(3);
  });

  it('reports ENDPOINT_TIMEOUT after the retries when the endpoint never answers', async () => {
    const { url, server: silent } = await listen((req) => {
      req.resume(); // read the request, never answer
    });
    try {
      const client = new SageMakerInferenceClient({
        endpointName: 'lesion',
        client: sdkClient(url),
        timeoutMs: 200,
        maxAttempts: 2,
        ...fast,
      });
      const err = await rejection(client.invoke({ instances: instances.slice(0, 1) }));
      expect(err.code).toBe('ENDPOINT_TIMEOUT');
      expect(err.attempts).toBe(2);
    } finally {
      await closeHttp(silent);
    }
  });

  it('reports BAD_RESPONSE when a 200 answer breaks the contract', async () => {
    const { url, server: liar } = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ predictions: [{ id: 'sop-0', score: 2 }] }));
      });
    });
    try {
      const client = new SageMakerInferenceClient({
        endpointName: 'lesion',
        client: sdkClient(url),
        ...fast,
      });
      const err = await rejection(client.invoke({ instances: instances.slice(0, 1) }));
      expect(err.code).toBe('BAD_RESPONSE');
      expect(err.attempts).toBe(1);
    } finally {
      await closeHttp(liar);
    }
  });

  it('stops when the caller aborts, with the abort reason', async () => {
    const client = new SageMakerInferenceClient({ endpointName: 'lesion', client: sdkClient(server.url) });
    const controller = new AbortController();
    controller.abort(new Error('job cancelled'));
    await expect(
      client.invoke({ instances: instances.slice(0, 1) }, { signal: controller.signal }),
    ).rejects.toThrow('job cancelled');
  });
});

describe('SageMakerInferenceClient error paths a real server cannot produce (SDK mock)', () => {
  // Created here, not at collection time: mockClient patches every SageMakerRuntimeClient while active.
  const mockRuntime = () => mockClient(SageMakerRuntimeClient);
  let mocked: ReturnType<typeof mockRuntime>;
  beforeAll(() => {
    mocked = mockRuntime();
  });
  afterEach(() => mocked.reset());
  afterAll(() => mocked.restore());

  const okBody = (ids: string[]) =>
    new TextEncoder().encode(
      JSON.stringify({
        model: { name: 'm', version: '1' },
        predictions: ids.map((id) => ({ id, scores: { suspicious_lesion: 0.1 }, findings: [] })),
        timing: { inferenceMs: 1 },
      }),
    );

  it('retries throttling with backoff and returns the answer that follows', async () => {
    mocked
      .on(InvokeEndpointCommand)
      .rejectsOnce(
        new SageMakerRuntimeServiceException({
          name: 'ThrottlingException',
          $fault: 'client',
          message: 'Rate exceeded',
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .resolves({ Body: okBody(['sop-0']) as never, ContentType: 'application/json', $metadata: {} });
    const client = new SageMakerInferenceClient({
      endpointName: 'lesion',
      client: new SageMakerRuntimeClient({}),
      ...fast,
    });
    const response = await client.invoke({ instances: instances.slice(0, 1) });
    expect(response.predictions.map((p) => p.id)).toEqual(['sop-0']);
    const calls = mocked.commandCalls(InvokeEndpointCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.args[0].input).toMatchObject({
      EndpointName: 'lesion',
      ContentType: 'application/json',
      Accept: 'application/json',
    });
  });

  it('maps ModelError to MODEL_ERROR without retrying', async () => {
    mocked
      .on(InvokeEndpointCommand)
      .rejects(
        new ModelError({ message: 'boom', OriginalStatusCode: 500, $metadata: { httpStatusCode: 424 } }),
      );
    const client = new SageMakerInferenceClient({
      endpointName: 'lesion',
      client: new SageMakerRuntimeClient({}),
      ...fast,
    });
    const err = await rejection(client.invoke({ instances: instances.slice(0, 1) }));
    expect(err.code).toBe('MODEL_ERROR');
    expect(mocked.commandCalls(InvokeEndpointCommand)).toHaveLength(1);
  });
});

describe('chunkInstances', () => {
  const inst = (id: string, size: number): InferenceInstance => ({ id, data: 'A'.repeat(size) });

  it('keeps everything in one request when it fits', () => {
    expect(chunkInstances([inst('a', 10), inst('b', 10)], 1000)).toHaveLength(1);
  });

  it('splits in order so that each request body stays within the limit', () => {
    const list = Array.from({ length: 10 }, (_, i) => inst(`i${i}`, 100));
    const limit = 400;
    const chunks = chunkInstances(list, limit);
    expect(chunks.flat().map((x) => x.id)).toEqual(list.map((x) => x.id));
    for (const chunk of chunks) {
      expect(Buffer.byteLength(JSON.stringify({ instances: chunk }))).toBeLessThanOrEqual(limit);
    }
    expect(chunks.length).toBe(4); // 3 instances of 117 bytes fit in 400 with the envelope and commas
  });

  it('lets a serverless client refuse before sending what a real-time client would send', async () => {
    const big = [{ id: 'a', data: 'A'.repeat(5 * 1024 * 1024) }];
    // Nothing listens on port 9: a request that went out would fail as ENDPOINT_UNAVAILABLE instead.
    const client = sdkClient('http://127.0.0.1:9');
    const serverless = new SageMakerInferenceClient({
      endpointName: 'lesion',
      client,
      serverless: true,
      ...fast,
    });
    const err = await rejection(serverless.invoke({ instances: big }));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(chunkInstances(big, PAYLOAD_LIMIT_REALTIME)).toHaveLength(1);
  });

  it('refuses with PAYLOAD_TOO_LARGE an instance that cannot fit alone', () => {
    expect(() => chunkInstances([inst('a', 10), inst('b', 5000)], 1000)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });
});
