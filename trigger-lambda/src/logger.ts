import { createHmac, randomBytes } from 'node:crypto';
import { createJsonLogger, type Logger as JsonLogger, type LogLevel } from '@medimg/common';

/**
 * The trigger's logs (common/src/logger.ts). The fields are typed on purpose: there is no
 * place for a free-form string, so a raw key, a file name or a batch folder name (which may carry
 * PHI) has nowhere to go. Log counts, job ids, message ids, error codes and key hashes.
 */
export type { LogLevel } from '@medimg/common';
export { parseLogLevel } from '@medimg/common';

export interface LogFields {
  readonly jobId?: string;
  /** SQS message id: an opaque id chosen by SQS. */
  readonly messageId?: string;
  /** A stable error code (TriggerError.code or an SDK error name). */
  readonly code?: string;
  /** Keyed hash of a key (see hashKey), to correlate lines without revealing the key. */
  readonly keyHash?: string;
  readonly taskArn?: string;
  readonly source?: 'manifest' | 'prefix';
  readonly counts?: Readonly<Record<string, number>>;
}

export type Logger = JsonLogger<LogFields>;

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Where lines go; stdout by default (the Lambda runtime ships it to CloudWatch). */
  readonly write?: (line: string) => void;
  readonly clock?: () => Date;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return createJsonLogger<LogFields>({ service: 'trigger', ...options });
}

export const silentLogger: Logger = createLogger({ write: () => {} });

/**
 * HMAC key of this execution environment, drawn at cold start and never stored: a plain hash of an
 * object key could be checked against a list of guessed names (a patient's name in a folder).
 */
const LOG_HASH_KEY = randomBytes(32);

/**
 * A short hash of an object key for logs: stable within one execution environment (lines of one
 * invocation, and of the warm invocations after it, correlate), unrelated across environments,
 * and not checkable against guessed names.
 */
export function hashKey(key: string): string {
  return createHmac('sha256', LOG_HASH_KEY).update(key).digest('hex').slice(0, 16);
}
