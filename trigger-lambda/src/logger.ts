import { createHash } from 'node:crypto';

/**
 * A tiny structured logger: one JSON line per event. The fields are typed on purpose: there is no
 * place for a free-form string, so a raw key, a file name or a batch folder name (which may carry
 * PHI) has nowhere to go. Log counts, job ids, message ids, error codes and key hashes.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

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

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Where lines go; stdout by default (the Lambda runtime ships it to CloudWatch). */
  readonly write?: (line: string) => void;
  readonly clock?: () => Date;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const clock = options.clock ?? (() => new Date());
  const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    write(JSON.stringify({ level, time: clock().toISOString(), message, service: 'trigger', ...fields }));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const v = value?.toLowerCase();
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : 'info';
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A short, stable hash of a key for logs (not reversible without the key list). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}
