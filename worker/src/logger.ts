/**
 * Structured JSON logs, one line per event (Powertools' shape). Correlation keys: jobId, step.
 * Callers pass codes, counts and pseudonymous ids only: never a raw key, a DICOM value or an error
 * message that may embed one (libraries put values into their messages).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Readonly<
  Record<string, string | number | boolean | undefined | null | readonly string[]>
>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly service?: string;
  readonly write?: (line: string) => void;
  readonly base?: LogFields;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = { service: options.service ?? 'medimg-worker', ...options.base };
  const log = (at: LogLevel, message: string, fields?: LogFields) => {
    if (ORDER[at] < ORDER[level]) return;
    write(JSON.stringify({ level: at, time: new Date().toISOString(), message, ...base, ...fields }));
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, and the CLI's quiet mode). */
export const silentLogger: Logger = createLogger({ write: () => {} });

/** The safe part of an error for a log line: its stable code and class, never its message. */
export function errorFields(error: unknown): { errorCode: string; errorType: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { errorCode: typeof code === 'string' ? code : 'INTERNAL_ERROR', errorType: error.name };
  }
  return { errorCode: 'INTERNAL_ERROR', errorType: typeof error };
}
