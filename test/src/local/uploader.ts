/**
 * Lists the files of a folder to upload (the demo's and the tests' inputs). Uploads themselves go
 * through the upload API (test/src/local/upload-api.ts, `medimg upload`).
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.md')) out.push(full);
    }
  };
  if ((await stat(root)).isDirectory()) await walk(root);
  else out.push(root);
  return out;
}

/**
 * The scans to upload from a folder: its `studies/`, `bad/` and `burned-in/` subfolders when it has them (the
 * layout of sample-dicom/, whose other files are code), otherwise every file in it.
 */
export async function sampleFiles(sampleRoot: string): Promise<string[]> {
  const parts = ['studies', 'bad', 'burned-in']
    .map((d) => path.join(sampleRoot, d))
    .filter((d) => existsSync(d));
  if (parts.length === 0) return listFiles(sampleRoot);
  const files: string[] = [];
  for (const dir of parts) files.push(...(await listFiles(dir)));
  return files;
}
