/** Upload batches for the soak and the kill-at-every-step test, made from the sample studies. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type DataSet,
  getNumber,
  numberElement,
  parseDicom,
  stringElement,
  T,
  writePart10,
} from '@medimg/dicom';
import { REPO_ROOT } from '../local/task-runner.ts';

export const SAMPLE_STUDIES = path.join(REPO_ROOT, 'sample-dicom/studies');

/**
 * Native single-frame images subsampled to at most `size` pixels a side (every k-th row and
 * column): the same kinds of input, a fraction of the work, so that thousands fit in a soak.
 */
function shrink(ds: DataSet, encapsulated: boolean, size: number): void {
  const rows = getNumber(ds, T.Rows, 'little');
  const cols = getNumber(ds, T.Columns, 'little');
  const bits = getNumber(ds, T.BitsAllocated, 'little');
  const spp = getNumber(ds, T.SamplesPerPixel, 'little') ?? 1;
  const frames = Number.parseInt(
    Buffer.from(ds.get(T.NumberOfFrames)?.value ?? new Uint8Array())
      .toString('latin1')
      .trim() || '1',
    10,
  );
  const pixels = ds.get(T.PixelData);
  const planar = getNumber(ds, T.PlanarConfiguration, 'little') ?? 0;
  if (!size || encapsulated || !rows || !cols || !bits || bits % 8 || frames !== 1 || !pixels) return;
  if (planar !== 0 || Math.max(rows, cols) <= size) return;
  const step = Math.ceil(Math.max(rows, cols) / size);
  const unit = (bits / 8) * spp;
  const newRows = Math.floor(rows / step);
  const newCols = Math.floor(cols / step);
  const out = new Uint8Array(newRows * newCols * unit + ((newRows * newCols * unit) % 2));
  for (let y = 0; y < newRows; y++)
    for (let x = 0; x < newCols; x++) {
      const from = (y * step * cols + x * step) * unit;
      out.set(pixels.value.subarray(from, from + unit), (y * newCols + x) * unit);
    }
  ds.set(T.Rows, numberElement(T.Rows, 'US', [newRows], 'little'));
  ds.set(T.Columns, numberElement(T.Columns, 'US', [newCols], 'little'));
  ds.set(T.PixelData, { ...pixels, value: out });
}

/**
 * Batch folders `batch-<b>` under `dir`: files taken in turn from `sources`, with study, series and
 * instance UIDs made unique per batch, so that every input is one instance and every batch its own
 * studies (one notification per study and finding).
 */
export async function makeBatches(
  dir: string,
  options: {
    readonly batches: number;
    readonly files: number;
    /** At most this many pixels a side (0: as they are). */
    readonly size: number;
    readonly sources: readonly string[];
    /** Batch b starts at source b x rotate (default 7), so that batches mix the studies. */
    readonly rotate?: number;
    /** The size of every n-th batch instead (batch 0, n, 2n ...), e.g. images the model takes. */
    readonly every?: { readonly n: number; readonly size: number };
  },
): Promise<string[]> {
  const { batches, files: filesPerBatch, sources, rotate = 7, every } = options;
  const roots: string[] = [];
  for (let b = 0; b < batches; b++) {
    const root = path.join(dir, `batch-${b}`);
    const size = every && b % every.n === 0 ? every.size : options.size;
    for (let i = 0; i < filesPerBatch; i++) {
      const source = sources[(b * rotate + i) % sources.length]!;
      const file = parseDicom(new Uint8Array(await readFile(source)));
      const ds = new Map(file.dataset);
      for (const t of [T.StudyInstanceUID, T.SeriesInstanceUID, T.SOPInstanceUID]) {
        const uid = Buffer.from(ds.get(t)!.value)
          .toString('latin1')
          .replace(/[\0 ]+$/, '');
        const suffix = t === T.SOPInstanceUID ? `.${b}.${i}` : `.${b}`;
        ds.set(t, stringElement(t, 'UI', `${uid.slice(0, 64 - suffix.length)}${suffix}`));
      }
      if (file.transferSyntax.byteOrder === 'little') shrink(ds, file.transferSyntax.encapsulated, size);
      const out = path.join(root, `${String(i).padStart(4, '0')}.dcm`);
      await mkdir(path.dirname(out), { recursive: true });
      await writeFile(out, writePart10({ ...file, dataset: ds, meta: new Map() }));
    }
    roots.push(root);
  }
  return roots;
}
