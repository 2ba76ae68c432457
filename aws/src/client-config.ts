/**
 * The one place where the production AWS SDK v3 clients get their retry strategy and their HTTP
 * time bounds (the worker, the trigger and dispatcher Lambdas, the upload API, the CLI): an
 * endpoint that accepts the connection and never answers must end a call with an error, not hold
 * a task or a Lambda until something outside stops it (issue 19, decision 019).
 *
 * The bounds are those of @smithy/node-http-handler, the handler every client uses on Node:
 * - `connectionTimeout`: the TCP (and TLS) connection must be up within `connectMs`;
 * - `socketTimeout`: the socket may stay silent at most `idleMs` at any point (no answer to a
 *   request, or a body that stops arriving): the silent endpoint's bound;
 * - `requestTimeout` with `throwOnRequestTimeout`: request sent and response headers received
 *   within `requestMs`, however the bytes trickle. Without `throwOnRequestTimeout` the handler
 *   only logs a warning when `requestTimeout` passes (the reason a first try with a plain
 *   `{ requestTimeout }` bounded nothing).
 * A timed-out attempt is a `TimeoutError`, which the standard retry strategy retries like a 5xx;
 * after `maxAttempts` the call throws, so one call lasts at most about
 * maxAttempts x (connectMs + requestMs) plus the strategy's backoff (at most 20 s between attempts),
 * and a silent endpoint costs maxAttempts x idleMs plus backoff.
 */

export interface HttpTimeouts {
  /** TCP/TLS connection set-up, ms. */
  readonly connectMs: number;
  /** Longest silence on an open socket, ms (a silent endpoint, a stalled body). */
  readonly idleMs: number;
  /** Request sent and response headers back, ms, per attempt. */
  readonly requestMs: number;
}

/**
 * 3 s to connect; 10 s of silence (S3, SNS, SQS, ECS and Secrets Manager answer in well under a
 * second, so ten seconds of nothing is an endpoint that will not answer); 5 minutes per attempt, so
 * that a large object's PUT (the request timer runs while the body is sent) is never cut.
 */
export const HTTP_TIMEOUTS: HttpTimeouts = { connectMs: 3_000, idleMs: 10_000, requestMs: 300_000 };

/** The node-http-handler options for these bounds (structurally the SDK's NodeHttpHandlerOptions). */
export interface AwsHttpHandlerOptions {
  readonly connectionTimeout: number;
  readonly socketTimeout: number;
  readonly requestTimeout: number;
  readonly throwOnRequestTimeout: true;
}

export interface AwsClientConfig {
  readonly maxAttempts: number;
  readonly retryMode: 'standard';
  readonly requestHandler: AwsHttpHandlerOptions;
}

export function httpHandlerOptions(timeouts: Partial<HttpTimeouts> = {}): AwsHttpHandlerOptions {
  const t = { ...HTTP_TIMEOUTS, ...timeouts };
  return {
    connectionTimeout: t.connectMs,
    socketTimeout: t.idleMs,
    requestTimeout: t.requestMs,
    throwOnRequestTimeout: true,
  };
}

/**
 * The configuration every production client is made with: the standard retry strategy (5 attempts
 * unless told) and the time bounds above. Spread it into the client's own settings:
 * `new SNSClient(awsClientConfig())`, `new S3Client({ ...awsClientConfig(), forcePathStyle })`.
 */
export function awsClientConfig(
  options: { readonly maxAttempts?: number; readonly timeouts?: Partial<HttpTimeouts> } = {},
): AwsClientConfig {
  return {
    maxAttempts: options.maxAttempts ?? 5,
    retryMode: 'standard',
    requestHandler: httpHandlerOptions(options.timeouts),
  };
}
