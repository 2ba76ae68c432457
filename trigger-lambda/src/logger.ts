import { createHash } from 'node:crypto';
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
  /** sha256 of a key (see hashKey), to correlate without revealing it. */
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

/** A short, stable hash of a key for logs (not reversible without the key list). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}
