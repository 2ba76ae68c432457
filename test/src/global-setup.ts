/**
 * Vitest global setup, once per run: builds the `medimg` CLI (worker/dist/medimg.js) as a user's
 * `npm run build` does, and checks for the public DICOM corpus (MEDIMG_CORPUS): absent, its tests
 * are skipped with one line saying why, except under CI (CI=true), where that fails the run.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS_PRESENT, corpusMissingLine } from '@medimg/common/testing/corpus.ts';

export default function setup(): void {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  if (!CORPUS_PRESENT) {
    if (process.env.CI === 'true')
      throw new Error(`CI=true: ${corpusMissingLine().replace(' tests skipped', ' missing')}`);
    process.stdout.write(`\n${corpusMissingLine()}\n\n`);
  }
  // Bounded (a few seconds; 180 s on a loaded machine): a build that never ends fails the run by name.
  const run = spawnSync(process.execPath, [path.join(repo, 'worker/scripts/build-cli.mjs')], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 180_000,
    killSignal: 'SIGKILL',
  });
  if (run.error || run.status !== 0) {
    const why = run.error ? (run.error as NodeJS.ErrnoException).code : `exit ${run.status ?? run.signal}`;
    throw new Error(`building the medimg CLI failed (${why}):\n${run.stderr}`);
  }
}
