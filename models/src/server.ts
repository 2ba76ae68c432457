import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  INSTANCE_ID_MAX,
  type InferenceErrorBody,
  InferenceRequestSchema,
  type InferenceResponse,
  type InstanceAttributes,
  type MetadataResponse,
  PAYLOAD_LIMIT_REALTIME,
} from '@medimg/common/inference.ts';
import { ModelServerError } from './errors.ts';
import { type LoadedModel, loadModel } from './model.ts';
import { predict, refuseOutOfScope } from './predict.ts';

export interface ModelServerOptions {
  readonly port: number;
  /** Interface to bind; default 0.0.0.0 (all), as SageMaker needs. */
  readonly host?: string;
  /** Folder holding model.json and the ONNX file (SageMaker: /opt/ml/model). */
  readonly modelDir: string;
  /** Largest request body accepted, in bytes. Default 6 MB (the real-time endpoint limit). */
  readonly maxPayloadBytes?: number;
  /** Findings are reported at or above this score; default: model.json's `reportingFloor`. */
  readonly reportingFloor?: number;
  /** Time allowed to receive a whole request; default 50 s, under SageMaker's 60 s. */
  readonly requestTimeoutMs?: number;
  /** onnxruntime intra-op threads; default 1. */
  readonly threads?: number;
  /** Structured log sink, one object per event; default: one JSON line on stdout. */
  readonly log?: (event: Readonly<Record<string, unknown>>) => void;
}

export interface ModelServer {
  /** Base URL, e.g. http://127.0.0.1:8080 (the SDK's endpoint override). */
  readonly url: string;
  /** Resolves once the model is loaded (/ping answers 200 from then on); rejects when loading fails. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

const ENDPOINT_PATH = /^\/endpoints\/([A-Za-z0-9](?:-*[A-Za-z0-9])*)\/invocations$/;

const defaultLog = (event: Readonly<Record<string, unknown>>): void => {
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), service: 'model-server', ...event })}\n`,
  );
};

/** Start the model server: it listens at once and loads the model in the background (/ping: 503, then 200). */
export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const log = options.log ?? defaultLog;
  const maxPayloadBytes = options.maxPayloadBytes ?? PAYLOAD_LIMIT_REALTIME;
  const requestTimeoutMs = options.requestTimeoutMs ?? 50_000;
  let model: LoadedModel | undefined;

  const ready = loadModel(options.modelDir, { threads: options.threads ?? 1 }).then(
    (loaded) => {
      model = loaded;
      log({ level: 'info', msg: 'model loaded', model: loaded.identity });
    },
    (err: unknown) => {
      log({
        level: 'error',
        msg: 'model load failed',
        code: (err as ModelServerError).code ?? 'MODEL_LOAD_FAILED',
      });
      throw err;
    },
  );
  ready.catch(() => undefined); // observed through `ready`; /ping keeps answering 503

  const server = createServer((req, res) => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0]!;
    const sdkPath = ENDPOINT_PATH.test(path);
    const route = path === '/ping' ? 'ping' : path === '/invocations' || sdkPath ? 'invocations' : 'other';
    let instances = 0;
    handle(req, path, sdkPath)
      .then((body) => {
        instances = 'predictions' in body ? body.predictions.length : 0;
        send(res, 200, body);
      })
      .catch((err: unknown) => {
        const e =
          err instanceof ModelServerError
            ? err
            : new ModelServerError('MODEL_ERROR', 'unexpected server error', { cause: err });
        sendError(res, e, sdkPath);
        if (e.status >= 500 && e.code !== 'MODEL_NOT_LOADED') {
          log({ level: 'error', msg: 'request failed', route, code: e.code, cause: errorName(e.cause) });
        }
      })
      .finally(() => {
        if (route === 'ping') return;
        const ms = Math.round((performance.now() - started) * 100) / 100;
        log({
          level: 'info',
          msg: 'request',
          route,
          method: req.method,
          status: res.statusCode,
          instances,
          ms,
        });
      });
  });

  async function handle(
    req: IncomingMessage,
    path: string,
    sdkPath: boolean,
  ): Promise<InferenceResponse | MetadataResponse | { status: 'ok' }> {
    if (path === '/ping') {
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new ModelServerError('METHOD_NOT_ALLOWED', 'use GET');
      if (!model) throw new ModelServerError('MODEL_NOT_LOADED', 'the model is not loaded yet');
      return { status: 'ok' };
    }
    if (path !== '/invocations' && !sdkPath) {
      req.resume();
      throw new ModelServerError('NOT_FOUND', 'no such path');
    }
    if (req.method !== 'POST') throw new ModelServerError('METHOD_NOT_ALLOWED', 'use POST');
    if (!model) throw new ModelServerError('MODEL_NOT_LOADED', 'the model is not loaded yet');
    checkAccept(req.headers.accept);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json' && contentType !== 'image/png') {
      throw new ModelServerError('UNSUPPORTED_CONTENT_TYPE', 'send application/json or image/png');
    }
    const body = await readBody(req, maxPayloadBytes);
    if (contentType === 'image/png') {
      throw new ModelServerError(
        'OUT_OF_SCOPE',
        'an image/png body declares no scope attributes; send application/json instances with attributes',
      );
    }
    const request = parseRequest(body);
    if ('metadata' in request) return { metadata: model.metadata };
    refuseOutOfScope(model, request.items);
    return predict(model, request.items, options.reportingFloor ?? model.manifest.reportingFloor);
  }

  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(requestTimeoutMs, 20_000);
  server.keepAliveTimeout = 65_000; // longer than the SDK's idle sockets, so it never reuses a closed one
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  log({ level: 'info', msg: 'listening', port, maxPayloadBytes });

  return {
    url: `http://${urlHost}:${port}`,
    ready,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await ready.catch(() => undefined);
      await model?.close();
      model = undefined;
    },
  };
}

