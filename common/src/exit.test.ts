import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exitOf, runBoundedAsync } from './testing/child.ts';

const exitModule = fileURLToPath(new URL('./exit.ts', import.meta.url));

/** A child that writes `kb` kB to stdout and a line to stderr, then ends through `exitWhenFlushed`. */
function writerChild(kb: number, maxWaitMs?: number): string {
  return [
    `import { exitWhenFlushed } from ${JSON.stringify(exitModule)};`,
    `process.stdout.write('x'.repeat(${kb} * 1024));`,
    "process.stderr.write('done\\n');",
    `exitWhenFlushed(3${maxWaitMs === undefined ? '' : `, ${maxWaitMs}`});`,
  ].join('\n');
}

describe('exitWhenFlushed', () => {
  it('exits with the code after the whole of a large write to a pipe (process.exit alone cuts it at 64 kB)', async () => {
    const run = await runBoundedAsync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', writerChild(1024)],
      { name: 'the writer child', timeoutMs: 30_000 },
    );
    expect(run.status).toBe(3);
    expect(run.stdout.length).toBe(1024 * 1024);
    expect(run.stderr).toBe('done\n');
  });

  it('exits with the code all the same when the reader stops reading (a stuck pipe), after its bound', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', writerChild(1024, 1500)],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    // Not read while the child runs: the pipe fills and the child's write stays pending.
    child.stdout.pause();
    let read = 0;
    child.once('exit', () => child.stdout.on('data', (d: Buffer) => (read += d.length)));
    const exit = await exitOf(child, { name: 'the writer child', timeoutMs: 30_000 });
    expect(exit).toEqual({ code: 3, signal: null });
    // It left at its bound, not after a flush: part of the megabyte never reached the pipe.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(1024 * 1024);
  });
});
