import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  INFERENCE_CONTENT_TYPE,
  type InferenceInstance,
  type InferenceRequest,
  type InferenceResponse,
  type ModelMetadata,
  PAYLOAD_LIMIT_REALTIME,
  PAYLOAD_LIMIT_SERVERLESS,
} from '@medimg/common';
import { z } from 'zod';
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
}

const range = z.object({ min: z.number(), max: z.number() });
const codeList = z.array(z.string().min(1).max(64));

/** Model metadata as the container serves it (`{"metadata":true}`): scope rules, intended use, performance. */
export const metadataSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  labels: z.array(z.string().min(1)).min(1),
  intendedUse: z.string().min(1).max(400),
  scope: z.object({
    rules: z
      .array(
        z.object({
          name: z.string().regex(/^[a-z0-9_]{1,32}$/),
          description: z.string().min(1).max(80),
          modalities: codeList,
          sopClasses: z.array(z.string().regex(/^[0-9.]{1,64}$/)),
          bodyParts: codeList,
          bodyPartRequired: z.boolean(),
          photometric: codeList,
          sizePx: range,
          pixelSpacingMm: range,
          fieldOfViewMm: range,
        }),
      )
      .min(1),
  }),
  criticalThresholds: z.record(z.string(), z.number().min(0).max(1)),
  performance: z.object({
    falseAlarmsPer100Studies: z.object({
      value: z.number().min(0).max(100),
      ci95: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]),
      studies: z.number().int().min(0),
      target: z.number().min(0).max(100),
    }),
    syntheticSensitivity: z.number().min(0).max(1),
  }),
  kind: z.enum(['reference', 'site']),
});

const responseSchema = z.object({
  model: z.object({ name: z.string().min(1), version: z.string().min(1) }),
  predictions: z.array(
    z.object({
      id: z.string(),
      notAssessed: z.literal('OUT_OF_DISTRIBUTION').optional(),
      ood: z.object({ distance: z.number().min(0), limit: z.number().min(0) }).optional(),
      scores: z.record(z.string(), z.number().min(0).max(1)),
      findings: z.array(
        z.object({
          label: z.string().min(1),
          score: z.number().min(0).max(1),
          box: z
            .object({
              x: z.number().min(0).max(1),
              y: z.number().min(0).max(1),
              width: z.number().min(0).max(1),
              height: z.number().min(0).max(1),
            })
            .optional(),
        }),
      ),
    }),
  ),
  timing: z.object({ inferenceMs: z.number().min(0) }),
});

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

  constructor(options: SageMakerInferenceOptions) {
    if (!options.endpointName) throw new TypeError('endpointName is required');
    this.endpointName = options.endpointName;
    // Retries are ours (with the error mapping below), so the default client makes one attempt per send.
    this.client = options.client ?? new SageMakerRuntimeClient({ maxAttempts: 1 });
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 4));
    this.payloadLimitBytes =
      options.payloadLimitBytes ?? (options.serverless ? PAYLOAD_LIMIT_SERVERLESS : PAYLOAD_LIMIT_REALTIME);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
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
    const parsed = z.object({ metadata: metadataSchema }).safeParse(json);
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
    const parsed = responseSchema.safeParse(json);
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

const RETRYABLE_NAMES = new Set([
  'ServiceUnavailable',
  'InternalFailure',
  'InternalDependencyException',
  'ModelNotReadyException',
  'ThrottlingException',
  'TooManyRequestsException',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);

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
  if (RETRYABLE_NAMES.has(name) || status === 429 || (status !== undefined && status >= 500)) {
    return {
      code: 'ENDPOINT_UNAVAILABLE',
      retryable: true,
      message: `the endpoint is unavailable (${name || status})`,
    };
  }
  const networkCode = e.code ?? (e as { cause?: { code?: string } }).cause?.code;
  if ((networkCode && NETWORK_CODES.has(networkCode)) || name === 'TimeoutError') {
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
