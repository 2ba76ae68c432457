/**
 * `medimg upload` and `medimg status` as a site runs them (the package's bin, child processes,
 * SigV4 with AWS credentials from the environment) against the local upload API, s3rver and the
 * whole local pipeline. An HTTP proxy between the uploader and s3rver counts every PUT, fails one
 * on purpose and can stall the rest, so an upload can be killed half-way and resumed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rawKeys } from '@medimg/common';
import { exitOf } from '@medimg/common/testing/child.ts';
import type { LocalUploadApi } from '@medimg/upload-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../local/pipeline.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/servers.ts';
import { REPO_ROOT } from '../local/task-runner.ts';
import { startPipelineUploadApi } from '../local/upload-api.ts';
import { listFiles } from '../local/uploader.ts';

const DX = path.join(REPO_ROOT, 'sample-dicom/studies/dx-chest');
const BAD = path.join(REPO_ROOT, 'sample-dicom/bad');
const MR = path.join(REPO_ROOT, 'sample-dicom/studies/mr-head');

interface Run {
  readonly child: ChildProcess;
  readonly done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>;
}

/**
 * `medimg <args>` in its own process (asynchronously: the API answers from this one). Bounded: past
 * `timeoutMs` (below the test's own timeout) the child is killed and `done` rejects, naming it.
 */
function medimg(args: readonly string[], env: Record<string, string>, timeoutMs = 50_000): Run {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'worker/bin/medimg.js'), ...args], {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const done = exitOf(child, { name: `medimg ${args[0]}`, timeoutMs }).then(({ code, signal }) => ({
    code,
    signal,
    stdout,
    stderr,
  }));
  // Awaited later (status --wait runs while the pipeline settles): no unhandled rejection meanwhile.
  done.catch(() => undefined);
  return { child, done };
}

/**
 * A proxy in front of s3rver for the presigned PUTs: counts the PUTs S3 accepted per key, answers
 * 503 to the first file PUT it sees, and holds every PUT after `holdAfter` accepted ones unanswered.
 */
class PutProxy {
  readonly accepted = new Map<string, number>();
  failedOnPurpose = 0;
  holdAfter = Number.POSITIVE_INFINITY;
  readonly #held: ServerResponse[] = [];
  #onHold: (() => void) | undefined;
  #server: Server | undefined;

  async start(target: string): Promise<string> {
    const upstream = new URL(target);
    this.#server = createServer((req, res) => this.#handle(req, res, upstream));
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Resolves when a PUT is being held. */
  held(): Promise<void> {
    return this.#held.length > 0 ? Promise.resolve() : new Promise((r) => (this.#onHold = r));
  }

  release(): void {
    this.holdAfter = Number.POSITIVE_INFINITY;
    for (const res of this.#held.splice(0)) res.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse, upstream: URL): void {
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/[^/]+\//, '');
    const isUpload = req.method === 'PUT' && /^incoming\/[^/]+\/\d+\.dcm$/.test(key);
    const total = [...this.accepted.values()].reduce((a, b) => a + b, 0);
    if (isUpload && this.failedOnPurpose === 0) {
      this.failedOnPurpose++;
      req.resume();
      res.writeHead(503).end('<Error><Code>SlowDown</Code></Error>');
      return;
    }
    if (isUpload && total >= this.holdAfter) {
      req.resume();
      this.#held.push(res);
      this.#onHold?.();
      return;
    }
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        if (isUpload && up.statusCode === 200) this.accepted.set(key, (this.accepted.get(key) ?? 0) + 1);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  }

  async stop(): Promise<void> {
    this.release();
    await new Promise<void>((r) => {
      this.#server?.closeAllConnections();
      this.#server?.close(() => r());
    });
  }
}

describe('medimg upload and medimg status against the local upload API', () => {
  let dataDir: string;
  let pipeline: LocalPipeline;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'medimg-upload-'));
    pipeline = await startLocalPipeline({ dataDir });
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uploads the DICOM files it finds, skips the others, and `status --wait` returns when the job ends', async () => {
    const env = { MEDIMG_API_URL: pipeline.uploadApi.url, XDG_STATE_HOME: path.join(dataDir, 'state-1') };

    const upload = await medimg(['upload', DX, BAD], env).done;

    expect(upload.code, upload.stderr).toBe(0);
    const batchId = upload.stdout.trim();
    expect(batchId).toMatch(/^b-\d{8}-[0-9a-f]{20}$/);
    expect(upload.stderr).toContain(`skipped (not DICOM): ${path.join(BAD, 'not-dicom.txt')}`);
    expect(upload.stderr).toMatch(/upload: 3\/3 files .* done/);
    const status = medimg(['status', batchId, '--wait', '--interval', '0.5'], env, 100_000);
    await pipeline.settle();
    const waited = await status.done;

    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toContain(`batch ${batchId}: completed`);
    // dx-chest is processed; the truncated CT and the burned-in ultrasound are quarantined.
    expect(waited.stdout).toContain('processed 1, quarantined 2, failed 0');
    const [task] = pipeline.runner.tasks;
    expect(task?.exitCode).toBe(0);
    expect(waited.stdout).toContain(`job: ${task!.jobId}`);
  }, 120_000);

  it('resumes an upload killed half-way without sending again what S3 accepted, after retrying a failed PUT', async () => {
    const proxy = new PutProxy();
    const proxyUrl = await proxy.start(pipeline.servers.s3Url);
    // A second API instance that signs its URLs for the proxy (same buckets, same pipeline).
    const api: LocalUploadApi = await startPipelineUploadApi({
      s3Url: proxyUrl,
      names: pipeline.servers.names,
    });
    const stateHome = path.join(dataDir, 'state-2');
    const env = { MEDIMG_API_URL: api.url, XDG_STATE_HOME: stateHome };
    const files = await listFiles(MR);
    try {
      proxy.holdAfter = 6;
      const first = medimg(['upload', MR, '--concurrency', '1'], env);
      await proxy.held();
      first.child.kill('SIGKILL');
      const killed = await first.done;
      expect(killed.signal).toBe('SIGKILL');
      proxy.release();
      const [stateFile] = await readdir(path.join(stateHome, 'medimg', 'uploads'));
      const batchId = stateFile!.replace(/\.json$/, '');
      const state = JSON.parse(
        await readFile(path.join(stateHome, 'medimg', 'uploads', stateFile!), 'utf8'),
      ) as {
        files: { done: boolean }[];
      };
      expect(state.files.filter((f) => f.done)).toHaveLength(6);
      const before = new Map(proxy.accepted);

      const resumed = await medimg(['upload', '--resume', batchId], env).done;

      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout.trim()).toBe(batchId);
      expect(resumed.stderr).toContain('6 already uploaded before this run');
      expect(proxy.failedOnPurpose).toBe(1);
      expect(before.size).toBe(6);
      expect(proxy.accepted.size).toBe(files.length);
      for (const [key, n] of proxy.accepted) expect(n, key).toBe(1);
      await pipeline.settle();
      const status = await pipeline.uploadClient.status(batchId);
      expect(status).toMatchObject({ state: 'completed', counts: { processed: files.length, failed: 0 } });
      const manifest = await pipeline.getJson<{ files: unknown[] }>(
        pipeline.servers.names.rawBucket,
        rawKeys.manifest(batchId),
      );
      expect(manifest.files).toHaveLength(files.length);
    } finally {
      await api.close();
      await proxy.stop();
    }
  }, 180_000);
});
