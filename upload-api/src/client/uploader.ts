/**
 * An upload batch from this machine: checksums, `POST /batches`, parallel PUTs to the presigned
 * URLs (parts for large files) with retries and backoff, `complete`, and a state file so that an
 * interrupted upload resumes without sending again what S3 already accepted.
 *
 * A PUT is bounded by a stall timeout (no byte sent or received for that long), not by a total:
 * a slow link that keeps sending is never cut, an endpoint that stops reading or never answers is
 * dropped and the PUT tried again.
 */
import { stat } from 'node:fs/promises';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type BatchStatus, type PresignedRequest, partRange, type UploadUrlsResponse } from '../contract.ts';
import { ApiCallError, seconds, type UploadApiClient } from './api-client.ts';
import { checksums, type FileChecksums, type LocalFile, readRange } from './files.ts';
import { backoff, sleep } from './retry.ts';
import { readState, StateWriter, type UploadState } from './state.ts';

export class UploadError extends Error {
  readonly code:
    | 'STATE_MISSING'
    | 'STATE_MISMATCH'
    | 'FILE_CHANGED'
    | 'PUT_REFUSED'
    | 'PUT_FAILED'
    | 'INCOMPLETE';
  constructor(code: UploadError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UploadError';
    this.code = code;
  }
}

export interface UploadProgress {
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface UploadOptions {
  readonly client: UploadApiClient;
  readonly stateDir: string;
  /** PUTs in flight at once (default 4). */
  readonly concurrency?: number;
  /** Attempts per PUT before the upload fails (default 5). */
  readonly attempts?: number;
  /**
   * A PUT with no byte sent or received for this long is dropped and tried again (default 30 s);
   * once its body is sent, the answer may take this plus its buffered tail's time (answerWaitMs).
   */
  readonly stallTimeoutMs?: number;
  readonly onBatchCreated?: (batchId: string) => void;
  readonly onProgress?: (progress: UploadProgress) => void;
  /** A PUT that failed and will be tried again (status, or 0 for a network error). */
  readonly onRetry?: (status: number) => void;
}

export interface UploadOutcome {
  readonly batchId: string;
  readonly files: number;
  readonly bytes: number;
  /** PUT requests that S3 accepted in this run (files and parts). */
  readonly sent: number;
  /** Files that were already uploaded before this run (a resume). */
  readonly alreadyUploaded: number;
  readonly status: BatchStatus;
}

/** Default stall timeout of a PUT. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** Bytes handed to the socket at a time: each write (and each one completed) restarts the stall timer. */
const WRITE_CHUNK = 64 * 1024;

/**
 * After the last write, what the operating system buffered is still on its way and the timer
 * cannot see it go: the wait for the answer adds the time of that much (at most the body, at most
 * 8 MiB) at 64 KiB/s, so that a slow link is not taken for a silent endpoint at the end of a PUT.
 */
const TAIL_BYTES_MAX = 8 * 1024 * 1024;
const TAIL_BYTES_PER_S = 64 * 1024;

/** The stall timeout plus the time the body's buffered tail may take on a slow link. */
export const answerWaitMs = (stallTimeoutMs: number, bodyBytes: number): number =>
  stallTimeoutMs + Math.ceil((Math.min(bodyBytes, TAIL_BYTES_MAX) / TAIL_BYTES_PER_S) * 1000);

class PutStalled extends Error {
  override readonly name = 'PutStalled';
}

/**
 * One PUT to a presigned URL with node:http(s), whose socket timeout is an idle timeout: it runs
 * while nothing is written, acknowledged or read, from the connection to the end of the answer
 * (longer once the body is handed over: answerWaitMs). Rejects with PutStalled when it fires
 * (its message says which bound), with the network error otherwise.
 */
function putOnce(
  target: string,
  headers: Readonly<Record<string, string>>,
  body: Uint8Array,
  stallTimeoutMs: number,
): Promise<{ status: number; etag: string | undefined }> {
  const url = new URL(target);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // Once the timer fired, whatever error follows (the request's, the answer's) is the stall.
    let stalled: PutStalled | undefined;
    const fail = (err: unknown) => reject(stalled ?? err);
    let sent = false;
    const req: ClientRequest = send(
      url,
      { method: 'PUT', headers, timeout: stallTimeoutMs },
      (res: IncomingMessage) => {
        res.on('error', fail);
        res.on('end', () => {
          const etag = res.headers.etag;
          resolve({ status: res.statusCode ?? 0, etag: typeof etag === 'string' ? etag : undefined });
        });
        res.on('close', () => {
          if (!res.complete) fail(new Error('answer cut short'));
        });
        res.resume(); // S3's answer body (an error document at most) is not needed
      },
    );
    req.on('timeout', () => {
      stalled = new PutStalled(
        sent
          ? `no answer ${seconds(answerWaitMs(stallTimeoutMs, body.length))} after the last byte was sent`
          : `no progress for ${seconds(stallTimeoutMs)}`,
      );
      req.destroy(stalled);
    });
    // Every byte is with the operating system: from here the answer may wait for the buffered tail.
    req.on('finish', () => {
      sent = true;
      req.setTimeout(answerWaitMs(stallTimeoutMs, body.length));
    });
    req.on('error', fail);
    const write = async () => {
      for (let at = 0; at < body.length && !req.destroyed; at += WRITE_CHUNK) {
        if (!req.write(body.subarray(at, at + WRITE_CHUNK))) {
          await new Promise<void>((r) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              r();
            };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      }
      if (!req.destroyed) req.end();
    };
    void write();
  });
}

