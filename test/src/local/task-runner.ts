/**
 * Serves the trigger's `ecs:RunTask` on this machine: starts the worker as a child process with
 * the environment a Fargate task gets from its task definition, plus the job spec location that
 * RunTask passes as a container override, plus endpoint overrides for the local servers.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKER_ENV } from '@medimg/common';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const WORKER_MAIN = path.join(REPO_ROOT, 'worker/src/main.ts');

export interface TaskRecord {
  readonly taskArn: string;
  readonly jobId: string;
  readonly jobSpecUri: string;
  /** Which attempt of its job (JOB_ATTEMPT): 1 unless the dispatcher re-ran it. */
  readonly attempt: number;
  /** Set when the task was stopped from outside (StopTask), as ECS's stop code says. */
  stopCode?: 'EssentialContainerExited' | 'UserInitiated';
  readonly logFile: string;
  readonly done: Promise<number>;
  exitCode?: number;
}

export interface LocalTaskRunnerOptions {
  /** The task definition's environment (what infra sets), and endpoint overrides. */
  readonly environment: Readonly<Record<string, string>>;
  /** Each task's stdout/stderr (JSON log lines) goes to <logDir>/<jobId>-<n>.log. */
  readonly logDir: string;
  readonly onExit?: (task: TaskRecord) => void;
  readonly onStart?: (task: { jobId: string; taskArn: string }) => void;
  /** Each line the worker writes (its JSON logs), as it comes. */
  readonly onLine?: (task: { jobId: string; taskArn: string }, line: string) => void;
  /**
   * Start each task in the worker's own container instead (docker compose): the ECS agent of
   * worker/src/local/ecs-agent.ts, running in the worker's production image, at this URL.
   */
  readonly agentUrl?: string;
  /**
   * Longest a task (a child process) may run, in ms; past it the task is killed (SIGKILL), its log
   * says so, and it ends with exit code 128 (how a signal is recorded here), so that a worker that
   * never exits fails its test instead of hanging the run. Default 240 s: a test's task processes a
   * few files to a few dozen (the demo sets an hour).
   */
  readonly taskTimeoutMs?: number;
}

