/**
 * `npm run fuzz [-- --seed N --count N --time-limit SECONDS --budget-mib N --no-corpus --json FILE
 *   --save-findings DIR]` (DIR gets the input of each finding, to replay it)
 *
 * Mutates the sample and corpus files and feeds them to the worker's per-file steps in this process;
 * prints a summary and every finding; exits 1 when there is a finding, 2 on bad options.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fuzz } from './harness.ts';
import { loadSeeds } from './seeds.ts';

const usage =
  'usage: npm run fuzz -- [--seed N] [--count N] [--time-limit SECONDS] [--budget-mib N] [--no-corpus] [--json FILE] [--save-findings DIR]';

function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number, got ${JSON.stringify(value)}\n${usage}\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string' },
        count: { type: 'string' },
        'time-limit': { type: 'string' },
        'budget-mib': { type: 'string' },
        'no-corpus': { type: 'boolean' },
        json: { type: 'string' },
        'save-findings': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const seed = intOption(values.seed as string | undefined, 'seed', 19);
  const count = intOption(values.count as string | undefined, 'count', 1000);
  const timeLimit = intOption(values['time-limit'] as string | undefined, 'time-limit', 0);
  const budgetMiB = intOption(values['budget-mib'] as string | undefined, 'budget-mib', 64);
  const seeds = await loadSeeds({ corpus: values['no-corpus'] ? false : undefined });
  process.stdout.write(`fuzz: seed ${seed}, ${seeds.length} seed files, up to ${count} inputs\n`);
  let lastLine = Date.now();
  const report = await fuzz(seeds, {
    seed,
    count,
    timeLimitMs: timeLimit > 0 ? timeLimit * 1000 : undefined,
    maxDecodedBytes: budgetMiB * 1024 * 1024,
    onFinding: (f, input) => {
      const dir = values['save-findings'];
      if (typeof dir !== 'string') return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `finding-${f.n}.dcm`), input);
    },
    onInput: (n) => {
      if (Date.now() - lastLine > 10_000) {
        lastLine = Date.now();
        process.stdout.write(`  ${n} inputs\n`);
      }
    },
  });
  const { findings, ...figures } = report;
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  for (const f of findings) process.stdout.write(`FINDING #${f.n} ${f.seed} ${f.mutation}: ${f.problem}\n`);
  if (typeof values.json === 'string') writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.stdout.write(`${report.inputs} inputs, ${findings.length} findings\n`);
  process.exitCode = findings.length > 0 ? 1 : 0;
}

await main();