interface WorkItem {
  readonly index: number;
  /** Undefined for a whole-file PUT. */
  readonly partNumber?: number;
  readonly start: number;
  readonly end: number;
  request: PresignedRequest;
}

/** Announces the files, uploads them and completes the batch. */
export async function uploadFiles(
  files: readonly LocalFile[],
  options: UploadOptions,
): Promise<UploadOutcome> {
  const limits = await options.client.limits();
  const sums: FileChecksums[] = [];
  for (const f of files) sums.push(await checksums(f.path, f.size, limits));
  const created = await options.client.createBatch({
    files: files.map((f, i) => ({
      name: f.name,
      size: f.size,
      sha256: sums[i]!.sha256,
      ...(sums[i]!.parts ? { parts: sums[i]!.parts } : {}),
    })),
  });
  const state: UploadState = {
    version: 1,
    apiUrl: options.client.url,
    batchId: created.batchId,
    files: files.map((f, i) => ({
      path: f.path,
      size: f.size,
      sha256: sums[i]!.sha256,
      ...(sums[i]!.parts ? { parts: sums[i]!.parts } : {}),
      done: false,
    })),
  };
  const writer = new StateWriter(options.stateDir);
  await writer.save(state);
  options.onBatchCreated?.(created.batchId);
  return drive(state, created, writer, options, 0);
}

/** Continues an interrupted upload from its state file: only what S3 has not accepted is sent. */
export async function resumeUpload(batchId: string, options: UploadOptions): Promise<UploadOutcome> {
  const state = await readState(options.stateDir, batchId);
  if (state === undefined) {
    throw new UploadError('STATE_MISSING', `no saved upload for batch ${batchId} in ${options.stateDir}`);
  }
  if (state.apiUrl !== options.client.url) {
    throw new UploadError('STATE_MISMATCH', `batch ${batchId} was started against ${state.apiUrl}`);
  }
  for (const f of state.files) {
    if (f.done) continue;
    const size = await stat(f.path).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== f.size)
      throw new UploadError('FILE_CHANGED', `${f.path} changed or is gone since the upload started`);
  }
  const writer = new StateWriter(options.stateDir);
  const alreadyUploaded = state.files.filter((f) => f.done).length;
  const pending = pendingFiles(state);
  const targets = pending.length > 0 ? await freshUrls(options.client, batchId, pending) : undefined;
  return drive(state, targets, writer, options, alreadyUploaded);
}

function pendingFiles(state: UploadState): { index: number; parts?: number[] }[] {
  return state.files.flatMap((f, index) => {
    if (f.done) return [];
    if (!f.parts) return [{ index }];
    const parts = f.parts.map((_, i) => i + 1).filter((n) => f.etags?.[String(n)] === undefined);
    return [{ index, parts }];
  });
}

/** Fresh URLs, asked for in slices so that no request body grows large. */
async function freshUrls(
  client: UploadApiClient,
  batchId: string,
  files: readonly { index: number; parts?: number[] }[],
): Promise<UploadUrlsResponse> {
  const out: UploadUrlsResponse['files'] = [];
  let expiresAt = '';
  for (let i = 0; i < files.length; i += 500) {
    const answer = await client.urls(batchId, { files: files.slice(i, i + 500) });
    out.push(...answer.files);
    expiresAt = answer.expiresAt;
  }
  return { batchId, expiresAt, files: out };
}

function workItems(state: UploadState, targets: UploadUrlsResponse): WorkItem[] {
  const items: WorkItem[] = [];
  for (const t of targets.files) {
    const file = state.files[t.index];
    if (file === undefined) continue;
    if (t.upload.kind === 'put') {
      items.push({ index: t.index, start: 0, end: file.size, request: t.upload.request });
    } else {
      for (const p of t.upload.parts) {
        const { start, end } = partRange(file.size, t.upload.partSize, p.partNumber);
        items.push({ index: t.index, partNumber: p.partNumber, start, end, request: p.request });
      }
    }
  }
  return items;
}