export class LocalTaskRunner {
  readonly tasks: TaskRecord[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly byArn = new Map<string, ChildProcess>();

  constructor(private readonly options: LocalTaskRunnerOptions) {}

  /** Environment added to the next tasks only (tests: fault injection). */
  extraEnvironment: Readonly<Record<string, string>> = {};
  /** Environment added to one task, by job and attempt (1 for the first): the soak's kills. */
  environmentFor?: (jobId: string, attempt: number) => Readonly<Record<string, string>>;

  async runTask(input: {
    jobId: string;
    jobSpecUri: string;
    attempt?: number;
  }): Promise<{ taskArn: string }> {
    const attempt = input.attempt ?? 1;
    const n = this.tasks.filter((t) => t.jobId === input.jobId).length + 1;
    const perTask = this.environmentFor?.(input.jobId, n) ?? {};
    const extra = this.extraEnvironment;
    await mkdir(this.options.logDir, { recursive: true });
    const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/local/${input.jobId}-${n}`;
    const logFile = path.join(this.options.logDir, `${input.jobId}-${n}.log`);
    if (this.options.agentUrl)
      return this.runInAgent({ ...input, attempt }, taskArn, logFile, this.options.agentUrl);
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...this.options.environment,
        ...extra,
        ...perTask,
        [WORKER_ENV.JOB_SPEC_URI]: input.jobSpecUri,
        [WORKER_ENV.JOB_ATTEMPT]: String(attempt),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.stdout.pipe(log, { end: false });
    if (this.options.onLine) {
      let pending = '';
      child.stdout.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line) this.options.onLine?.({ jobId: input.jobId, taskArn }, line);
      });
    }
    child.stderr.pipe(log, { end: false });
    const timeoutMs = this.options.taskTimeoutMs ?? 240_000;
    const bound = setTimeout(() => {
      log.write(
        `${JSON.stringify({ level: 'error', msg: `task killed: ran past its ${timeoutMs} ms bound` })}\n`,
      );
      child.kill('SIGKILL');
    }, timeoutMs);
    this.byArn.set(taskArn, child);
    const record: TaskRecord = {
      taskArn,
      jobId: input.jobId,
      jobSpecUri: input.jobSpecUri,
      attempt,
      logFile,
      done: new Promise<number>((resolve) => {
        child.on('close', (code, signal) => {
          clearTimeout(bound);
          this.children.delete(child);
          this.byArn.delete(taskArn);
          log.end();
          record.exitCode = code ?? (signal ? 128 : 1);
          this.options.onExit?.(record);
          resolve(record.exitCode);
        });
      }),
    };
    this.tasks.push(record);
    this.options.onStart?.({ jobId: input.jobId, taskArn });
    return { taskArn };
  }

  /** RunTask through the ECS agent in the worker's container; its log lines are polled back. */
  private async runInAgent(
    input: { jobId: string; jobSpecUri: string; attempt: number },
    taskArn: string,
    logFile: string,
    agentUrl: string,
  ): Promise<{ taskArn: string }> {
    const environment = {
      ...this.options.environment,
      ...this.extraEnvironment,
      [WORKER_ENV.JOB_ATTEMPT]: String(input.attempt),
    };
    // The worker's container may still be starting: a refused connection is retried for a minute.
    let started: Response | undefined;
    for (let attempt = 0; !started; attempt++) {
      started = await fetch(`${agentUrl}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jobId: input.jobId, jobSpecUri: input.jobSpecUri, environment }),
      }).catch((error: unknown) => {
        if (attempt >= 120) throw error;
        return undefined;
      });
      if (!started) await new Promise((r) => setTimeout(r, 500));
    }
    if (!started.ok) throw new Error(`the ECS agent refused the task (${started.status})`);
    const { taskId } = (await started.json()) as { taskId: string };
    const log = createWriteStream(logFile);
    let finish: (code: number) => void = () => {};
    const record: TaskRecord = {
      taskArn,
      jobId: input.jobId,
      jobSpecUri: input.jobSpecUri,
      attempt: input.attempt,
      logFile,
      done: new Promise<number>((resolve) => {
        finish = resolve;
      }),
    };
    const poll = async (): Promise<void> => {
      let seen = 0;
      for (;;) {
        await new Promise((r) => setTimeout(r, 250));
        const res = await fetch(`${agentUrl}/tasks/${taskId}?from=${seen}`).catch(() => undefined);
        if (!res?.ok) continue;
        const body = (await res.json()) as { exitCode: number | null; lines: string[] };
        seen += body.lines.length;
        for (const line of body.lines) {
          log.write(`${line}\n`);
          this.options.onLine?.({ jobId: input.jobId, taskArn }, line);
        }
        if (body.exitCode !== null) {
          log.end();
          record.exitCode = body.exitCode;
          this.options.onExit?.(record);
          finish(body.exitCode);
          return;
        }
      }
    };
    void poll();
    this.tasks.push(record);
    this.options.onStart?.({ jobId: input.jobId, taskArn });
    return { taskArn };
  }

  /** Resolves when every task started so far (and any they cause) has exited. */
  async idle(): Promise<void> {
    let seen = -1;
    while (seen !== this.tasks.length) {
      seen = this.tasks.length;
      await Promise.all(this.tasks.map((t) => t.done));
    }
  }

  /** ecs:StopTask: the task ends as a stopped Fargate task does (SIGTERM, then SIGKILL). */
  async stopTask(taskArn: string): Promise<void> {
    const child = this.byArn.get(taskArn);
    const record = this.tasks.find((t) => t.taskArn === taskArn);
    if (!child || !record) return;
    record.stopCode = 'UserInitiated';
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  }

  /** Tasks still running (ecs:ListTasks with desiredStatus RUNNING), up to `atMost`. */
  async countRunning(atMost: number): Promise<number> {
    return Math.min(atMost, this.byArn.size);
  }

  stop(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}

/** The warn and error lines of a task's log, to explain a failed assertion on its exit code. */
export async function taskProblems(task: TaskRecord): Promise<string> {
  const lines = (await readFile(task.logFile, 'utf8').catch(() => '')).split('\n');
  const problems = lines.filter((l) => /"level":"(warn|error)"/.test(l) || (l && !l.startsWith('{')));
  return `task ${task.jobId} exited ${task.exitCode}; log problems:\n${problems.slice(-20).join('\n')}`;
}
