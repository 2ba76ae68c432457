/**
 * The dispatcher's core (pure: its ports are injected). It starts worker tasks under a cap, stops
 * them at their time limit, and on each stopped task decides: done, retry after a backoff, or
 * dead-letter with an operations message. docs/decisions/014-job-dispatch-and-retries.md.
 */
import { type MetricsSink, noMetrics } from '@medimg/common';
import { errorCode } from '../errors.ts';
import { type Logger, silentLogger } from '../logger.ts';
import type {
  AttemptRecord,
  DeadLetterRecord,
  JobLedger,
  StartMessage,
  TaskStopped,
  TimeLimitMessage,
} from './model.ts';
import type { DispatchQueue, LedgerStore, OpsNotifier, TaskControl } from './ports.ts';

export interface DispatcherConfig {
  /** Attempts per job, the first included. */
  readonly maxAttempts: number;
  /** Worker tasks running at once; a start beyond it waits in the queue. */
  readonly maxRunningTasks: number;
  /** Backoff before attempt n+1: base * 2^(n-1) seconds, at most 900. */
  readonly retryBaseDelaySeconds: number;
  /** A task running longer than this is stopped (and its stop is a failed attempt). */
  readonly taskTimeLimitSeconds: number;
}

export interface DispatcherDeps {
  readonly ledger: LedgerStore;
  readonly queue: DispatchQueue;
  readonly tasks: TaskControl;
  readonly ops: OpsNotifier;
  readonly config: DispatcherConfig;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  readonly metrics?: MetricsSink;
}

/** SQS delays a message 15 minutes at most; longer waits hop. */
export const MAX_DELAY_SECONDS = 900;

export type StartOutcome = 'started' | 'deferred' | 'duplicate' | 'finished-already';
export type TimeLimitOutcome = 'not-running' | 'waiting' | 'stopped';
export type StoppedOutcome =
  | 'succeeded'
  | 'retry-scheduled'
  | 'dead-lettered'
  | 'duplicate'
  | 'after-success';

export function backoffSeconds(attempt: number, baseSeconds: number): number {
  return Math.min(MAX_DELAY_SECONDS, baseSeconds * 2 ** Math.max(0, attempt - 1));
}

export class Dispatcher {
  private readonly clock: () => Date;
  private readonly log: Logger;
  private readonly metrics: MetricsSink;

  constructor(private readonly deps: DispatcherDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.log = deps.logger ?? silentLogger;
    this.metrics = deps.metrics ?? noMetrics;
  }

  private count(name: string, value = 1): void {
    this.metrics.emit({ dimensions: { Service: 'dispatcher' }, metrics: [{ name, value, unit: 'Count' }] });
  }

  private async save(ledger: JobLedger, state: JobLedger['state']): Promise<void> {
    ledger.state = state;
    ledger.updatedAt = this.clock().toISOString();
    await this.deps.ledger.write(ledger);
  }

  /**
   * Starts an attempt unless the job already finished or this attempt already has a task. Resolves
   * to 'deferred' at the cap: the caller leaves the message on the queue, to come back later.
   * RunTask failures propagate (TaskLaunchError) so that the message is retried too.
   */
  async start(msg: StartMessage): Promise<StartOutcome> {
    const { jobId, attempt } = msg;
    const ledger: JobLedger = (await this.deps.ledger.read(jobId)) ?? {
      version: 1,
      jobId,
      jobSpecUri: msg.jobSpecUri,
      state: 'queued',
      attempts: [],
      updatedAt: this.clock().toISOString(),
    };
    if (ledger.state === 'succeeded' || ledger.state === 'dead-lettered') {
      this.log.info('job finished already: nothing started', { jobId, counts: { attempt } });
      return 'finished-already';
    }
    if (ledger.attempts.some((a) => a.attempt >= attempt && a.taskArn !== undefined)) {
      this.log.info('attempt started already', { jobId, counts: { attempt } });
      return 'duplicate';
    }
    const { maxRunningTasks } = this.deps.config;
    const running = await this.deps.tasks.countRunning(maxRunningTasks);
    if (running >= maxRunningTasks) {
      this.count('JobsDeferred');
      this.log.info('task cap reached: job waits in the queue', { jobId, counts: { running, attempt } });
      return 'deferred';
    }
    let taskArn: string;
    try {
      ({ taskArn } = await this.deps.tasks.runTask({ jobId, jobSpecUri: ledger.jobSpecUri, attempt }));
    } catch (err) {
      this.count('RunTaskFailures');
      this.log.warn('RunTask failed', { jobId, code: errorCode(err), counts: { attempt } });
      throw err;
    }
    const now = this.clock();
    const limit = this.deps.config.taskTimeLimitSeconds;
    const deadline = new Date(now.getTime() + limit * 1000).toISOString();
    ledger.attempts = ledger.attempts.filter((a) => a.attempt !== attempt);
    ledger.attempts.push({ attempt, taskArn, startedAt: now.toISOString(), timeLimitAt: deadline });
    await this.save(ledger, 'running');
    await this.deps.queue.send(
      { kind: 'time-limit', version: 1, jobId, attempt, taskArn, deadline },
      Math.min(MAX_DELAY_SECONDS, limit),
    );
    this.count('TasksStarted');
    if (attempt > 1) this.count('TaskRetries');
    this.log.info('task started', { jobId, taskArn, counts: { attempt } });
    return 'started';
  }

