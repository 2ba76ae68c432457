/**
 * Structured JSON logs, one line per event (Powertools' shape), shared by the worker and the
 * trigger. Each caller fixes the type of its fields: the trigger's admit no free-form string at
 * all, so a raw key or a file name (which may carry PHI) has nowhere to go.
 */
import { CodedError } from './errors.ts';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger<F extends object> {
  debug(message: string, fields?: F): void;
  info(message: string, fields?: F): void;
  warn(message: string, fields?: F): void;
  error(message: string, fields?: F): void;
  /** A logger that adds these fields (correlation keys: a job id, a step) to every line. */
  child(fields: F): Logger<F>;
}

export interface JsonLoggerOptions<F extends object> {
  readonly service: string;
  readonly level?: LogLevel;
  /** Where lines go; stdout by default (ECS and Lambda ship it to CloudWatch Logs). */
  readonly write?: (line: string) => void;
  readonly clock?: () => Date;
  readonly base?: F;
}

export function createJsonLogger<F extends object>(options: JsonLoggerOptions<F>): Logger<F> {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const clock = options.clock ?? (() => new Date());
  const log = (level: LogLevel) => (message: string, fields?: F) => {
    if (ORDER[level] < min) return;
    write(
      JSON.stringify({
        level,
        time: clock().toISOString(),
        message,
        service: options.service,
        ...options.base,
        ...fields,
      }),
    );
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createJsonLogger({ ...options, base: { ...options.base, ...fields } as F }),
  };
}

/** LOG_LEVEL as a level: unset means info; anything else that is not a level is a configuration error. */
export function parseLogLevel(value: string | undefined): LogLevel {
  if (value === undefined || value === '') return 'info';
  const v = value.toLowerCase();
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  throw new CodedError('CONFIG_INVALID', 'LOG_LEVEL: expected debug, info, warn or error');
}
