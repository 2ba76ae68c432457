/** The demo never deletes what it did not create (issue: a --data folder of other files was emptied). */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkDataFolder,
  DataFolderError,
  exportS3rverBucket,
  MARKER,
  prepareDataFolder,
} from './data-folder.ts';

describe('the demo data folder', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'medimg-demo-data-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a non-empty folder it did not create, and leaves its files alone', async () => {
    await writeFile(path.join(root, 'thesis.docx'), 'precious');
    await expect(checkDataFolder(root)).rejects.toThrow(DataFolderError);
    await expect(checkDataFolder(root)).rejects.toThrow(/holds files the demo did not create/);
    expect(await readFile(path.join(root, 'thesis.docx'), 'utf8')).toBe('precious');
  });

  it('refuses a --data that is a file', async () => {
    const file = path.join(root, 'f');
    await writeFile(file, 'x');
    await expect(checkDataFolder(file)).rejects.toThrow(/is a file, not a folder/);
  });

  it('creates and marks a new folder', async () => {
    const dir = path.join(root, 'new');
    const state = await checkDataFolder(dir);
    await prepareDataFolder(dir, state, false);
    expect(state).toBe('absent');
    expect(existsSync(path.join(dir, MARKER))).toBe(true);
  });

  it("removes only the previous run's entries from a marked folder", async () => {
    await prepareDataFolder(root, 'empty', false);
    await mkdir(path.join(root, 's3', 'medimg-raw'), { recursive: true });
    await writeFile(path.join(root, 'report.html'), 'old');
    await writeFile(path.join(root, 'notes.txt'), 'mine');
    await prepareDataFolder(root, await checkDataFolder(root), false);
    expect(existsSync(path.join(root, 's3'))).toBe(false);
    expect(existsSync(path.join(root, 'report.html'))).toBe(false);
    expect(await readFile(path.join(root, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('recognises a data folder of a demo from before the marker by its entries', async () => {
    await mkdir(path.join(root, 's3'));
    await mkdir(path.join(root, 'mail'));
    expect(await checkDataFolder(root)).toBe('demo');
  });

  it('keeps the previous run with keep', async () => {
    await prepareDataFolder(root, 'empty', false);
    await mkdir(path.join(root, 's3'));
    await prepareDataFolder(root, await checkDataFolder(root), true);
    expect(existsSync(path.join(root, 's3'))).toBe(true);
  });

  it("exports s3rver's objects under their own keys, without its metadata files", async () => {
    const bucket = path.join(root, 's3', 'b');
    await mkdir(path.join(bucket, 'studies', 's1'), { recursive: true });
    await writeFile(path.join(bucket, 'studies', 's1', 'results.json._S3rver_object'), '{}');
    await writeFile(path.join(bucket, 'studies', 's1', 'results.json._S3rver_metadata.json'), '{}');
    const copied = await exportS3rverBucket(bucket, path.join(root, 'out'));
    expect(copied).toBe(1);
    expect(await readFile(path.join(root, 'out', 'studies', 's1', 'results.json'), 'utf8')).toBe('{}');
    expect(existsSync(path.join(root, 'out', 'studies', 's1', 'results.json._S3rver_metadata.json'))).toBe(
      false,
    );
  });
});
