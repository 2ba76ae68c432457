/**
 * The CLI as a person meets it when something is off: every command's --help, and one clear line
 * with the documented exit code for each kind of mistake. In-process through runCli with a
 * recording io (the built binary is run as a child process in test/src/e2e/cli.test.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { runCli } from './main.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SAMPLE = path.join(REPO, 'sample-dicom/studies/dx-chest');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    env: { HOME: os.tmpdir(), DEID_KEY: 'a1'.repeat(32) },
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}

describe('medimg help', () => {
  it('lists every command with its summary on --help and exits 0', async () => {
    const { code, out, err } = await cli('--help');
    expect(code).toBe(0);
    expect(err).toBe('');
    const lines = out.split('\n');
    for (const c of COMMANDS) {
      const row = lines.find((line) => line.startsWith(`  ${c.name} `));
      expect(row?.slice(c.name.length + 2).trim()).toBe(c.summary);
    }
  });

  it.each(COMMANDS.map((c) => c.name))("shows '%s --help' with its options and exits 0", async (name) => {
    const command = COMMANDS.find((c) => c.name === name)!;
    const { code, out } = await cli(name, '--help');
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Usage: medimg ${name}`));
    for (const option of Object.keys(command.options)) expect(out).toContain(`--${option}`);
  });

  it('accepts -h after other arguments, even incomplete ones', async () => {
    const { code, out } = await cli('process', '--out', '-h');
    expect(code).toBe(0);
    expect(out).toContain('Usage: medimg process');
  });

  it('prints the version on --version', async () => {
    const { code, out } = await cli('--version');
    expect(code).toBe(0);
    expect(out).toMatch(/^medimg \d+\.\d+\.\d+\n$/);
  });
});

describe('medimg usage errors', () => {
  it.each([
    [['process', SAMPLE], '--out is required'],
    [['process', '--out', 'x'], 'missing <file-or-folder>...'],
    [['process', SAMPLE, '--out', 'x', '--colour'], "unknown option '--colour'"],
    [['process', SAMPLE, '--out'], "option '--out' needs a value"],
    [['process', SAMPLE, '--out', 'x', '--infer=yes'], "option '--infer' takes no value"],
    [
      ['process', SAMPLE, '--out', 'x', '--burned-in', 'hide'],
      '--burned-in must be one of quarantine, redact, blank',
    ],
    [['process', SAMPLE, '--out', 'x', '--endpoint', 'model:8080'], '--endpoint must be an http(s) URL'],
    [['process', SAMPLE, '--out', 'x', '--threshold', 'lesion=2'], '--threshold must be <label>=<score'],
  ])('medimg %j says what was wrong and exits 64', async (argv, message) => {
    const { code, err, out } = await cli(...argv);
    expect(code).toBe(64);
    expect(out).toBe('');
    expect(err).toContain(message);
    expect(err).toContain("Run 'medimg process --help' for usage.");
  });

  it('names an unknown command and the known ones, exit 64', async () => {
    const { code, err } = await cli('proces', SAMPLE);
    expect(code).toBe(64);
    expect(err).toContain(`unknown command 'proces'; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
  });

  it('says a command is missing when there is none, exit 64', async () => {
    const { code, err } = await cli();
    expect(code).toBe(64);
    expect(err).toContain('missing command');
  });
});

describe('medimg process: inputs and outputs it cannot use', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'medimg-cli-errors-'));
    await writeFile(path.join(dir, 'a-file'), 'x');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names a missing input in one line and exits 66', async () => {
    const missing = path.join(dir, 'no-such-folder');
    const { code, err } = await cli('process', missing, '--out', path.join(dir, 'out'));
    expect(code).toBe(66);
    expect(err).toBe(`medimg process: input not found: ${missing}\n`);
  });

  it('says so when the inputs hold no file, exit 66', async () => {
    const empty = await mkdtemp(path.join(dir, 'empty-'));
    const { code, err } = await cli('process', empty, '--out', path.join(dir, 'out'));
    expect(code).toBe(66);
    expect(err).toBe(`medimg process: no files found in ${empty}\n`);
  });

  it('refuses an --out that is a file in one line, exit 73', async () => {
    const file = path.join(dir, 'a-file');
    const { code, err } = await cli('process', SAMPLE, '--out', file);
    expect(code).toBe(73);
    expect(err).toBe(`medimg process: --out ${file} is a file, not a folder\n`);
  });

  it('refuses an --out under a file in one line, exit 73', async () => {
    const under = path.join(dir, 'a-file', 'out');
    const { code, err } = await cli('process', SAMPLE, '--out', under);
    expect(code).toBe(73);
    expect(err).toBe(`medimg process: cannot create --out ${under}: a parent is a file\n`);
  });

  it('refuses a model folder without model.json in one line, exit 66', async () => {
    const { code, err } = await cli(
      'process',
      SAMPLE,
      '--out',
      path.join(dir, 'out'),
      '--infer',
      '--model',
      dir,
    );
    expect(code).toBe(66);
    expect(err).toBe(`medimg process: no model.json in the model folder ${dir}\n`);
  });
});
