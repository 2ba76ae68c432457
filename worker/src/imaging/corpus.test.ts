/**
 * Runs renderImage over every public test file in ../shared/dicom-corpus that parses: each one must
 * either render or fail with an ImagingError code, never anything else. Files dcmtk renders must
 * render here too, except 12-bit JPEG, for which no decoder exists (see VERIFIED.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDicom } from '@medimg/dicom';
import { describe, expect, it } from 'vitest';
import { ImagingError } from './errors.ts';
import { renderImage } from './render.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const corpus = resolve(repoRoot, '../shared/dicom-corpus');

interface Row {
  path: string;
  ts: string;
  photometric: string;
  result: string;
}

describe('public DICOM corpus', () => {
  it('renders every parsable file or fails with an ImagingError code', { timeout: 300_000 }, async () => {
    expect(existsSync(join(corpus, 'manifest.tsv')), `the corpus folder ${corpus} is missing`).toBe(true);
    const [header, ...lines] = readFileSync(join(corpus, 'manifest.tsv'), 'utf8').trim().split('\n');
    const columns = header!.split('\t');
    const col = (cells: string[], name: string) => cells[columns.indexOf(name)] ?? '';
    const rows: Row[] = [];
    const unexpected: string[] = [];
    for (const line of lines) {
      const cells = line.split('\t');
      const path = col(cells, 'path');
      const bytes = readFileSync(join(corpus, path));
      let file: ReturnType<typeof parseDicom>;
      try {
        file = parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } catch {
        rows.push({ path, ts: col(cells, 'ts_uid'), photometric: '', result: 'does not parse (not ours)' });
        continue;
      }
      const ts = file.transferSyntax.uid;
      try {
        const out = await renderImage(file);
        rows.push({ path, ts, photometric: out.photometric, result: `ok ${out.columns}x${out.rows}` });
      } catch (e) {
        if (!(e instanceof ImagingError)) {
          unexpected.push(`${path}: threw ${e instanceof Error ? e.name : typeof e}`);
          continue;
        }
        rows.push({ path, ts, photometric: col(cells, 'photometric'), result: e.code });
        const dcmtkRenders = col(cells, 'dcmtk_png') === 'ok';
        if (dcmtkRenders) {
          unexpected.push(`${path}: ${e.code} although dcmtk renders it`);
        }
      }
    }
    const table = [
      '| file | transfer syntax | photometric | result |',
      '| --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.path.split('/').pop()} | ${r.ts} | ${r.photometric} | ${r.result} |`),
    ].join('\n');
    console.log(table);
    expect(unexpected).toEqual([]);
    expect(rows.filter((r) => r.result.startsWith('ok')).length).toBeGreaterThan(40);
  });
});
