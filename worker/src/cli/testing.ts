/**
 * Test support: `medimg` run through `runCli` in a child process that returns without calling
 * process.exit, as a library caller would (the process must end by itself), bounded so that a
 * child that stays alive fails the test by name instead of blocking the run.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChildBound, runBounded } from '@medimg/common/testing/child.ts';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');

/**
 * Runs `runCli(args)` in a child (its script written to `dir`); gives runCli's exit code and the
 * child's peak resident memory.
 */
export async function runCliInChild(
  dir: string,
  args: readonly string[],
  bound: ChildBound,
): Promise<{ code: number; maxRssMiB: number }> {
  const runner = path.join(dir, `run-${Date.now()}-${Math.random().toString(36).slice(2)}.mts`);
  await writeFile(
    runner,
    [
      `import { runCli } from ${JSON.stringify(MAIN)};`,
      `const code = await runCli(${JSON.stringify(args)});`,
      // No process.exit: the process must end by itself once runCli has returned.
      'process.stdout.write(JSON.stringify({ code, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));',
    ].join('\n'),
  );
  const child = runBounded(process.execPath, ['--import', 'tsx', runner], bound);
  return JSON.parse(child.stdout) as { code: number; maxRssMiB: number };
}
