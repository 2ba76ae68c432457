import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { awsClientConfig, classifyAwsError } from '@medimg/aws';
import {
  INFERENCE_CONTENT_TYPE,
  type InferenceInstance,
  type InferenceRequest,
  type InferenceResponse,
  InferenceResponseSchema,
  MetadataResponseSchema,
  type ModelMetadata,
  PAYLOAD_LIMIT_REALTIME,
  PAYLOAD_LIMIT_SERVERLESS,
} from '@medimg/common';
import { type InferenceClient, InferenceError } from '../ports/inference.port.ts';

export interface SageMakerInferenceOptions {
  readonly endpointName: string;
  /** Injected client (tests, local runs with an endpoint override). Default: one with SDK retries off. */
  readonly client?: SageMakerRuntimeClient;
  /** Per attempt; default 60 s, SageMaker's own invocation limit. */
  readonly timeoutMs?: number;
  /** Attempts per request, including the first; default 4. */
  readonly maxAttempts?: number;
  /** A serverless endpoint: the default payload limit is 4 MB instead of 6 MB. */
  readonly serverless?: boolean;
  /** Request body limit in bytes; wins over `serverless`. Default 6 MB (real-time). */
  readonly payloadLimitBytes?: number;
  /** Backoff: full jitter over min(maxDelayMs, baseDelayMs * 2^(attempt-1)). Defaults 200 ms and 5 s. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Called on each throttled attempt (the endpoint's capacity is below demand): a metric. */
  readonly onThrottled?: () => void;
}

/**
 * The runtime client's settings: one attempt per send (the retries are this adapter's, with its
 * error mapping) and the shared HTTP bounds (@medimg/aws), except that a model may think in
 * silence for the whole attempt: the socket's idle bound is the attempt's timeout, which the
 * adapter also enforces itself with an abort signal.
 */
export function sagemakerClientConfig(timeoutMs = DEFAULT_TIMEOUT_MS) {
  return awsClientConfig({ maxAttempts: 1, timeouts: { idleMs: timeoutMs, requestMs: timeoutMs } });
}

const DEFAULT_TIMEOUT_MS = 60_000;

const ENVELOPE_BYTES = Buffer.byteLength('{"instances":[]}');

/**
 * Split instances into requests whose JSON body (`{"instances":[...]}`) stays within `limitBytes`, keeping
 * their order. Throws PAYLOAD_TOO_LARGE when a single instance cannot fit.
 */
export function chunkInstances(
  instances: readonly InferenceInstance[],
  limitBytes: number,
): InferenceInstance[][] {
  const chunks: InferenceInstance[][] = [];
  let current: InferenceInstance[] = [];
  let size = ENVELOPE_BYTES;
  instances.forEach((instance, index) => {
    const bytes = Buffer.byteLength(JSON.stringify(instance));
    if (ENVELOPE_BYTES + bytes > limitBytes) {
      throw new InferenceError(
        'PAYLOAD_TOO_LARGE',
        `instance ${index} is ${bytes} bytes, over the ${limitBytes}-byte payload limit on its own`,
      );
    }
    const extra = bytes + (current.length > 0 ? 1 : 0); // a comma between instances
    if (size + extra > limitBytes) {
      chunks.push(current);
      current = [];
      size = ENVELOPE_BYTES;
      size += bytes;
    } else {
      size += extra;
    }
    current.push(instance);
  });
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** InferenceClient over the SageMaker runtime's InvokeEndpoint (application/json both ways). */
export class SageMakerInferenceClient implements InferenceClient {
  private readonly client: SageMakerRuntimeClient;
  private readonly endpointName: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly payloadLimitBytes: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly onThrottled: () => void;

  constructor(options: SageMakerInferenceOptions) {
    if (!options.endpointName) throw new TypeError('endpointName is required');
    this.endpointName = options.endpointName;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Retries are ours (with the error mapping below), so the default client makes one attempt per send.
    this.client = options.client ?? new SageMakerRuntimeClient(sagemakerClientConfig(this.timeoutMs));
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 4));
    this.payloadLimitBytes =
      options.payloadLimitBytes ?? (options.serverless ? PAYLOAD_LIMIT_SERVERLESS : PAYLOAD_LIMIT_REALTIME);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.onThrottled = options.onThrottled ?? (() => {});
  }

  /** The model's metadata (scope, intended use, thresholds, performance), asked with `{"metadata":true}`. */
  async describe(options: { signal?: AbortSignal } = {}): Promise<ModelMetadata> {
    const body = Buffer.from(JSON.stringify({ metadata: true }));
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      try {
        return this.parseMetadata(await this.send(body, options.signal));
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        const failure = classify(err);
        if (!failure.retryable || attempt >= this.maxAttempts) {
          throw new InferenceError(failure.code, `${failure.message} (after ${attempt} attempt(s))`, {
            cause: err,
            attempts: attempt,
          });
        }
        await sleep(this.backoff(attempt), options.signal);
      }
    }
  }

  private parseMetadata(bytes: Uint8Array): ModelMetadata {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      throw new InferenceError('BAD_RESPONSE', 'the endpoint answered with a body that is not JSON', {
        cause: err,
      });
    }
    const parsed = MetadataResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new InferenceError(
        'BAD_RESPONSE',
        'the endpoint metadata does not follow the inference contract',
        {
          cause: parsed.error,
        },
      );
    }
    return parsed.data.metadata;
  }

  async invoke(
    request: InferenceRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<InferenceResponse> {
    if (request.instances.length === 0) {
      throw new InferenceError('MODEL_ERROR', 'an inference request needs at least one instance');
    }
    const chunks = chunkInstances(request.instances, this.payloadLimitBytes);
    let model: InferenceResponse['model'] | undefined;
    const predictions: InferenceResponse['predictions'][number][] = [];
    let inferenceMs = 0;
    for (const chunk of chunks) {
      const response = await this.invokeWithRetries(chunk, options.signal);
      model ??= response.model;
      predictions.push(...response.predictions);
      inferenceMs += response.timing.inferenceMs;
    }
    return { model: model!, predictions, timing: { inferenceMs } };
  }

  private async invokeWithRetries(
    instances: InferenceInstance[],
    signal: AbortSignal | undefined,
  ): Promise<InferenceResponse> {
    const body = Buffer.from(JSON.stringify({ instances }));
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      try {
        return this.parse(await this.send(body, signal), instances);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (isThrottled(err)) this.onThrottled();
        const failure = classify(err);
        if (!failure.retryable || attempt >= this.maxAttempts) {
          throw new InferenceError(failure.code, `${failure.message} (after ${attempt} attempt(s))`, {
            cause: err,
            attempts: attempt,
          });
        }
        await sleep(this.backoff(attempt), signal);
      }
    }
  }

  private async send(body: Uint8Array, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const abortSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const out = await this.client.send(
        new InvokeEndpointCommand({
          EndpointName: this.endpointName,
          ContentType: INFERENCE_CONTENT_TYPE,
          Accept: INFERENCE_CONTENT_TYPE,
          Body: body,
        }),
        { abortSignal },
      );
      if (!out.Body) throw new InferenceError('BAD_RESPONSE', 'the endpoint answered with an empty body');
      return out.Body;
    } catch (err) {
      if (timeout.aborted && !signal?.aborted) throw new TimeoutFailure(err);
      throw err;
    }
  }

  private parse(bytes: Uint8Array, instances: readonly InferenceInstance[]): InferenceResponse {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      throw new InferenceError('BAD_RESPONSE', 'the endpoint answered with a body that is not JSON', {
        cause: err,
      });
    }
    const parsed = InferenceResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new InferenceError('BAD_RESPONSE', 'the endpoint answer does not follow the inference contract', {
        cause: parsed.error,
      });
    }
    const ids = parsed.data.predictions.map((p) => p.id);
    if (ids.length !== instances.length || ids.some((id, i) => id !== instances[i]!.id)) {
      throw new InferenceError('BAD_RESPONSE', 'the endpoint answered for other instances than it was sent');
    }
    return parsed.data;
  }

  private backoff(attempt: number): number {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.random() * cap;
  }
}

