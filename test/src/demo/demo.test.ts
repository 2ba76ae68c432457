/**
 * `npm run demo` as a person runs it (the script in a child process): its help and usage errors,
 * its refusal to touch a folder it did not create, and a full run whose summary names files that
 * exist, with report.html opened in headless Chromium.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runBoundedAsync } from '@medimg/common/testing/child.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInChromium } from '../local/browser.ts';
import { REPO_ROOT } from '../local/task-runner.ts';

const MAIN = path.join(REPO_ROOT, 'test/src/demo/main.ts');

/**
 * The demo in a child process, bounded below the test's own timeout (50 s for the default 60 s): past
 * it the child is killed and the test fails naming it. The test asserts the exit status.
 */
async function demo(
  args: readonly string[],
  timeoutMs = 50_000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return runBoundedAsync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    name: 'npm run demo',
    timeoutMs,
    cwd: REPO_ROOT,
    env: { ...process.env, INIT_CWD: REPO_ROOT },
  });
}

describe('npm run demo', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'medimg-demo-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('shows its options on --help, exit 0', async () => {
    const run = await demo(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: npm run demo -- [options]');
    expect(run.stdout).toContain('--data <folder>');
  });

  it('says what was wrong with an unknown option, exit 64, with no stack trace', async () => {
    const run = await demo(['--sample', 'x']);
    expect(run.status).toBe(64);
    expect(run.stderr).toBe(
      "npm run demo: unknown option '--sample'\nRun 'npm run demo -- --help' for usage.\n",
    );
  });

  it('refuses a --data folder holding files it did not create, and leaves them, exit 73', async () => {
    const folder = path.join(tmp, 'mine');
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder);
    await writeFile(path.join(folder, 'notes.txt'), 'keep me');
    const run = await demo(['--data', folder]);
    expect(run.status).toBe(73);
    expect(run.stderr).toContain('holds files the demo did not create');
    expect(await readFile(path.join(folder, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('checks --samples before touching --data, exit 66', async () => {
    const data = path.join(tmp, 'untouched');
    const run = await demo(['--data', data, '--samples', path.join(tmp, 'no-such-samples')]);
    expect(run.status).toBe(66);
    expect(existsSync(data)).toBe(false);
  });

  it('runs, lists files that exist, and writes a report.html that shows the finding in Chromium', async () => {
    const data = path.join(tmp, 'run');
    // The whole pipeline: bounded below the test's 240 s.
    const run = await demo(['--data', data], 200_000);
    expect(run.status, run.stderr).toBe(0);
    const listed = [...run.stdout.matchAll(/^ {2}(?:report|finding preview): +(\S+)/gm)].map((m) =>
      path.resolve(REPO_ROOT, m[1]!),
    );
    expect(listed).toHaveLength(2);
    for (const file of listed) expect(existsSync(file), file).toBe(true);
    // The redacted previews it lists are plain PNG files in the exported processed folder.
    const redacted = [...run.stdout.matchAll(/redacted \d+ region\(s\), .*: (\S+)$/gm)].map((m) =>
      path.resolve(REPO_ROOT, m[1]!),
    );
    expect(redacted.length).toBeGreaterThan(0);
    for (const file of redacted) {
      expect(file.startsWith(path.join(data, 'processed') + path.sep), file).toBe(true);
      expect((await readFile(file)).subarray(1, 4).toString('latin1'), file).toBe('PNG');
    }
    const browser = await openInChromium(path.join(data, 'report.html'));
    try {
      expect(await browser.page.locator('[data-count="critical"]').textContent()).toBe('1');
      expect(await browser.page.locator('[data-finding="suspicious_lesion"] img').count()).toBe(1);
      expect(await browser.page.locator('section.study').count()).toBe(6);
      expect(browser.problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 240_000);
});
