/**
 * The upload client's time bounds against real servers that accept the connection and never
 * answer: the upload API (each call bounded as a whole) and S3 (each PUT bounded by a stall
 * timeout). Silent for good, a call or an upload ends with a clear error that names the host
 * only; silent for a while, a retry rides it out. Both through the library and through the
 * `medimg` binary.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawKeys } from '@medimg/common';
import { exitOf } from '@medimg/common/testing/child.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiUnavailableError, UploadApiClient } from './client/api-client.ts';
import { answerWaitMs, UploadError, uploadFiles } from './client/uploader.ts';
import { CALLER, callerEnv, type LocalApi, startLocalApi } from './testing/local-api.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(REPO_ROOT, 'worker/bin/medimg.js');
const DX = path.join(REPO_ROOT, 'sample-dicom/studies/dx-chest');
/** A small DICOM file (78 kB): its buffered tail adds little to the wait for an answer. */
const SMALL = path.join(REPO_ROOT, 'sample-dicom/bad/us-burned-in-annotation.dcm');
const MiB = 1024 * 1024;

const isUploadPut = (req: IncomingMessage) =>
  req.method === 'PUT' && /\/incoming\/[^/?]+\/\d+\.dcm/.test(req.url ?? '');

/**
 * A real HTTP server in front of an upstream (or of nothing): the requests `silence` picks are
 * accepted and never answered, the others are passed on. `read` reads a silenced request's body;
 * `ignore` never reads it, so a large body fills the socket buffers and the sender stops. The
 * requests `trickle` picks are passed on slowly: a pause of 40 ms after each chunk read.
 */
class SilentProxy {
  silence: (req: IncomingMessage) => boolean = () => true;
  trickle: (req: IncomingMessage) => boolean = () => false;
  mode: 'read' | 'ignore' = 'read';
  silenced = 0;
  /** Pauses made while reading trickled requests. */
  pauses = 0;
  readonly #held: ServerResponse[] = [];
  #server: Server | undefined;

