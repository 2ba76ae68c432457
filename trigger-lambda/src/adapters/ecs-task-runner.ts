import {
  ECSClient,
  type ECSClientConfig,
  type Failure,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { awsClientConfig, classifyAwsError } from '@medimg/aws';
import { JOB_ATTEMPT_ENV, JOB_SPEC_ENV } from '@medimg/common';
import type { EcsTaskConfig } from '../config.ts';
import { TaskLaunchError, type TaskLaunchErrorCode } from '../errors.ts';
import { type Logger, silentLogger } from '../logger.ts';
import type { RunTaskInput, TaskRunner } from '../ports.ts';

export interface EcsTaskRunnerOptions {
  readonly client?: ECSClient;
  readonly clientConfig?: ECSClientConfig;
  /** RunTask calls per job, all together (default 5). */
  readonly maxAttempts?: number;
  /** First backoff ceiling; doubles each attempt (default 250 ms). */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling (default 4 s). */
  readonly maxDelayMs?: number;
  /** Injected in tests so they do not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** [0, 1); full jitter picks the delay uniformly below the ceiling. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** RunTask `failures[].reason` values that mean "not now" rather than "never". */
const RETRYABLE_REASON = /^RESOURCE:|capacity is unavailable|insufficient capacity|timeout|internal error/i;

type Attempt =
  | { readonly ok: true; readonly taskArn: string }
  | {
      readonly ok: false;
      readonly retryable: boolean;
      readonly code: TaskLaunchErrorCode;
      readonly reasons: string[];
      readonly cause?: unknown;
    };

/**
 * TaskRunner on ECS Fargate. One task per job, the job spec location as the only override.
 *
 * - `clientToken` = job id: within ECS's idempotency window (24 h) a second RunTask for the same
 *   job returns the first task instead of starting another (DESIGN D1, README).
 * - `startedBy` = job id (<= 36 chars), so duplicates are visible in ListTasks.
 * - Retries throttling, server errors and capacity failures (`failures[]`) with exponential backoff
 *   and full jitter, `maxAttempts` calls at most; then throws TaskLaunchError.
 */
export class EcsTaskRunner implements TaskRunner {
  readonly #client: ECSClient;
  readonly #config: EcsTaskConfig;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #logger: Logger;

  constructor(config: EcsTaskConfig, options: EcsTaskRunnerOptions = {}) {
    this.#config = config;
    // The SDK's default 3 attempts per call (this runner retries the call itself too) and the
    // shared HTTP bounds (@medimg/aws), so that a silent ECS endpoint cannot hold the Lambda.
    this.#client =
      options.client ?? new ECSClient({ ...awsClientConfig({ maxAttempts: 3 }), ...options.clientConfig });
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 4000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Stops a task (the dispatcher's time limit); the reason shows in ECS and in the stopped event. */
  async stopTask(taskArn: string, reason: string): Promise<void> {
    await this.#client.send(new StopTaskCommand({ cluster: this.#config.clusterArn, task: taskArn, reason }));
  }

  /** Tasks of the family whose desired status is RUNNING (pending ones included), up to `atMost`. */
  async countRunning(atMost: number, family?: string): Promise<number> {
    let count = 0;
    let nextToken: string | undefined;
    do {
      const out = await this.#client.send(
        new ListTasksCommand({
          cluster: this.#config.clusterArn,
          desiredStatus: 'RUNNING',
          ...(family !== undefined ? { family } : {}),
          maxResults: 100,
          nextToken,
        }),
      );
      count += out.taskArns?.length ?? 0;
      nextToken = out.nextToken;
    } while (nextToken !== undefined && count < atMost);
    return count;
  }

  async runTask(input: RunTaskInput & { readonly attempt?: number }): Promise<{ taskArn: string }> {
    const attempt = input.attempt ?? 1;
    if (input.jobId.length > 36 || !/^[\x21-\x7e]+$/.test(input.jobId)) {
      throw new TaskLaunchError('TASK_LAUNCH_REJECTED', 'job id unusable as ECS startedBy/clientToken', {
        attempts: 0,
      });
    }
    const command = new RunTaskCommand({
      cluster: this.#config.clusterArn,
      taskDefinition: this.#config.taskDefinitionArn,
      launchType: 'FARGATE',
      count: 1,
      startedBy: input.jobId,
      // One task per attempt: a retry is a new RunTask, not the first one's idempotent answer.
      clientToken: attempt === 1 ? input.jobId : `${input.jobId}-attempt-${attempt}`,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [...this.#config.subnetIds],
          securityGroups: [...this.#config.securityGroupIds],
          assignPublicIp: this.#config.assignPublicIp,
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: this.#config.containerName,
            environment: [
              { name: JOB_SPEC_ENV, value: input.jobSpecUri },
              { name: JOB_ATTEMPT_ENV, value: String(attempt) },
            ],
          },
        ],
      },
    });

    const reasons: string[] = [];
    let last: Extract<Attempt, { ok: false }> | undefined;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const result = await this.#attempt(command);
      if (result.ok) return { taskArn: result.taskArn };
      last = result;
      reasons.push(...result.reasons);
      if (!result.retryable) {
        throw new TaskLaunchError(result.code, `RunTask refused (${result.code})`, {
          attempts: attempt,
          reasons,
          cause: result.cause,
        });
      }
      if (attempt < this.#maxAttempts) {
        const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
        this.#logger.warn('RunTask retry', { jobId: input.jobId, code: result.code, counts: { attempt } });
        await this.#sleep(Math.floor(this.#random() * ceiling));
      }
    }
    const code = last?.code ?? 'TASK_LAUNCH_NO_TASK';
    throw new TaskLaunchError(code, `RunTask failed after ${this.#maxAttempts} attempts (${code})`, {
      attempts: this.#maxAttempts,
      reasons,
      cause: last?.cause,
    });
  }

  async #attempt(command: RunTaskCommand): Promise<Attempt> {
    try {
      const out = await this.#client.send(command);
      const taskArn = out.tasks?.[0]?.taskArn;
      if (taskArn !== undefined) return { ok: true, taskArn };
      const failureReasons = (out.failures ?? []).map(describeFailure);
      if (failureReasons.length === 0) {
        return { ok: false, retryable: false, code: 'TASK_LAUNCH_NO_TASK', reasons: [] };
      }
      const retryable = failureReasons.some((r) => RETRYABLE_REASON.test(r));
      return {
        ok: false,
        retryable,
        code: retryable ? 'TASK_LAUNCH_CAPACITY' : 'TASK_LAUNCH_REJECTED',
        reasons: failureReasons,
      };
    } catch (err) {
      // The SDK's own classification (throttling, timeouts and dropped connections, 5xx).
      const { kind, retryable, name } = classifyAwsError(err);
      if (kind === 'throttling')
        return { ok: false, retryable: true, code: 'TASK_LAUNCH_THROTTLED', reasons: [name], cause: err };
      if (retryable) {
        return { ok: false, retryable: true, code: 'TASK_LAUNCH_SERVICE_ERROR', reasons: [name], cause: err };
      }
      return {
        ok: false,
        retryable: false,
        code: 'TASK_LAUNCH_REJECTED',
        reasons: [name],
        cause: err,
      };
    }
  }
}

/** Failure reasons are ECS vocabulary (`RESOURCE:MEMORY`, `Capacity is unavailable...`): no PHI. */
function describeFailure(f: Failure): string {
  return (f.reason ?? 'UNKNOWN').slice(0, 200);
}
