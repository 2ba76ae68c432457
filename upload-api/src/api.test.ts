/**
 * The upload API through its local HTTP adapter (SigV4 checked) against a real S3 server (s3rver):
 * presigned URLs, expiry, complete's checks, each bad request's error, the status answer.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_WRITER_METADATA, processedKeys, rawKeys, UploadManifestSchema } from '@medimg/common';
import { runBoundedAsync } from '@medimg/common/testing/child.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiCallError } from './client/api-client.ts';
import { uploadFiles } from './client/uploader.ts';
import type { CreateBatchRequest, PresignedRequest, UploadUrlsResponse } from './contract.ts';
import { type AwsCredentials, signRequest } from './sigv4.ts';
import { CALLER, callerEnv, type LocalApi, startLocalApi } from './testing/local-api.ts';

const MiB = 1024 * 1024;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Names as a hospital export may write them: they must stay out of keys, answers and logs. */
const PHI_NAMES = ['DOE^JANE 1962-03-04/IMG0001.dcm', 'DOE^JANE 1962-03-04/IMG0002.dcm'];

let api: LocalApi;

beforeAll(async () => {
  api = await startLocalApi({
    maxFiles: 3,
    maxFileBytes: 4 * MiB,
    multipartThresholdBytes: 1 * MiB,
    partSizeBytes: 1 * MiB,
  });
});

afterAll(async () => {
  await api?.close();
});

beforeEach(() => {
  api.setClock(undefined);
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const body = (i: number, size = 300) => new Uint8Array(size).fill(i + 1);

function announce(bodies: readonly Uint8Array[], names = PHI_NAMES): CreateBatchRequest {
  return {
    files: bodies.map((b, i) => ({ name: names[i] ?? `f${i}.dcm`, size: b.length, sha256: sha256(b) })),
  };
}

function putTarget(created: UploadUrlsResponse, index: number): PresignedRequest {
  const t = created.files.find((f) => f.index === index)?.upload;
  if (t?.kind !== 'put') throw new Error('expected a single PUT');
  return t.request;
}

async function put(request: PresignedRequest, data: Uint8Array, headers = request.headers): Promise<number> {
  const res = await fetch(request.url, { method: 'PUT', headers, body: data });
  await res.arrayBuffer();
  return res.status;
}

/** A signed call with any body, to reach the API's own validation. */
async function call(
  method: string,
  route: string,
  payload: string | undefined,
  credentials: AwsCredentials | null = CALLER,
): Promise<{ status: number; json: { error?: Record<string, unknown> } & Record<string, unknown> }> {
  const url = new URL(`${api.url}${route}`);
  const headers: Record<string, string> = payload === undefined ? {} : { 'content-type': 'application/json' };
  const signed = credentials
    ? await signRequest({ method, url, headers, body: payload }, credentials, 'us-east-1')
    : headers;
  const res = await fetch(url, {
    method,
    headers: signed,
    ...(payload !== undefined ? { body: payload } : {}),
  });
  return { status: res.status, json: (await res.json()) as never };
}

async function expectApiError(promise: Promise<unknown>, code: string): Promise<ApiCallError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiCallError);
  expect((err as ApiCallError).code).toBe(code);
  return err as ApiCallError;
}

