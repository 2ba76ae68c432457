/**
 * The worker's logs (common/src/logger.ts), with a job id and a step name as correlation keys.
 * Callers pass codes, counts and pseudonymous ids only: never a raw key, a DICOM value or an error
 * message that may embed one (libraries put values into their messages).
 */
import { codeOf, createJsonLogger, type Logger as JsonLogger, type LogLevel } from '@medimg/common';

export type { LogLevel };
export type LogFields = Readonly<
  Record<string, string | number | boolean | undefined | null | readonly string[]>
>;
export type Logger = JsonLogger<LogFields>;

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return createJsonLogger<LogFields>({ service: 'medimg-worker', ...options });
}

/** A logger that drops everything (tests, and the CLI's quiet mode). */
export const silentLogger: Logger = createLogger({ write: () => {} });

/** The safe part of an error for a log line: its stable code and class, never its message. */
export function errorFields(error: unknown): { errorCode: string; errorType: string } {
  if (error instanceof Error) return { errorCode: codeOf(error, 'INTERNAL_ERROR'), errorType: error.name };
  return { errorCode: 'INTERNAL_ERROR', errorType: typeof error };
}