async function drive(
  state: UploadState,
  initial: UploadUrlsResponse | undefined,
  writer: StateWriter,
  options: UploadOptions,
  alreadyUploaded: number,
): Promise<UploadOutcome> {
  const { client } = options;
  const batchId = state.batchId;
  const bytesTotal = state.files.reduce((n, f) => n + f.size, 0);
  let sent = 0;

  const doneBytes = () =>
    state.files.reduce((n, f) => {
      if (f.done) return n + f.size;
      if (!f.parts || !f.etags) return n;
      const partSize = f.parts.length > 1 ? Math.ceil(f.size / f.parts.length) : f.size;
      return n + Object.keys(f.etags).length * Math.min(partSize, f.size);
    }, 0);
  const report = () =>
    options.onProgress?.({
      filesDone: state.files.filter((f) => f.done).length,
      filesTotal: state.files.length,
      bytesDone: Math.min(doneBytes(), bytesTotal),
      bytesTotal,
    });

  const send = async (item: WorkItem): Promise<void> => {
    const file = state.files[item.index]!;
    const body = await readRange(file.path, item.start, item.end);
    const attempts = options.attempts ?? 5;
    const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      let status = 0;
      // What went wrong, for the message: the host only (the URL's query carries its signature).
      let failure: string;
      try {
        const res = await putOnce(item.request.url, item.request.headers, body, stallTimeoutMs);
        status = res.status;
        if (status >= 200 && status < 300) {
          const etag = res.etag?.replace(/"/g, '') ?? '';
          if (item.partNumber === undefined) file.done = true;
          else {
            file.etags = { ...file.etags, [String(item.partNumber)]: etag };
            if (Object.keys(file.etags).length === file.parts!.length) file.done = true;
          }
          sent++;
          await writer.save(state);
          report();
          return;
        }
        failure = `HTTP ${status}`;
      } catch (err) {
        status = 0; // network error or stall
        const host = new URL(item.request.url).host;
        failure =
          err instanceof PutStalled ? `${err.message} from ${host}` : `network error reaching ${host}`;
      }
      if (status === 403 && !refreshed) {
        // The URL expired (a slow link, a long queue): ask for a fresh one and send again.
        refreshed = true;
        const again = await client.urls(batchId, {
          files: [{ index: item.index, ...(item.partNumber ? { parts: [item.partNumber] } : {}) }],
        });
        const [fresh] = workItems(state, again);
        if (fresh) item.request = fresh.request;
        continue;
      }
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable) {
        throw new UploadError('PUT_REFUSED', `S3 refused file ${item.index} with HTTP ${status}`);
      }
      if (attempt + 1 >= attempts) {
        throw new UploadError('PUT_FAILED', `file ${item.index} failed ${attempts} times (last: ${failure})`);
      }
      options.onRetry?.(status);
      await sleep(backoff(attempt + 1));
    }
  };

  const sendAll = async (items: WorkItem[]) => {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await send(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, items.length) }, worker));
  };

  report();
  if (initial) await sendAll(workItems(state, initial));

  // Complete; a 409 names files S3 does not have as announced: send those again (twice at most).
  for (let round = 0; ; round++) {
    const parts = state.files.flatMap((f, index) =>
      f.parts && f.etags
        ? [{ index, etags: Object.entries(f.etags).map(([n, etag]) => ({ partNumber: Number(n), etag })) }]
        : [],
    );
    try {
      const status = await client.complete(batchId, { parts });
      await writer.remove(batchId);
      return { batchId, files: state.files.length, bytes: bytesTotal, sent, alreadyUploaded, status };
    } catch (err) {
      if (err instanceof ApiCallError && err.code === 'BATCH_ALREADY_COMPLETED') {
        // A run that completed and stopped before it removed its state file.
        const status = await client.status(batchId);
        await writer.remove(batchId);
        return { batchId, files: state.files.length, bytes: bytesTotal, sent, alreadyUploaded, status };
      }
      if (!(err instanceof ApiCallError) || err.code !== 'BATCH_INCOMPLETE' || round >= 2) throw err;
      const again = [...(err.error.missing ?? []), ...(err.error.mismatched ?? []).map((m) => m.index)];
      for (const index of again) {
        const f = state.files[index];
        if (f === undefined) continue;
        f.done = false;
        delete f.etags;
      }
      await writer.save(state);
      report();
      await sendAll(workItems(state, await freshUrls(client, batchId, pendingFiles(state))));
    }
  }
}
