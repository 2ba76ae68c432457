/** The trigger's errors. Messages never carry a key, a file name or a batch folder name. */
import { CodedError, codeOf } from '@medimg/common';

export type TriggerErrorCode =
  | 'CONFIG_INVALID'
  | 'EVENT_INVALID'
  | 'MANIFEST_MISSING'
  | 'MANIFEST_INVALID'
  | 'BATCH_INCOMPLETE'
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

export class TriggerError<C extends TriggerErrorCode = TriggerErrorCode> extends CodedError<C> {
  override name = 'TriggerError';
}

export class ConfigError extends TriggerError<'CONFIG_INVALID'> {
  /** The environment variable (or config field) that is wrong. */
  readonly variable: string;

  constructor(variable: string, expected: string) {
    super('CONFIG_INVALID', `invalid configuration: ${variable}: ${expected}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export class TaskLaunchError extends TriggerError<TaskLaunchErrorCode> {
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
    this.attempts = details.attempts;
    this.reasons = details.reasons ?? [];
  }
}

/** The stable code of anything thrown (a TriggerError's, an object store's), for logs and failure accounting. */
export const errorCode = (err: unknown): string => codeOf(err, 'UNEXPECTED');
