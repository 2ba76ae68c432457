import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runBoundedAsync } from './testing/child.ts';

const exitModule = fileURLToPath(new URL('./exit.ts', import.meta.url));

/** A child that writes `kb` kB to stdout and a line to stderr, then ends through `exitWhenFlushed(3)`. */
function writerChild(kb: number): string {
  return [
    `import { exitWhenFlushed } from ${JSON.stringify(exitModule)};`,
    `process.stdout.write('x'.repeat(${kb} * 1024));`,
    "process.stderr.write('done\\n');",
    'exitWhenFlushed(3);',
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
});
