/** The trigger's errors. Messages never carry a key, a file name or a batch folder name. */

export type TriggerErrorCode =
  | 'CONFIG_INVALID'
  | 'EVENT_INVALID'
  | 'MANIFEST_MISSING'
  | 'MANIFEST_INVALID'
  | 'BATCH_INCOMPLETE'
  | 'STORE_FAILED'
  | TaskLaunchErrorCode;

export type TaskLaunchErrorCode =
  /** RunTask stayed throttled through every attempt. */
  | 'TASK_LAUNCH_THROTTLED'
  /** ECS answered with capacity/resource failures through every attempt. */
  | 'TASK_LAUNCH_CAPACITY'
  /** ECS answered with server errors through every attempt. */
  | 'TASK_LAUNCH_SERVICE_ERROR'
  /** ECS refused the request (parameters, permissions, cluster) or gave a failure not worth retrying. */
  | 'TASK_LAUNCH_REJECTED'
  /** ECS answered with neither a task nor a failure. */
  | 'TASK_LAUNCH_NO_TASK';

export class TriggerError extends Error {
  readonly code: TriggerErrorCode;

  constructor(code: TriggerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TriggerError';
    this.code = code;
  }
}

export class ConfigError extends TriggerError {
  /** The environment variable (or config field) that is wrong. */
  readonly variable: string;

  constructor(variable: string, expected: string) {
    super('CONFIG_INVALID', `invalid configuration: ${variable}: ${expected}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export class TaskLaunchError extends TriggerError {
  override readonly code: TaskLaunchErrorCode;
  readonly attempts: number;
  /** ECS failure reasons (e.g. `RESOURCE:MEMORY`) seen on the attempts; they carry no PHI. */
  readonly reasons: readonly string[];

  constructor(
    code: TaskLaunchErrorCode,
    message: string,
    details: { attempts: number; reasons?: readonly string[]; cause?: unknown },
  ) {
    super(code, message, { cause: details.cause });
    this.name = 'TaskLaunchError';
    this.code = code;
    this.attempts = details.attempts;
    this.reasons = details.reasons ?? [];
  }
}

/** The stable code of anything thrown, for logs and failure accounting. */
export function errorCode(err: unknown): string {
  if (err instanceof TriggerError) return err.code;
  return 'UNEXPECTED';
}
