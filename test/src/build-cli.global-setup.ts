/** Vitest global setup: builds the `medimg` CLI once (worker/dist/medimg.js), as a user's `npm run build` does. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const run = spawnSync(process.execPath, [path.join(repo, 'worker/scripts/build-cli.mjs')], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`building the medimg CLI failed:\n${run.stderr}`);
}
