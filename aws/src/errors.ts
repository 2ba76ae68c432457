/**
 * One reading of what an AWS SDK v3 call threw, for every adapter: its HTTP status, and whether
 * another attempt may help, after the SDK's own retry classification (@smithy/core/retry, the
 * same rules the SDK's standard retry strategy applies) instead of hand-kept lists of error names.
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

/**
 * - `throttling`: the service asked us to slow down (429, throttling error names);
 * - `transient`: a timeout, a dropped or refused connection, a 500/502/503/504;
 * - `server`: any other 5xx;
 * - `client`: the request itself was refused (4xx, validation, permissions); retrying will not help.
 */
export type AwsErrorKind = 'throttling' | 'transient' | 'server' | 'client';

export interface AwsErrorClass {
  readonly kind: AwsErrorKind;
  readonly retryable: boolean;
  /** The SDK error's name (`NoSuchKey`, `ThrottlingException`); never its message, which can name a key. */
  readonly name: string;
  readonly status?: number;
}

type SdkErrorLike = {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
};

const asSdkError = (err: unknown): SdkErrorLike & { name: string; message: string } => {
  const e = typeof err === 'object' && err !== null ? (err as SdkErrorLike) : {};
  return Object.assign(Object.create(e) as SdkErrorLike, {
    name: typeof e.name === 'string' ? e.name : '',
    message: typeof e.message === 'string' ? e.message : '',
  });
};

export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as SdkErrorLike).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export function classifyAwsError(err: unknown): AwsErrorClass {
  const e = asSdkError(err);
  const status = httpStatusOf(err);
  const base = { name: e.name || 'unknown', ...(status !== undefined ? { status } : {}) };
  // biome-ignore lint/suspicious/noExplicitAny: the classifiers take the SDK's SdkError shape
  const sdk = e as any;
  if (isThrottlingError(sdk)) return { ...base, kind: 'throttling', retryable: true };
  if (isTransientError(sdk)) return { ...base, kind: 'transient', retryable: true };
  if (isServerError(sdk)) return { ...base, kind: 'server', retryable: true };
  return { ...base, kind: 'client', retryable: false };
}