describe('POST /batches', () => {
  it('issues a random b- batch id and a presigned PUT per file, keyed by index, never by the caller name', async () => {
    const bodies = [body(0), body(1)];

    const first = await api.client.createBatch(announce(bodies));
    const second = await api.client.createBatch(announce(bodies));

    expect(first.batchId).toMatch(/^b-\d{8}-[0-9a-f]{20}$/);
    expect(second.batchId).not.toBe(first.batchId);
    const urls = [putTarget(first, 0).url, putTarget(first, 1).url];
    expect(new URL(urls[0]!).pathname).toBe(`/raw/incoming/${first.batchId}/0.dcm`);
    expect(new URL(urls[1]!).pathname).toBe(`/raw/incoming/${first.batchId}/1.dcm`);
    for (const u of urls) {
      expect(decodeURIComponent(u)).not.toContain('DOE');
      expect(Number(new URL(u).searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(900);
    }
  });

  it('signs the content length and the SHA-256 into each URL, so S3 refuses another body', async () => {
    const data = body(0, 1234);

    const created = await api.client.createBatch(announce([data]));

    // s3rver does not check signed lengths and checksums (README: the gap); AWS S3 does.
    const request = putTarget(created, 0);
    const signed = new URL(request.url).searchParams.get('X-Amz-SignedHeaders')?.split(';');
    expect(signed).toEqual(expect.arrayContaining(['content-length', 'x-amz-checksum-sha256', 'host']));
    expect(request.headers).toEqual({
      'content-length': '1234',
      'x-amz-checksum-sha256': createHash('sha256').update(data).digest('base64'),
    });
  });

  it('hands out URLs that S3 refuses once they have expired', async () => {
    api.setClock(() => new Date(Date.now() - 16 * 60_000));
    const data = body(0);
    const created = await api.client.createBatch(announce([data]));

    const status = await put(putTarget(created, 0), data);

    expect(status).toBe(403);
    expect(await api.head(api.raw, rawKeys.batchFile(created.batchId, 0))).toBeUndefined();
  });

  it.each(
    (
      [
        [
          'more files than the limit',
          () => announce([body(0), body(1), body(2), body(3)]),
          'TOO_MANY_FILES',
          undefined,
        ],
        [
          'a file over the size limit',
          () => ({
            files: [
              announce([body(0)]).files[0]!,
              { name: 'big.dcm', size: 5 * MiB, sha256: 'a'.repeat(64) },
            ],
          }),
          'FILE_TOO_LARGE',
          1,
        ],
        [
          'an MD5 instead of a SHA-256',
          () => ({ files: [{ name: 'x.dcm', size: 10, sha256: 'd41d8cd98f00b204e9800998ecf8427e' }] }),
          'CHECKSUM_NOT_SHA256',
          0,
        ],
        [
          'a SHA-256 in base64 rather than hex',
          () => ({ files: [{ name: 'x.dcm', size: 10, sha256: Buffer.alloc(32).toString('base64') }] }),
          'CHECKSUM_NOT_SHA256',
          0,
        ],
        [
          'part checksums for a file that goes in one PUT',
          () => ({ files: [{ name: 'x.dcm', size: 10, sha256: 'a'.repeat(64), parts: ['a'.repeat(64)] }] }),
          'PARTS_INVALID',
          0,
        ],
        [
          'a large file without its part checksums',
          () => ({ files: [{ name: 'x.dcm', size: 2 * MiB + 1, sha256: 'a'.repeat(64) }] }),
          'PARTS_INVALID',
          0,
        ],
        ['no files at all', () => ({ files: [] }), 'BODY_INVALID', undefined],
        [
          'a negative size',
          () => ({ files: [{ name: 'x', size: -1, sha256: 'a'.repeat(64) }] }),
          'BODY_INVALID',
          undefined,
        ],
      ] as const
    ).map(([what, make, code, index]) => ({ what, make, code, index })),
  )('refuses $what with 400 $code', async ({ make, code, index }) => {
    const { status, json } = await call('POST', '/batches', JSON.stringify(make()));

    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code, ...(index !== undefined ? { index } : {}) });
  });

  it('refuses a body that is not JSON with 400 BODY_INVALID', async () => {
    const { status, json } = await call('POST', '/batches', '{"files": [');

    expect(status).toBe(400);
    expect(json.error?.code).toBe('BODY_INVALID');
  });

  it('refuses a request body over the size limit with 413', async () => {
    const { status, json } = await call('POST', '/batches', JSON.stringify({ pad: 'x'.repeat(70_000) }));

    expect(status).toBe(413);
    expect(json.error?.code).toBe('REQUEST_TOO_LARGE');
  });

  it('refuses an unsigned request, and one signed with a wrong secret, with 401', async () => {
    const unsigned = await call('GET', '/limits', undefined, null);
    const forged = await call('GET', '/limits', undefined, {
      accessKeyId: CALLER.accessKeyId,
      secretAccessKey: 'guess',
    });

    expect([unsigned.status, unsigned.json.error?.code]).toEqual([401, 'UNAUTHENTICATED']);
    expect([forged.status, forged.json.error?.code]).toEqual([401, 'UNAUTHENTICATED']);
  });
});

describe('batches that are not the caller’s', () => {
  it('answers 404 for an unknown batch id and for one that is not a batch id at all', async () => {
    await expectApiError(api.client.status('b-20260101-00000000000000000000'), 'BATCH_NOT_FOUND');
    const odd = await call('GET', '/batches/..%2Fjobs', undefined);
    expect([odd.status, odd.json.error?.code]).toEqual([404, 'BATCH_NOT_FOUND']);
  });

  it('answers 403 to another caller asking about, completing or re-signing a batch', async () => {
    const created = await api.client.createBatch(announce([body(0)]));

    await expectApiError(api.other.status(created.batchId), 'BATCH_FOREIGN');
    await expectApiError(api.other.complete(created.batchId, { parts: [] }), 'BATCH_FOREIGN');
    await expectApiError(api.other.urls(created.batchId, { files: [{ index: 0 }] }), 'BATCH_FOREIGN');
  });
});

