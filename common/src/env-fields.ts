/**
 * The zod field types the deployables' configuration schemas share, and one way to read the
 * environment with them. Every message says the expected form, never the value it got (a
 * misplaced value could be anything, a key among them).
 */
import { z } from 'zod';

/** S3's bucket naming rule (lower case, 3 to 63 characters). */
export const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const envFields = {
  bucket: () =>
    z
      .string({ error: 'expected an S3 bucket name' })
      .regex(S3_BUCKET_NAME, { error: 'expected an S3 bucket name' }),

  nonEmpty: (expected: string) => z.string({ error: expected }).trim().min(1, { error: expected }),

  /** An integer in [min, max]; with a fallback, the variable may be absent. */
  int: (min: number, max: number) => {
    const expected = `expected an integer from ${min} to ${max}`;
    return z.coerce
      .number({ error: expected })
      .int({ error: expected })
      .min(min, { error: expected })
      .max(max, { error: expected });
  },

  /** A comma-separated list, at least one item, each matching `item`. */
  csv: (what: string, item: RegExp) => {
    const expected = `expected a comma-separated list of ${what}`;
    return z
      .string({ error: expected })
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x.length > 0),
      )
      .pipe(
        z
          .array(z.string().regex(item, { error: expected }))
          .min(1, { error: `expected at least one of ${what}` }),
      );
  },

  /** `true` or `false`, read as a boolean. */
  flag: (fallback: boolean) =>
    z
      .enum(['true', 'false'], { error: 'expected true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true'),

  logLevel: () =>
    z
      .enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' })
      .default('info'),
} as const;

/** One wrong variable: its name and the form it should have. */
export interface EnvProblem {
  readonly variable: string;
  readonly expected: string;
  /**
   * Where inside the variable, dotted: the variable itself, or a place in its JSON value
   * (`CRITICAL_THRESHOLDS.nodule`); empty for a problem with the environment as a whole.
   */
  readonly path: string;
}

/**
 * Reads `env` through `schema`; on failure calls `fail` with every wrong variable (in schema order)
 * and throws what it returns, so each deployable keeps its own error type and exit path.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv,
  fail: (problems: readonly [EnvProblem, ...EnvProblem[]]) => Error,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => ({
    variable: issue.path.length > 0 ? String(issue.path[0]) : 'environment',
    expected: issue.message,
    path: issue.path.map(String).join('.'),
  }));
  throw fail(
    problems.length > 0
      ? (problems as [EnvProblem, ...EnvProblem[]])
      : [{ variable: 'environment', expected: 'invalid', path: '' }],
  );
}
