/**
 * `medimg upload` and `medimg status` as a person meets them before any network call: help, usage
 * errors (exit 64), no DICOM among the inputs (exit 66). Runs the package's bin in a child process.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBounded } from '@medimg/common/testing/child.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../../worker/bin/medimg.js', import.meta.url));

function medimg(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  delete env.MEDIMG_API_URL;
  // Bounded (each run answers in about a second; two in a test of 60 s); the test asserts the status.
  return runBounded(process.execPath, [BIN, ...args], {
    name: 'the medimg CLI',
    timeoutMs: 25_000,
    exit: 'any',
    env,
  });
}

describe('medimg upload and status on the command line', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'medimg-cli-'));
    await writeFile(path.join(dir, 'notes.txt'), 'not a scan');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the upload help on stdout and exits 0', () => {
    const run = medimg('upload', '--help');

    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: medimg upload <file-or-folder>\.\.\. \[options\]/);
    expect(run.stdout).toContain('--api <url>');
    expect(run.stdout).toContain('--resume <batchId>');
  });

  it('exits 64 with the reason and the usage when no API is given', () => {
    const run = medimg('upload', dir);

    expect(run.status).toBe(64);
    expect(run.stderr).toBe(
      "medimg upload: no API: give --api URL or set MEDIMG_API_URL\nRun 'medimg upload --help' for usage.\n",
    );
  });

  it('exits 64 for an unknown option and for files given with --resume', () => {
    expect(medimg('upload', dir, '--api', 'http://127.0.0.1:9', '--fast').status).toBe(64);
    const both = medimg('upload', dir, '--api', 'http://127.0.0.1:9', '--resume', 'b-1');
    expect(both.status).toBe(64);
    expect(both.stderr).toContain('--resume takes no files');
  });

  it('exits 66 when no input is a DICOM file, listing what it skipped', () => {
    const run = medimg('upload', dir, '--api', 'http://127.0.0.1:9');

    expect(run.status).toBe(66);
    expect(run.stderr).toContain(`skipped (not DICOM): ${path.join(dir, 'notes.txt')}`);
    expect(run.stderr).toContain('no DICOM file found');
  });

  it('exits 64 when status gets no batch id or a bad interval', () => {
    expect(medimg('status', '--api', 'http://127.0.0.1:9').status).toBe(64);
    const bad = medimg('status', 'b-1', '--api', 'http://127.0.0.1:9', '--wait', '--interval', '0');
    expect(bad.status).toBe(64);
    expect(bad.stderr).toContain('--interval must be a positive number of seconds');
  });

  it('exits 69 when the API cannot be reached', () => {
    const run = medimg('status', 'b-20261201-00000000000000000000', '--api', 'http://127.0.0.1:9');

    expect(run.status).toBe(69);
    expect(run.stderr).toMatch(/^medimg status: /);
  });
});
