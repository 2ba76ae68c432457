import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getNumber, getString, parseDicom, T } from '@medimg/dicom';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusSpecs, ensureCorpus } from './corpus.ts';

describe('the bench corpus generator', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('makes the same bytes twice for the same file', () => {
    const specs = corpusSpecs(0.01);

    const first = specs['ct-300'].file?.(2);
    const second = specs['ct-300'].file?.(2);

    expect(first).toBeDefined();
    expect(Buffer.from(first!).equals(Buffer.from(second!))).toBe(true);
  });

  it('writes CT slices, a multi-frame object and CR images the DICOM parser reads back', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'bench-corpus-test-'));
    dirs.push(root);
    const specs = corpusSpecs(0.01);

    const ct = await ensureCorpus(root, specs['ct-300'], specs, 0.01);
    const mf = await ensureCorpus(root, specs['mf-100'], specs, 0.01);
    const cr = await ensureCorpus(root, specs['cr-1000'], specs, 0.01);

    expect(ct.files).toHaveLength(3);
    expect(cr.files).toHaveLength(10);
    const slice = parseDicom(new Uint8Array(await readFile(ct.files[0]!)));
    expect(getString(slice.dataset, T.Modality)).toBe('CT');
    expect(getNumber(slice.dataset, T.Rows, 'little')).toBe(51);
    expect(slice.dataset.get(T.PixelData)?.value.byteLength).toBe(51 * 51 * 2);
    const multi = parseDicom(new Uint8Array(await readFile(mf.files[0]!)));
    expect(getString(multi.dataset, T.NumberOfFrames)).toBe('1');
    const image = parseDicom(new Uint8Array(await readFile(cr.files[9]!)));
    expect(getString(image.dataset, T.Modality)).toBe('CR');
    expect(getString(image.dataset, T.PatientName)).toBe('Banc^Fictif');
  });

  it('keeps a scaled corpus beside the others in the cache instead of replacing them', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'bench-corpus-test-'));
    dirs.push(root);
    const small = await ensureCorpus(root, corpusSpecs(0.01)['ct-300'], corpusSpecs(0.01), 0.01);
    const larger = await ensureCorpus(root, corpusSpecs(0.02)['ct-300'], corpusSpecs(0.02), 0.02);
    expect(path.basename(small.dir)).toBe('ct-300-scale-0.01');
    expect(path.basename(larger.dir)).toBe('ct-300-scale-0.02');
    expect(larger.files.length).toBeGreaterThan(small.files.length);
    // The first is still there, whole, after the second was made.
    expect((await readdir(small.dir)).filter((f) => f.endsWith('.dcm'))).toHaveLength(small.files.length);
  });
});
