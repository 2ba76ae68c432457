/**
 * A client of the upload API: every call signed with SigV4 (`execute-api`) using the caller's AWS
 * credentials, answers checked against the contract, transient failures retried with backoff.
 * Each call is bounded in time (request to the end of the answer): an API that accepts the
 * connection and never answers is a retried failure, not a hang.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import {
  type BatchStatus,
  BatchStatusSchema,
  type CompleteRequest,
  type CreateBatchRequest,
  type ErrorBody,
  ErrorBodySchema,
  type Limits,
  LimitsSchema,
  type UploadUrlsResponse,
  UploadUrlsResponseSchema,
  type UrlsRequest,
} from '../contract.ts';
import { type AwsCredentials, signRequest } from '../sigv4.ts';
import { backoff, sleep } from './retry.ts';

/** An error answer of the API (4xx/5xx), with its code and details. */
export class ApiCallError extends Error {
  readonly status: number;
  readonly code: string;
  readonly error: ErrorBody['error'];

  constructor(status: number, error: ErrorBody['error']) {
    super(`${error.code}: ${error.message}`);
    this.name = 'ApiCallError';
    this.status = status;
    this.code = error.code;
    this.error = error;
  }
}

/** The API could not be reached, or did not answer in time; the message names its host only. */
export class ApiUnavailableError extends Error {
  readonly code: 'API_TIMEOUT' | 'API_UNREACHABLE';
  readonly host: string;

  constructor(
    code: ApiUnavailableError['code'],
    host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiUnavailableError';
    this.code = code;
    this.host = host;
  }
}

/** Default bound on one API call: API Gateway itself gives up on an integration after 30 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

const isTimeout = (err: unknown) => err instanceof Error && err.name === 'TimeoutError';

/** `ECONNREFUSED`, `ENOTFOUND`...: the network error's code (never a URL or a value). */
function networkCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' && /^[A-Z_]+$/.test(cause.code) ? cause.code : undefined;
}

/** Seconds for a message: `0.5 s`, `60 s`. */
export const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;

export interface UploadApiClientOptions {
  /** The API's base URL (the stack output `UploadApiUrl`, or the local demo's). */
  readonly url: string;
  readonly region?: string;
  /** Default: the AWS SDK's default credential chain (environment, profile, SSO, instance role). */
  readonly credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  readonly attempts?: number;
  /** Bound on one call, from the request to the end of the answer (default 60 s); retried like a 5xx. */
  readonly requestTimeoutMs?: number;
}

/** `https://<id>.execute-api.<region>.amazonaws.com/...` names its region. */
export function regionOf(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const m = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(url);
  return m?.[1] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

export class UploadApiClient {
  readonly url: string;
  readonly #region: string;
  readonly #credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  readonly #attempts: number;
  readonly #requestTimeoutMs: number;

  constructor(options: UploadApiClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#region = options.region ?? regionOf(this.url);
    this.#credentials = options.credentials ?? defaultProvider();
    this.#attempts = options.attempts ?? 4;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  limits(): Promise<Limits> {
    return this.#call('GET', '/limits', undefined, (j) => LimitsSchema.parse(j));
  }

  createBatch(request: CreateBatchRequest): Promise<UploadUrlsResponse> {
    return this.#call('POST', '/batches', request, (j) => UploadUrlsResponseSchema.parse(j));
  }

  urls(batchId: string, request: UrlsRequest): Promise<UploadUrlsResponse> {
    return this.#call('POST', `/batches/${encodeURIComponent(batchId)}/urls`, request, (j) =>
      UploadUrlsResponseSchema.parse(j),
    );
  }

  complete(batchId: string, request: CompleteRequest): Promise<BatchStatus> {
    return this.#call('POST', `/batches/${encodeURIComponent(batchId)}/complete`, request, (j) =>
      BatchStatusSchema.parse(j),
    );
  }

  status(batchId: string): Promise<BatchStatus> {
    return this.#call('GET', `/batches/${encodeURIComponent(batchId)}`, undefined, (j) =>
      BatchStatusSchema.parse(j),
    );
  }

  async #call<T>(method: string, path: string, body: unknown, parse: (json: unknown) => T): Promise<T> {
    // Creating a batch twice would leave an orphan batch: only the idempotent calls are retried.
    const attempts = method === 'POST' && path === '/batches' ? 1 : this.#attempts;
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(backoff(attempt));
      const url = new URL(`${this.url}${path}`);
      const text = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> =
        text === undefined ? {} : { 'content-type': 'application/json' };
      const signed = await signRequest({ method, url, headers, body: text }, this.#credentials, this.#region);
      let res: Response;
      let answer: string;
      try {
        // The whole call (connect, headers, body) within the bound: fetch's own defaults wait
        // minutes for headers and for each chunk of the body.
        const signal = AbortSignal.timeout(this.#requestTimeoutMs);
        res = await fetch(url, {
          method,
          headers: signed,
          signal,
          ...(text !== undefined ? { body: text } : {}),
        });
        answer = await res.text();
      } catch (err) {
        lastError = err; // no answer in time, or a network error: retry
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(answer);
      } catch {
        json = undefined;
      }
      if (res.ok) return parse(json);
      const parsed = ErrorBodySchema.safeParse(json);
      // API Gateway's own answers ({"message": "..."}) for 403 (signature) and 429 (throttled).
      const error = parsed.success
        ? parsed.data.error
        : {
            code: res.status === 429 ? 'THROTTLED' : res.status === 403 ? 'FORBIDDEN' : `HTTP_${res.status}`,
            message: String((json as { message?: unknown } | undefined)?.message ?? res.statusText),
          };
      lastError = new ApiCallError(res.status, error);
      if (res.status !== 429 && res.status < 500) throw lastError;
    }
    if (lastError instanceof ApiCallError) throw lastError;
    const host = new URL(this.url).host;
    const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
    if (isTimeout(lastError)) {
      throw new ApiUnavailableError(
        'API_TIMEOUT',
        host,
        `the upload API at ${host} did not answer within ${seconds(this.#requestTimeoutMs)} (${tries})`,
      );
    }
    const code = networkCode(lastError);
    throw new ApiUnavailableError(
      'API_UNREACHABLE',
      host,
      `the upload API at ${host} could not be reached (${code ? `${code}, ` : ''}${tries})`,
      { cause: lastError },
    );
  }
}