describe('POST /batches/{id}/complete', () => {
  it('answers 409 naming a missing file, writes no manifest, and completes after the file is uploaded', async () => {
    const bodies = [body(0), body(1)];
    const created = await api.client.createBatch(announce(bodies));
    expect(await put(putTarget(created, 0), bodies[0]!)).toBe(200);

    const err = await expectApiError(api.client.complete(created.batchId, { parts: [] }), 'BATCH_INCOMPLETE');
    expect(err.status).toBe(409);
    expect(err.error.missing).toEqual([1]);
    expect(await api.head(api.raw, rawKeys.manifest(created.batchId))).toBeUndefined();

    expect(await put(putTarget(created, 1), bodies[1]!)).toBe(200);
    const done = await api.client.complete(created.batchId, { parts: [] });

    expect(done).toMatchObject({ batchId: created.batchId, state: 'running', files: 2 });
    const head = await api.head(api.raw, rawKeys.manifest(created.batchId));
    expect(head?.metadata[MANIFEST_WRITER_METADATA.key]).toBe(MANIFEST_WRITER_METADATA.value);
    const manifest = UploadManifestSchema.parse(
      JSON.parse(await api.getText(api.raw, rawKeys.manifest(created.batchId))),
    );
    expect(manifest.files).toEqual([
      { name: '0.dcm', size: 300, sha256: sha256(bodies[0]!), originalName: PHI_NAMES[0] },
      { name: '1.dcm', size: 300, sha256: sha256(bodies[1]!), originalName: PHI_NAMES[1] },
    ]);
  });

  it('answers 409 for a file uploaded with another body of the same length, and completes after a re-upload', async () => {
    const data = body(0);
    const created = await api.client.createBatch(announce([data]));
    // s3rver takes the PUT although the signed checksum differs (AWS S3 answers 400 BadDigest).
    expect(await put(putTarget(created, 0), body(7))).toBe(200);

    const err = await expectApiError(api.client.complete(created.batchId, { parts: [] }), 'BATCH_INCOMPLETE');
    expect(err.error.mismatched).toEqual([{ index: 0, field: 'sha256' }]);

    const fresh = await api.client.urls(created.batchId, { files: [{ index: 0 }] });
    expect(await put(putTarget(fresh, 0), data)).toBe(200);
    await expect(api.client.complete(created.batchId, { parts: [] })).resolves.toMatchObject({
      state: 'running',
    });
  });

  it('answers 409 for a file uploaded with another length', async () => {
    const data = body(0, 300);
    const created = await api.client.createBatch(announce([data]));
    const request = putTarget(created, 0);
    // Without the signed content-length header (fetch would refuse a length that is not the body's).
    expect(
      await put(request, body(0, 301), {
        'x-amz-checksum-sha256': request.headers['x-amz-checksum-sha256']!,
      }),
    ).toBe(200);

    const err = await expectApiError(api.client.complete(created.batchId, { parts: [] }), 'BATCH_INCOMPLETE');

    expect(err.error.mismatched).toEqual([{ index: 0, field: 'size' }]);
  });

  it('answers 409 BATCH_ALREADY_COMPLETED to a second complete, and to a request for new URLs', async () => {
    const data = body(0);
    const created = await api.client.createBatch(announce([data]));
    await put(putTarget(created, 0), data);
    await api.client.complete(created.batchId, { parts: [] });

    await expectApiError(api.client.complete(created.batchId, { parts: [] }), 'BATCH_ALREADY_COMPLETED');
    await expectApiError(
      api.client.urls(created.batchId, { files: [{ index: 0 }] }),
      'BATCH_ALREADY_COMPLETED',
    );
  });

  it('answers 409 for a multipart file with a wrong part, and completes after its parts are sent again', async () => {
    const data = new Uint8Array(2 * MiB + 10).map((_, i) => i % 253);
    const parts = [data.subarray(0, MiB), data.subarray(MiB, 2 * MiB), data.subarray(2 * MiB)];
    const created = await api.client.createBatch({
      files: [
        { name: 'big.dcm', size: data.length, sha256: sha256(data), parts: parts.map((p) => sha256(p)) },
      ],
    });
    const send = async (answer: UploadUrlsResponse, wrongFirst: boolean) => {
      const target = answer.files[0]!.upload;
      if (target.kind !== 'multipart') throw new Error('expected parts');
      const etags = [];
      for (const p of target.parts) {
        const bytes = wrongFirst && p.partNumber === 1 ? new Uint8Array(MiB) : parts[p.partNumber - 1]!;
        const res = await fetch(p.request.url, { method: 'PUT', headers: p.request.headers, body: bytes });
        await res.arrayBuffer();
        etags.push({ partNumber: p.partNumber, etag: res.headers.get('etag') ?? '' });
      }
      return [{ index: 0, etags }];
    };

    // s3rver takes the wrong part (AWS S3 refuses it: the part's checksum is signed).
    const wrong = await send(created, true);
    const err = await expectApiError(
      api.client.complete(created.batchId, { parts: wrong }),
      'BATCH_INCOMPLETE',
    );
    expect(err.error.mismatched).toEqual([{ index: 0, field: 'sha256' }]);
    const again = await send(await api.client.urls(created.batchId, { files: [{ index: 0 }] }), false);

    await expect(api.client.complete(created.batchId, { parts: again })).resolves.toMatchObject({
      state: 'running',
    });
    expect(sha256(await api.getBytes(api.raw, rawKeys.batchFile(created.batchId, 0)))).toBe(sha256(data));
  });

  it('completes a multipart upload above the threshold, part URLs signed with each part’s checksum', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'upload-api-mp-'));
    try {
      const big = new Uint8Array(2.5 * MiB).map((_, i) => (i * 7) % 251);
      const small = body(3);
      await writeFile(path.join(dir, 'big.dcm'), big);
      await writeFile(path.join(dir, 'small.dcm'), small);
      const files = [
        { path: path.join(dir, 'big.dcm'), name: 'big.dcm', size: big.length },
        { path: path.join(dir, 'small.dcm'), name: 'small.dcm', size: small.length },
      ];

      const outcome = await uploadFiles(files, { client: api.client, stateDir: path.join(dir, 'state') });

      expect(outcome.sent).toBe(4); // three parts and one PUT
      expect(outcome.status.state).toBe('running');
      const stored = await api.getBytes(api.raw, rawKeys.batchFile(outcome.batchId, 0));
      expect(sha256(stored)).toBe(sha256(big));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('GET /batches/{id}', () => {
  async function completedBatch() {
    const data = body(0);
    const created = await api.client.createBatch(announce([data]));
    await put(putTarget(created, 0), data);
    const done = await api.client.complete(created.batchId, { parts: [] });
    return done;
  }

  it('says the batch waits for its files until it is complete', async () => {
    const created = await api.client.createBatch(announce([body(0)]));

    const status = await api.client.status(created.batchId);

    expect(status).toMatchObject({ state: 'waiting-for-files', files: 1, reports: [] });
  });

  it('reports the job’s counts, findings and study links once the worker has written its record', async () => {
    const done = await completedBatch();
    await api.put(
      api.processed,
      processedKeys.jobStatus(done.jobId!),
      JSON.stringify({
        state: 'completed_with_quarantine',
        counts: { inputs: 3, processed: 2, quarantined: 1, failed: 0 },
        findings: { critical: 1 },
        files: [{ study: '2.25.11' }, { study: '2.25.11' }, {}],
      }),
    );
    await api.put(api.processed, processedKeys.results('2.25.11'), '{"study":"2.25.11"}');

    const status = await api.client.status(done.batchId);

    expect(status).toMatchObject({
      state: 'completed',
      counts: { processed: 2, quarantined: 1, failed: 0 },
      criticalFindings: 1,
    });
    expect(status.reports.map((r) => r.study)).toEqual(['2.25.11']);
    const report = await fetch(status.reports[0]!.url);
    expect(await report.json()).toEqual({ study: '2.25.11' });
    expect(JSON.stringify(status)).not.toContain('DOE');
  });

  it('makes `medimg status` exit 1 when the job failed', async () => {
    const done = await completedBatch();
    await api.put(
      api.processed,
      processedKeys.jobStatus(done.jobId!),
      JSON.stringify({
        state: 'failed',
        counts: { inputs: 1, processed: 0, quarantined: 0, failed: 1 },
        findings: { critical: 0 },
        files: [{}],
      }),
    );

    // Asynchronously: the API answers from this process.
    // Bounded below the test's 60 s: a child that never exits fails the test by name.
    const run = await runBoundedAsync(
      process.execPath,
      [path.join(REPO_ROOT, 'worker/bin/medimg.js'), 'status', done.batchId, '--api', api.url, '--wait'],
      { name: 'medimg status --wait', timeoutMs: 45_000, env: callerEnv() },
    );

    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toContain(`batch ${done.batchId}: failed`);
    expect(run.stdout).toContain('failed 1');
  });
});

describe('the audit trail', () => {
  it('records caller, batch and counts for each call, and never a file name', async () => {
    const before = api.audit.length;
    const created = await api.client.createBatch(announce([body(0), body(1)]));

    const lines = api.audit.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);

    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'batch created',
        caller: `arn:aws:iam::000000000000:user/${CALLER.accessKeyId}`,
        batchId: created.batchId,
        counts: { files: 2, bytes: 600, multipart: 0 },
      }),
    );
    expect(api.audit.join('\n')).not.toContain('DOE');
  });
});
