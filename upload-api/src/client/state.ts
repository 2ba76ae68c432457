/**
 * The resume state of an upload: `<state dir>/<batchId>.json` (mode 600), written after each file
 * or part, deleted when the batch is complete. It holds what a resume needs and nothing more: local
 * paths, sizes, checksums, and which files and parts S3 has accepted (with their ETags).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export const UploadStateSchema = z.object({
  version: z.literal(1),
  apiUrl: z.string(),
  batchId: z.string(),
  files: z.array(
    z.object({
      path: z.string(),
      size: z.number().int().nonnegative(),
      sha256: z.string(),
      parts: z.array(z.string()).optional(),
      done: z.boolean(),
      /** Part number -> ETag, for the parts S3 accepted. */
      etags: z.record(z.string(), z.string()).optional(),
    }),
  ),
});
export type UploadState = z.infer<typeof UploadStateSchema>;

/** `$XDG_STATE_HOME/medimg/uploads`, else `~/.local/state/medimg/uploads`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'medimg', 'uploads');
}

export function stateFile(dir: string, batchId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(batchId)) throw new Error('not a batch id');
  return path.join(dir, `${batchId}.json`);
}

export async function readState(dir: string, batchId: string): Promise<UploadState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile(dir, batchId), 'utf8');
  } catch {
    return undefined;
  }
  return UploadStateSchema.parse(JSON.parse(text));
}

/** Saves are serialized and atomic (write, then rename), so a kill leaves the last good state. */
export class StateWriter {
  readonly #dir: string;
  #chain: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.#dir = dir;
  }

  save(state: UploadState): Promise<void> {
    const text = JSON.stringify(state);
    const file = stateFile(this.#dir, state.batchId);
    this.#chain = this.#chain.then(async () => {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      await writeFile(`${file}.tmp`, text, { mode: 0o600 });
      await rename(`${file}.tmp`, file);
    });
    return this.#chain;
  }

  async remove(batchId: string): Promise<void> {
    await this.#chain;
    await rm(stateFile(this.#dir, batchId), { force: true });
  }
}