function checkAccept(accept: string | undefined): void {
  if (!accept) return;
  const ok = accept
    .split(',')
    .map((part) => part.split(';')[0]!.trim().toLowerCase())
    .some((t) => t === '*/*' || t === 'application/*' || t === 'application/json');
  if (!ok) throw new ModelServerError('NOT_ACCEPTABLE', 'responses are application/json');
}

/** Read the body, refusing (413) from Content-Length before reading and again while streaming. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed)
        reject(new ModelServerError('BAD_REQUEST', 'the request body was cut short', { cause: err }));
      failed = true;
    });
  });
}

function tooLarge(limit: number): ModelServerError {
  return new ModelServerError(
    'PAYLOAD_TOO_LARGE',
    `the request body exceeds ${limit} bytes; split the series`,
  );
}

interface RequestItem {
  readonly id: string;
  readonly png: Buffer;
  readonly attributes?: InstanceAttributes;
}

/** `{"metadata":true}` asks for the model's metadata; anything else must be `{"instances":[...]}`. */
function parseRequest(body: Buffer): { metadata: true } | { items: RequestItem[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ModelServerError('BAD_JSON', 'the body is not valid JSON', { cause: err });
  }
  if ((parsed as { metadata?: unknown } | null)?.metadata === true) return { metadata: true };
  return { items: parseInstances(parsed) };
}

/** `instances[2].attributes.rows`: where a request breaks the contract, never the value found there. */
const pathOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : `${out}${out ? '.' : ''}${String(part)}`),
    '',
  );

/** The shared contract (common/src/inference.ts) is the one check: the worker builds requests from it too. */
function parseInstances(parsed: unknown): RequestItem[] {
  const checked = InferenceRequestSchema.safeParse(parsed);
  if (!checked.success) {
    const where = pathOf(checked.error.issues[0]?.path ?? []);
    throw new ModelServerError(
      'BAD_REQUEST',
      `${where || 'the body'} does not follow the contract: expected {"instances":[{"id":string of 1 to ${INSTANCE_ID_MAX} characters,"data":base64 PNG,"attributes"?:{...}}, ...]}`,
    );
  }
  return checked.data.instances.map(({ id, data, attributes }) => ({
    id,
    png: Buffer.from(data, 'base64'),
    ...(attributes ? { attributes } : {}),
  }));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * JSON error body `{error:{code,message}}`. On the SageMaker runtime path the answer is shaped as the real
 * runtime shapes it, so the AWS SDK raises the same exception types it would against AWS: 503 becomes
 * `ServiceUnavailable`, any other container error becomes `ModelError` (424) carrying the container's status
 * and body in `OriginalStatusCode` / `OriginalMessage`.
 */
function sendError(res: ServerResponse, err: ModelServerError, sdkPath: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The body of a refused request is not read: discard it and close the connection after the answer.
  if (!res.req.complete) {
    res.setHeader('connection', 'close');
    res.req.resume();
  }
  const body: InferenceErrorBody = { error: { code: err.code, message: err.message } };
  if (!sdkPath) {
    send(res, err.status, body);
    return;
  }
  if (err.status === 503) {
    res.setHeader('x-amzn-errortype', 'ServiceUnavailable');
    send(res, 503, { message: err.message, ...body });
    return;
  }
  res.setHeader('x-amzn-errortype', 'ModelError');
  send(res, 424, {
    message: `Received client error (${err.status}) from primary with message "${err.message}"`,
    OriginalStatusCode: err.status,
    OriginalMessage: JSON.stringify(body),
    ...body,
  });
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}