function isThrottled(err: unknown): boolean {
  const name = err instanceof Error ? err.name : '';
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return name === 'ThrottlingException' || name === 'TooManyRequestsException' || status === 429;
}

/** Marks a send that ran past the per-attempt timeout. */
class TimeoutFailure extends Error {
  constructor(cause: unknown) {
    super('timed out', { cause });
  }
}

interface Failure {
  readonly code: InferenceError['code'];
  readonly retryable: boolean;
  readonly message: string;
}

/** Map whatever the SDK threw to a code, and whether another attempt may help. Messages name no values. */
function classify(err: unknown): Failure {
  if (err instanceof InferenceError) return { code: err.code, retryable: false, message: err.message };
  if (err instanceof TimeoutFailure) {
    return { code: 'ENDPOINT_TIMEOUT', retryable: true, message: 'the endpoint did not answer in time' };
  }
  const e = err as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    OriginalStatusCode?: number;
  };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  if (name === 'ModelError') {
    if (e.OriginalStatusCode === 413) {
      return {
        code: 'PAYLOAD_TOO_LARGE',
        retryable: false,
        message: 'the model container refused the payload size',
      };
    }
    return {
      code: 'MODEL_ERROR',
      retryable: false,
      message: `the model container failed the request (status ${e.OriginalStatusCode ?? 'unknown'})`,
    };
  }
  if (name === 'ValidationError') {
    // The runtime's ValidationError also says "endpoint not found": no retry will make it appear.
    return {
      code: 'ENDPOINT_UNAVAILABLE',
      retryable: false,
      message: 'the endpoint refused the request as invalid',
    };
  }
  if (status === 413)
    return { code: 'PAYLOAD_TOO_LARGE', retryable: false, message: 'the endpoint refused the payload size' };
  // The SDK's own classification: throttling (429, ModelNotReadyException), 5xx, timeouts, dropped connections.
  const aws = classifyAwsError(err);
  if (aws.retryable && status !== undefined) {
    return {
      code: 'ENDPOINT_UNAVAILABLE',
      retryable: true,
      message: `the endpoint is unavailable (${name || status})`,
    };
  }
  const networkCode = e.code ?? (e as { cause?: { code?: string } }).cause?.code;
  if (aws.kind === 'transient') {
    return {
      code:
        networkCode === 'ETIMEDOUT' || name === 'TimeoutError' ? 'ENDPOINT_TIMEOUT' : 'ENDPOINT_UNAVAILABLE',
      retryable: true,
      message: `the endpoint could not be reached (${networkCode ?? name})`,
    };
  }
  if (status !== undefined && status >= 400) {
    return {
      code: 'MODEL_ERROR',
      retryable: false,
      message: `the endpoint refused the request (status ${status})`,
    };
  }
  return {
    code: 'ENDPOINT_UNAVAILABLE',
    retryable: true,
    message: `the endpoint call failed (${name || 'unknown error'})`,
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
