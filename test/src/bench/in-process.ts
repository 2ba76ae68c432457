/**
 * The in-process section: throughput of the worker's steps one by one (parse, de-identify + write,
 * render, whole file) inside this process, on a corpus already generated. It isolates each step
 * (the side-by-side section measures whole processes); peak RSS here is this process's high-water
 * mark so far, so it only grows from row to row.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDicom, writePart10 } from '@medimg/dicom';
import { FsObjectStore } from '@medimg/worker/adapters/fs-object-store.ts';
import { LocalInputStore } from '@medimg/worker/adapters/local-input-store.ts';
import { deidentify } from '@medimg/worker/deid/deidentify.ts';
import { parseDeidOptions } from '@medimg/worker/deid/options.ts';
import { renderImage } from '@medimg/worker/imaging/render.ts';
import { processFile } from '@medimg/worker/pipeline/process-file.ts';
import type { Row } from './rows.ts';
import type { Corpus } from './side-by-side.ts';

const key = new Uint8Array(32).fill(7);
const options = parseDeidOptions({});
const peakRss = () => process.resourceUsage().maxRSS / 1024;

export async function inProcess(corpus: Corpus): Promise<Row[]> {
  const rows: Row[] = [];
  const inputs = await Promise.all(corpus.files.map(async (f) => new Uint8Array(await readFile(f))));
  const mb = corpus.bytes / 1e6;
  const time = async (step: string, tool: string, work: (b: Uint8Array, i: number) => unknown) => {
    const start = performance.now();
    for (const [i, b] of inputs.entries()) await work(b, i);
    rows.push({
      section: 'in-process',
      corpus: corpus.name,
      step,
      tool,
      files: inputs.length,
      ok: inputs.length,
      seconds: (performance.now() - start) / 1000,
      mb,
      peakRssMb: peakRss(),
    });
  };

  await time('parse', 'parseDicom', (b) => parseDicom(b));
  const parsed = inputs.map((b) => parseDicom(b));
  await time('de-identify + serialize', 'deidentify + writePart10', (_b, i) =>
    writePart10(deidentify(parsed[i]!, { key, options }).file),
  );
  await time('render (preview, thumbnail, model input)', 'renderImage', (_b, i) => renderImage(parsed[i]!));
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'medimg-bench-inproc-'));
  try {
    const store = new FsObjectStore(tmp);
    await time('whole file: read to store', 'processFile (local disk)', (_b, i) =>
      processFile(
        { index: i, key: corpus.files[i]!, size: inputs[i]!.byteLength },
        {
          jobId: 'job-bench',
          rawBucket: 'raw',
          processedBucket: 'processed',
          linkageBucket: 'linkage',
          store,
          rawStore: new LocalInputStore(store),
          deid: { key, options },
          maxObjectBytes: 2 * 1024 ** 3,
          onStep: () => {},
        },
      ),
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return rows;
}
