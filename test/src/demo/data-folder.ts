/**
 * The demo's data folder, handled so that nothing a person put there is lost: the demo marks a
 * folder it creates (MARKER), refuses to use a non-empty folder without the mark, and on the next
 * run removes only the entries it creates itself. Pure checks first, then the one function that deletes.
 */
import { copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const MARKER = '.medimg-demo';
/** What a demo run creates in its data folder; nothing else is ever removed. */
export const DEMO_ENTRIES = ['s3', 'mail', 'logs', 'secrets', 'processed', 'report.html'] as const;

export class DataFolderError extends Error {
  override readonly name = 'DataFolderError';
}

export type DataFolderState = 'absent' | 'empty' | 'demo';

/** Whether the demo may use `dir`: absent, empty, or made by the demo (marked). Throws otherwise. */
export async function checkDataFolder(dir: string): Promise<DataFolderState> {
  const s = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new DataFolderError(`cannot use --data ${dir} (${error.code ?? 'error'})`);
  });
  if (!s) return 'absent';
  if (!s.isDirectory()) throw new DataFolderError(`--data ${dir} is a file, not a folder`);
  const entries = await readdir(dir);
  if (entries.length === 0) return 'empty';
  if (entries.includes(MARKER)) return 'demo';
  // A data folder of a demo from before the marker: nothing in it but what the demo creates.
  const known = new Set<string>(DEMO_ENTRIES);
  if (entries.includes('s3') && entries.every((e) => known.has(e))) return 'demo';
  throw new DataFolderError(
    `--data ${dir} holds files the demo did not create (no ${MARKER} marker); choose a new or empty folder`,
  );
}

/**
 * Makes the folder ready for a run: creates and marks it, or removes the previous run's entries
 * (only DEMO_ENTRIES) unless `keep`. Call checkDataFolder first.
 */
export async function prepareDataFolder(dir: string, state: DataFolderState, keep: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, MARKER),
    'Created by `npm run demo` (medimg-pipeline). The demo empties only the folders it creates here.\n',
  );
  if (state === 'demo' && !keep) {
    for (const entry of DEMO_ENTRIES) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * A plain copy of a bucket that s3rver keeps on disk (`<key>._S3rver_object` beside metadata files),
 * with each object under its own key, so a person can open the files. Returns the number copied.
 */
export async function exportS3rverBucket(bucketDir: string, target: string): Promise<number> {
  const SUFFIX = '._S3rver_object';
  let copied = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.name.endsWith(SUFFIX)) {
        const to = path.join(target, path.relative(bucketDir, full).slice(0, -SUFFIX.length));
        await mkdir(path.dirname(to), { recursive: true });
        await copyFile(full, to);
        copied += 1;
      }
    }
  };
  await walk(bucketDir);
  return copied;
}