  async start(upstream?: string): Promise<string> {
    const target = upstream === undefined ? undefined : new URL(upstream);
    this.#server = createServer((req, res) => {
      if (target === undefined || this.silence(req)) {
        this.silenced++;
        if (this.mode === 'read') req.resume();
        this.#held.push(res);
        return;
      }
      const out = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      if (!this.trickle(req)) {
        req.pipe(out);
        return;
      }
      req.on('data', (chunk: Buffer) => {
        out.write(chunk);
        this.pauses++;
        req.pause();
        setTimeout(() => req.resume(), 40);
      });
      req.on('end', () => out.end());
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get host(): string {
    return `127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.#held.splice(0)) res.destroy();
    await new Promise<void>((r) => {
      this.#server?.closeAllConnections();
      this.#server?.close(() => r());
    });
  }
}

/**
 * `medimg <args>` in its own process, asynchronously (the servers answer from this one); bounded
 * (50 s; the tests that run two have 120 s), killed past it and the test failed naming it.
 */
function medimg(args: readonly string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: callerEnv({ MEDIMG_API_URL: '', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  return exitOf(child, { name: `medimg ${args[0]}`, timeoutMs: 50_000 }).then(({ code }) => ({
    code,
    stdout,
    stderr,
  }));
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir: string;
const proxies: SilentProxy[] = [];
const apis: LocalApi[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'upload-silent-'));
});

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function proxy(upstream?: string): Promise<{ proxy: SilentProxy; url: string }> {
  const p = new SilentProxy();
  proxies.push(p);
  return { proxy: p, url: await p.start(upstream) };
}

/** The local API (s3rver behind it) with a silent proxy between the uploader and S3. */
async function apiWithSilentS3(): Promise<{ api: LocalApi; s3: SilentProxy }> {
  const s3 = new SilentProxy();
  proxies.push(s3);
  const api = await startLocalApi({}, { s3Via: (url) => s3.start(url) });
  apis.push(api);
  s3.silence = () => false;
  return { api, s3 };
}

async function localFile(name: string, data: Uint8Array) {
  const file = path.join(dir, name);
  await writeFile(file, data);
  return { path: file, name, size: data.length };
}

describe('an upload API that accepts the connection and never answers', () => {
  it('ends a call with API_TIMEOUT naming the host, after each attempt timed out', async () => {
    const { proxy: silent, url } = await proxy();
    const client = new UploadApiClient({
      url: `${url}/prod`,
      region: 'us-east-1',
      credentials: CALLER,
      attempts: 2,
      requestTimeoutMs: 300,
    });

    const err = await client.status('b-20261202-00000000000000000000').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ApiUnavailableError);
    expect((err as ApiUnavailableError).code).toBe('API_TIMEOUT');
    expect((err as Error).message).toBe(
      `the upload API at ${silent.host} did not answer within 0.3 s (2 attempts)`,
    );
    expect(silent.silenced).toBe(2);
  });

  it('retries a call that got no answer, and the upload completes', async () => {
    const api = await startLocalApi();
    apis.push(api);
    const { proxy: front, url } = await proxy(api.url);
    front.silence = () => front.silenced === 0; // the first call only (GET /limits)
    const client = new UploadApiClient({
      url,
      region: 'us-east-1',
      credentials: CALLER,
      requestTimeoutMs: 2000,
    });
    const data = new Uint8Array(300).fill(7);

    const outcome = await uploadFiles([await localFile('api-once.dcm', data)], {
      client,
      stateDir: path.join(dir, 'state-api'),
    });

    expect(front.silenced).toBe(1);
    expect(outcome.status.state).toBe('running');
    expect(sha256(await api.getBytes(api.raw, rawKeys.batchFile(outcome.batchId, 0)))).toBe(sha256(data));
  });
});

describe('S3 that accepts a PUT and never answers', () => {
  it('drops a silent PUT after the stall timeout and sends it again', async () => {
    const { api, s3 } = await apiWithSilentS3();
    s3.silence = (req) => isUploadPut(req) && s3.silenced === 0;
    const data = new Uint8Array(5000).map((_, i) => i % 251);
    const retries: number[] = [];

    const outcome = await uploadFiles([await localFile('put-once.dcm', data)], {
      client: api.client,
      stateDir: path.join(dir, 'state-put'),
      stallTimeoutMs: 2000,
      onRetry: (status) => retries.push(status),
    });

    expect(s3.silenced).toBe(1);
    expect(retries).toEqual([0]);
    expect(outcome.sent).toBe(1);
    expect(sha256(await api.getBytes(api.raw, rawKeys.batchFile(outcome.batchId, 0)))).toBe(sha256(data));
  });

  it('does not cut a slow PUT that keeps going for longer than the stall timeout in all', async () => {
    const { api, s3 } = await apiWithSilentS3();
    s3.trickle = isUploadPut;
    const data = new Uint8Array(4 * MiB).map((_, i) => (i * 13) % 251);
    const retries: number[] = [];

    const outcome = await uploadFiles([await localFile('slow.dcm', data)], {
      client: api.client,
      stateDir: path.join(dir, 'state-slow'),
      stallTimeoutMs: 1000,
      onRetry: (status) => retries.push(status),
    });

    // At least 64 pauses of 40 ms: the body took longer than the stall timeout to go through.
    expect(s3.pauses).toBeGreaterThanOrEqual(64);
    expect(retries).toEqual([]);
    expect(sha256(await api.getBytes(api.raw, rawKeys.batchFile(outcome.batchId, 0)))).toBe(sha256(data));
  });

  it('fails with PUT_FAILED naming the host, not the signed URL, when S3 never reads the body', async () => {
    const { api, s3 } = await apiWithSilentS3();
    s3.silence = isUploadPut;
    s3.mode = 'ignore';
    // Larger than the loopback socket buffers: the sender blocks part-way through the body.
    const data = new Uint8Array(24 * MiB).fill(3);

    const err = await uploadFiles([await localFile('never-read.dcm', data)], {
      client: api.client,
      stateDir: path.join(dir, 'state-ignore'),
      attempts: 2,
      stallTimeoutMs: 300,
    }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).code).toBe('PUT_FAILED');
    expect((err as Error).message).toBe(
      `file 0 failed 2 times (last: no progress for 0.3 s from ${s3.host})`,
    );
    expect(s3.silenced).toBe(2);
  });
});

describe('medimg upload and medimg status against silent endpoints', { timeout: 120_000 }, () => {
  it('end with a clear error when the API never answers', async () => {
    const { proxy: silent, url } = await proxy();
    const env = { XDG_STATE_HOME: path.join(dir, 'cli-state-1') };

    const status = await medimg(
      ['status', 'b-20261202-00000000000000000000', '--api', url, '--request-timeout', '0.3'],
      env,
    );
    const upload = await medimg(['upload', DX, '--api', url], { ...env, MEDIMG_REQUEST_TIMEOUT: '0.3' });

    expect(status.code).toBe(69);
    expect(status.stderr).toBe(
      `medimg status: API_TIMEOUT: the upload API at ${silent.host} did not answer within 0.3 s (4 attempts)\n`,
    );
    expect(upload.code).toBe(1);
    expect(upload.stdout).toBe('');
    expect(upload.stderr).toContain(
      `medimg upload: API_TIMEOUT: the upload API at ${silent.host} did not answer within 0.3 s (4 attempts)\n`,
    );
    expect(silent.silenced).toBe(8);
  });

  it('rejects a time bound that is not a positive number of seconds', async () => {
    const run = await medimg(['upload', DX, '--api', 'http://127.0.0.1:9', '--stall-timeout', '0'], {});

    expect(run.code).toBe(64);
    expect(run.stderr).toContain('--stall-timeout must be a positive number of seconds');
  });

  it('upload rides out a silent PUT with a retry, and ends with PUT_FAILED when S3 stays silent', async () => {
    const { api, s3 } = await apiWithSilentS3();
    const env = { MEDIMG_API_URL: api.url, XDG_STATE_HOME: path.join(dir, 'cli-state-2') };
    s3.silence = (req) => isUploadPut(req) && s3.silenced === 0;

    const once = await medimg(['upload', SMALL, '--stall-timeout', '2'], env);

    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/^b-\d{8}-[0-9a-f]{20}\n$/);
    expect(s3.silenced).toBe(1);

    s3.silence = isUploadPut;
    const stuck = await medimg(['upload', SMALL], { ...env, MEDIMG_STALL_TIMEOUT: '0.3' });

    // S3 read the whole body and kept quiet: the wait was for the answer, tail included.
    const wait = answerWaitMs(300, (await stat(SMALL)).size) / 1000;
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain(
      `medimg upload: PUT_FAILED: file 0 failed 5 times (last: no answer ${wait} s after the last byte was sent from ${s3.host})\n`,
    );
    expect(stuck.stderr).not.toContain('X-Amz-');
    expect(stuck.stderr).not.toContain('/incoming/');
    expect(stuck.stderr).toMatch(/resume with: medimg upload --resume b-\d{8}-[0-9a-f]{20}\n$/);
    expect(s3.silenced).toBe(6);
    // The failed upload keeps its state for --resume; the completed one removed its own.
    expect(await readdir(path.join(dir, 'cli-state-2', 'medimg', 'uploads'))).toHaveLength(1);
  });
});
