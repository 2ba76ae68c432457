import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exitOf, runBounded, runBoundedAsync } from './child.ts';

const node = process.execPath;
/** A child that ignores SIGTERM and never ends by itself. */
const STUCK = ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);"];

describe('runBounded', () => {
  it('returns the status and output of a child that exits as expected', () => {
    const r = runBounded(
      node,
      ['-e', "process.stdout.write('out'); process.stderr.write('err'); process.exit(3)"],
      {
        name: 'the child',
        timeoutMs: 30_000,
        exit: [0, 3],
      },
    );

    expect(r).toEqual({ status: 3, signal: null, stdout: 'out', stderr: 'err' });
  });

  it('fails, naming the child, when it exits with a status the test did not expect', () => {
    expect(() =>
      runBounded(node, ['-e', 'process.exit(2)'], { name: 'the child', timeoutMs: 30_000 }),
    ).toThrow('the child exited 2 (expected 0)');
  });

  it('kills a child past its bound (SIGTERM ignored) and fails, naming it', () => {
    const started = Date.now();

    expect(() => runBounded(node, STUCK, { name: 'the stuck child', timeoutMs: 1500 })).toThrow(
      'the stuck child ran past its 1500 ms bound and was killed',
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('fails when the child is killed by a signal, or cannot start', () => {
    expect(() =>
      runBounded(node, ['-e', "process.kill(process.pid, 'SIGKILL')"], {
        name: 'the child',
        timeoutMs: 30_000,
        exit: 'any',
      }),
    ).toThrow('the child was killed by SIGKILL');
    // Unless the test runs a tool it expects to crash on some inputs.
    expect(
      runBounded(node, ['-e', "process.kill(process.pid, 'SIGABRT')"], {
        name: 'the child',
        timeoutMs: 30_000,
        exit: 'any',
        signalOk: true,
      }),
    ).toMatchObject({ status: null, signal: 'SIGABRT' });
    expect(() => runBounded('/nonexistent/tool', [], { name: 'the tool', timeoutMs: 30_000 })).toThrow(
      'the tool could not run (ENOENT)',
    );
  });
});

describe('exitOf', () => {
  it('resolves with the exit of a child that ends, and checks it when told', async () => {
    await expect(
      exitOf(spawn(node, ['-e', 'process.exit(4)']), { name: 'c', timeoutMs: 30_000 }),
    ).resolves.toEqual({
      code: 4,
      signal: null,
    });
    await expect(
      exitOf(spawn(node, ['-e', 'process.exit(4)']), { name: 'the child', timeoutMs: 30_000, exit: 0 }),
    ).rejects.toThrow('the child exited 4 (expected 0)');
  });

  it('kills a child past its bound (SIGTERM ignored) and rejects, naming it', async () => {
    const child = spawn(node, STUCK, { stdio: 'ignore' });

    await expect(exitOf(child, { name: 'the stuck child', timeoutMs: 1500 })).rejects.toThrow(
      'the stuck child ran past its 1500 ms bound and was killed',
    );
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode ? resolve(0) : child.once('exit', resolve),
    );
    expect(child.signalCode).toBe('SIGKILL');
  });
});

describe('runBoundedAsync', () => {
  it('gives the status and the whole output of a child that exits', async () => {
    const run = await runBoundedAsync(
      node,
      [
        '-e',
        // exit once the writes are flushed: process.exit right after them can cut a pipe's output at 64 kB
        'process.stderr.write("err"); process.stdout.write("out".repeat(50000), () => process.exit(3))',
      ],
      { name: 'c', timeoutMs: 30_000 },
    );
    expect(run).toEqual({ status: 3, stdout: 'out'.repeat(50000), stderr: 'err' });
  });

  it('kills a child past its bound and names it', async () => {
    await expect(
      runBoundedAsync(node, ['-e', 'setInterval(() => {}, 1000)'], {
        name: 'the idle child',
        timeoutMs: 1500,
      }),
    ).rejects.toThrow('the idle child ran past its 1500 ms bound and was killed');
  });
});