  /** Stops the task when its time is up and it still runs; otherwise looks again later. */
  async timeLimit(msg: TimeLimitMessage): Promise<TimeLimitOutcome> {
    const ledger = await this.deps.ledger.read(msg.jobId);
    const record = ledger?.attempts.find((a) => a.taskArn === msg.taskArn);
    if (!ledger || !record || record.stoppedAt !== undefined) return 'not-running';
    const remainingMs = Date.parse(msg.deadline) - this.clock().getTime();
    if (remainingMs > 0) {
      await this.deps.queue.send(msg, Math.min(MAX_DELAY_SECONDS, Math.ceil(remainingMs / 1000)));
      return 'waiting';
    }
    await this.deps.tasks.stopTask(msg.taskArn, 'medimg: task time limit reached');
    record.timedOut = true;
    await this.save(ledger, ledger.state);
    this.count('TasksTimedOut');
    this.log.warn('task stopped at its time limit', { jobId: msg.jobId, taskArn: msg.taskArn });
    return 'stopped';
  }

  /** A worker task stopped: record it, then finish, retry after a backoff, or dead-letter. */
  async taskStopped(ev: TaskStopped): Promise<StoppedOutcome> {
    const { jobId } = ev;
    const ledger: JobLedger = (await this.deps.ledger.read(jobId)) ?? {
      version: 1,
      jobId,
      jobSpecUri: ev.jobSpecUri,
      state: 'running',
      attempts: [],
      updatedAt: this.clock().toISOString(),
    };
    let record: AttemptRecord | undefined = ledger.attempts.find((a) => a.taskArn === ev.taskArn);
    if (record?.stoppedAt !== undefined) return 'duplicate';
    if (!record) {
      // A task the dispatcher did not start (an operator's run-task) still counts.
      record = { attempt: ev.attempt, taskArn: ev.taskArn };
      ledger.attempts.push(record);
    }
    record.stoppedAt = this.clock().toISOString();
    if (ev.exitCode !== undefined) record.exitCode = ev.exitCode;
    if (ev.stopCode !== undefined) record.stopCode = ev.stopCode;
    const succeeded = ev.exitCode === 0 && !record.timedOut;
    record.outcome = succeeded ? 'succeeded' : record.timedOut ? 'timed-out' : 'failed';
    const fields = {
      jobId,
      taskArn: ev.taskArn,
      code: ev.stopCode ?? 'none',
      counts: { attempt: record.attempt, exitCode: ev.exitCode ?? -1 },
    };

    if (succeeded) {
      await this.save(ledger, 'succeeded');
      this.log.info('job succeeded', fields);
      return 'succeeded';
    }
    if (ledger.state === 'succeeded') {
      // An older attempt stopping late changes nothing: the job is done.
      await this.save(ledger, 'succeeded');
      return 'after-success';
    }
    this.count('TasksFailed');
    const attempts = Math.max(...ledger.attempts.map((a) => a.attempt));
    if (attempts < this.deps.config.maxAttempts) {
      const delay = backoffSeconds(attempts, this.deps.config.retryBaseDelaySeconds);
      await this.save(ledger, 'retry-scheduled');
      await this.deps.queue.send(
        { kind: 'start', version: 1, jobId, jobSpecUri: ledger.jobSpecUri, attempt: attempts + 1 },
        delay,
      );
      this.log.warn('task failed: retry scheduled', {
        ...fields,
        counts: { ...fields.counts, delaySeconds: delay },
      });
      return 'retry-scheduled';
    }

    const deadLetter: DeadLetterRecord = {
      version: 1,
      jobId,
      jobSpecUri: ledger.jobSpecUri,
      deadLetteredAt: this.clock().toISOString(),
      attempts: ledger.attempts.map(({ attempt, exitCode, stopCode, outcome }) => ({
        attempt,
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(stopCode !== undefined ? { stopCode } : {}),
        ...(outcome !== undefined ? { outcome } : {}),
      })),
    };
    await this.deps.ledger.writeDeadLetter(deadLetter);
    await this.save(ledger, 'dead-lettered');
    this.count('JobsDeadLettered');
    this.log.error('job dead-lettered', fields);
    await this.deps.ops.publish(
      `[medimg ops] job ${jobId} failed ${attempts} attempts: dead-lettered`,
      [
        `Job ${jobId} failed on each of its ${attempts} attempts and will not be retried by itself.`,
        '',
        ...deadLetter.attempts.map(
          (a) =>
            `  attempt ${a.attempt}: ${a.outcome ?? 'failed'}, exit code ${a.exitCode ?? 'none'}, stop code ${a.stopCode ?? 'none'}`,
        ),
        '',
        `Dead-letter record: jobs/${jobId}.dead-letter.json in the raw bucket.`,
        `Job record: jobs/${jobId}/status.json in the processed bucket; worker logs by job id.`,
        'To re-run it once fixed: docs/runbook.md, "Re-run a job".',
      ].join('\n'),
    );
    return 'dead-lettered';
  }
}
