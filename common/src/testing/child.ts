/**
 * Test support: child processes that cannot hang the test run. A child that never exits would block
 * vitest (and CI) for good; these helpers bound it, kill it past its bound (SIGKILL: a child that
 * ignores SIGTERM is stopped too), and turn that - or a child that could not start, was killed by
 * a signal, or exited with a status the test did not expect - into an error that names the child.
 * The messages carry no output of the child (it could quote a DICOM file's values).
 */
import {
  type ChildProcess,
  type SpawnOptions,
  type SpawnSyncOptions,
  spawn,
  spawnSync,
} from 'node:child_process';

export interface ChildBound {
  /** What the child is, for the messages ("the medimg CLI", "dcmdump"). */
  readonly name: string;
  /** Longest it may run, in ms: below the test's own timeout, so the failure names the child. */
  readonly timeoutMs: number;
}

export interface BoundedRunOptions
  extends Omit<SpawnSyncOptions, 'timeout' | 'killSignal' | 'encoding'>,
    ChildBound {
  /** Exit statuses that are not a failure: default 0; 'any' when the test asserts the status itself. */
  readonly exit?: number | readonly number[] | 'any';
  /** Default utf8. */
  readonly encoding?: BufferEncoding;
  /**
   * A child ended by a signal (not the bound's kill) is not a failure: status null, `signal` set. For
   * a tool the test runs on inputs it may crash on (dciodvfy on some public files).
   */
  readonly signalOk?: boolean;
}

export interface BoundedRun {
  /** Null only with `signalOk`, when a signal ended the child. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * spawnSync, bounded: throws when the child could not start, ran past `timeoutMs`, was killed by a
 * signal, or exited with a status not in `exit`.
 */
export function runBounded(command: string, args: readonly string[], options: BoundedRunOptions): BoundedRun {
  const { name, timeoutMs, exit = 0, encoding = 'utf8', signalOk = false, ...spawnOptions } = options;
  const r = spawnSync(command, args, {
    maxBuffer: 256 * 1024 * 1024,
    ...spawnOptions,
    encoding,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT') throw new Error(`${name} ran past its ${timeoutMs} ms bound and was killed`);
  if (r.error) throw new Error(`${name} could not run (${code ?? r.error.name})`);
  const output = { signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  if (r.status === null) {
    if (signalOk) return { status: null, ...output };
    throw new Error(`${name} was killed by ${r.signal ?? 'a signal'}`);
  }
  const allowed = exit === 'any' || (typeof exit === 'number' ? [exit] : exit).includes(r.status);
  if (!allowed) throw new Error(`${name} exited ${r.status} (expected ${String(exit)})`);
  return { status: r.status, ...output };
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * The exit of a started child, bounded: past `timeoutMs` the child is killed (SIGKILL) and the
 * promise rejects with an error that names it; it also rejects when the child could not start.
 * Without `exit`, any status resolves (the caller checks it); with it, another status or a signal
 * rejects.
 */
export function exitOf(
  child: ChildProcess,
  bound: ChildBound & { readonly exit?: number | readonly number[] },
): Promise<ChildExit> {
  const { name, timeoutMs, exit } = bound;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} ran past its ${timeoutMs} ms bound and was killed`));
    }, timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`${name} could not run (${error.code ?? error.name})`));
    });
    // 'close', not 'exit': the child's output is read whole by then.
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      if (exit !== undefined) {
        const allowed = typeof exit === 'number' ? [exit] : exit;
        if (code === null) return reject(new Error(`${name} was killed by ${signal ?? 'a signal'}`));
        if (!allowed.includes(code))
          return reject(new Error(`${name} exited ${code} (expected ${String(exit)})`));
      }
      resolve({ code, signal });
    });
  });
}

/**
 * spawn, bounded, without blocking this process (whose event loop may serve the servers the child
 * talks to): the child's exit status and its whole output once it has closed. Rejects like
 * `exitOf`; the test asserts the status.
 */
export async function runBoundedAsync(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'stdio'> & ChildBound,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const { name, timeoutMs, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const { code } = await exitOf(child, { name, timeoutMs });
  return { status: code, stdout, stderr };
}
