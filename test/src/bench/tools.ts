/**
 * Running a command as a user runs it, under /usr/bin/time -v: wall time (measured here, start-up
 * included), CPU time (user + system, of every thread and waited-for child), peak RSS (the process
 * tree's largest "Maximum resident set size"), exit status.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Timed {
  readonly seconds: number;
  /** User + system CPU seconds. */
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'medimg-bench-time-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

export function timed(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Timed {
  const report = path.join(scratch, 'time.txt');
  const start = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', '-o', report, command, ...args], {
    encoding: 'utf8',
    env: env ?? process.env,
    maxBuffer: 256 * 1024 * 1024,
  });
  const seconds = (performance.now() - start) / 1000;
  const text = readFileSync(report, 'utf8');
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1] ?? Number.NaN);
  return {
    seconds,
    cpuSeconds: cpuSecondsOf(text),
    peakRssMb: kb / 1024,
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

/** User + system seconds from a `/usr/bin/time -v` report (NaN when either is missing). */
export function cpuSecondsOf(report: string): number {
  const field = (name: string) =>
    Number(new RegExp(`${name} time \\(seconds\\): ([\\d.]+)`).exec(report)?.[1] ?? Number.NaN);
  return field('User') + field('System');
}

/** Runs once per file; total wall time, largest peak RSS, how many exited 0. */
export function timedPerFile(
  command: string,
  files: readonly string[],
  args: (file: string, index: number) => string[],
): { seconds: number; cpuSeconds: number; peakRssMb: number; ok: number } {
  let seconds = 0;
  let cpuSeconds = 0;
  let peak = 0;
  let ok = 0;
  for (const [i, f] of files.entries()) {
    const t = timed(command, args(f, i));
    seconds += t.seconds;
    cpuSeconds += t.cpuSeconds;
    if (Number.isFinite(t.peakRssMb)) peak = Math.max(peak, t.peakRssMb);
    if (t.status === 0) ok += 1;
  }
  return { seconds, cpuSeconds, peakRssMb: peak, ok };
}

/** First line of a command's output (a tool's version), or 'not found'. */
export function versionOf(command: string, args: readonly string[], pattern?: RegExp): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) return 'not found';
  const text = `${r.stdout}\n${r.stderr}`;
  const m = pattern ? pattern.exec(text) : undefined;
  return (m?.[0] ?? text.trim().split('\n')[0] ?? '').trim();
}
