/**
 * A library caller that runs a job and returns must see its process exit by itself: the job closes
 * its render pool (an idle pool thread kept the process alive, although unref'd, once tsx's loader
 * was registered in it). Each case runs `runCli(['process', ...])` in a child process that returns
 * without calling process.exit; the child is bounded, so a process that stays alive fails the test.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInChild } from './testing.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SAMPLES = path.resolve(here, '../../../sample-dicom');

describe('a process that runs a job through runCli and returns', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'medimg-exits-'));
    await writeFile(path.join(work, 'key.hex'), randomBytes(32).toString('hex'));
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs `medimg process <input>` through runCli in a child that never calls process.exit. */
  async function runAndReturn(name: string, input: string): Promise<{ code: number; statuses: string[] }> {
    const out = path.join(work, name);
    // About 3 s unloaded (one file, one render thread); a child still alive after 60 s is the hang.
    const { code } = await runCliInChild(
      work,
      [
        'process',
        input,
        '--out',
        out,
        '--restricted',
        path.join(work, `${name}-restricted`),
        '--key-file',
        path.join(work, 'key.hex'),
      ],
      { name: 'the runCli child (it did not exit by itself after runCli returned?)', timeoutMs: 60_000 },
    );
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as {
      entries: { status: string }[];
    };
    return {
      code,
      statuses: report.entries.map((e) => e.status),
    };
  }

  it('exits by itself after a file was rendered (the render pool started a thread)', async () => {
    const result = await runAndReturn('rendered', path.join(SAMPLES, 'studies/dx-chest/1-chest-pa/001.dcm'));

    expect(result).toEqual({ code: 0, statuses: ['processed'] });
  }, 90_000);

  it('exits by itself when the only file was quarantined before rendering', async () => {
    const result = await runAndReturn('quarantined', path.join(SAMPLES, 'bad/not-dicom.txt'));

    expect(result).toEqual({ code: 0, statuses: ['quarantined'] });
  }, 90_000);
});
