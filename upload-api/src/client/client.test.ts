import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partPlan } from '../contract.ts';
import { checksums, collectFiles, looksLikeDicom } from './files.ts';
import { formatProgress, ProgressReporter } from './progress.ts';

describe('looksLikeDicom', () => {
  it('recognises the Part 10 preamble', () => {
    const bytes = new Uint8Array(140);
    bytes.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM" after the 128-byte preamble

    expect(looksLikeDicom(bytes, 140)).toBe(true);
  });

  it('recognises a bare data set in explicit VR little endian', () => {
    // (0008,0016) SOP Class UID, VR "UI", length 26
    const bytes = Uint8Array.from([0x08, 0x00, 0x16, 0x00, 0x55, 0x49, 0x1a, 0x00]);

    expect(looksLikeDicom(bytes, 1000)).toBe(true);
  });

  it('refuses text, a PNG and an empty file', () => {
    expect(looksLikeDicom(new TextEncoder().encode('Patient list, do not upload\n'), 28)).toBe(false);
    expect(looksLikeDicom(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 8)).toBe(false);
    expect(looksLikeDicom(new Uint8Array(), 0)).toBe(false);
  });
});

describe('collectFiles and checksums', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'upload-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps DICOM files by content under their relative names and lists the others as skipped', async () => {
    const dicom = new Uint8Array(200);
    dicom.set([0x44, 0x49, 0x43, 0x4d], 128);
    await writeFile(path.join(dir, 'no-extension'), dicom);
    await writeFile(path.join(dir, 'notes.dcm'), 'not an image');
    await writeFile(path.join(dir, '.hidden'), dicom);

    const { files, skipped } = await collectFiles([dir], { dicomOnly: true });

    expect(files.map((f) => [f.name, f.size])).toEqual([['no-extension', 200]]);
    expect(skipped).toEqual([path.join(dir, 'notes.dcm')]);
  });

  it('gives one digest per part that the API plans, and the whole file’s', async () => {
    const limits = { multipartThresholdBytes: 1000, partSizeBytes: 400 };
    const data = new Uint8Array(1001).map((_, i) => i % 256);
    const file = path.join(dir, 'big');
    await writeFile(file, data);
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

    const sums = await checksums(file, data.length, limits);

    expect(partPlan(data.length, limits)).toEqual({ partSize: 400, count: 3 });
    expect(sums).toEqual({
      sha256: sha(data),
      parts: [sha(data.subarray(0, 400)), sha(data.subarray(400, 800)), sha(data.subarray(800))],
    });
  });
});

describe('the progress line', () => {
  it('shows files, bytes, rate and time left', () => {
    const line = formatProgress({
      filesDone: 12,
      filesTotal: 57,
      bytesDone: 3_400_000,
      bytesTotal: 9_500_000,
      elapsedMs: 2000,
    });

    expect(line).toBe('12/57 files  3.40 MB/9.50 MB  1.70 MB/s  4 s left');
  });

  it('writes plain lines at each tenth when the output is not a terminal', () => {
    const out: string[] = [];
    let now = 0;
    const reporter = new ProgressReporter({ write: (t) => out.push(t), isTTY: false }, () => now);

    for (let done = 0; done <= 100; done += 5) {
      now += 100;
      reporter.update({ filesDone: done / 5, filesTotal: 20, bytesDone: done * 1000, bytesTotal: 100_000 });
    }

    expect(out).toHaveLength(11);
    expect(out.every((l) => l.startsWith('upload: ') && l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(out.at(-1)).toContain('20/20 files  100 kB/100 kB');
    expect(out.at(-1)).toContain('done');
  });

  it('redraws one line in place on a terminal', () => {
    const out: string[] = [];
    let now = 0;
    const reporter = new ProgressReporter({ write: (t) => out.push(t), isTTY: true }, () => now);

    now = 500;
    reporter.update({ filesDone: 1, filesTotal: 2, bytesDone: 10, bytesTotal: 20 });
    now = 1000;
    reporter.update({ filesDone: 2, filesTotal: 2, bytesDone: 20, bytesTotal: 20 });
    reporter.end();

    expect(out.slice(0, 2).every((l) => l.startsWith('\r\x1b[2K') && !l.includes('\n'))).toBe(true);
    expect(out.at(-1)).toBe('\n');
  });
});
