/**
 * `npm run bench`: throughput and peak memory of the worker's steps on the sample studies (and,
 * where present, the public corpus), against reference tools run on the same files: dcmdump
 * (parse), dcmconv (read + write), gdcmanon (de-identify), dcm2pnm (render). Prints a table;
 * nothing is asserted. The reference tools run once per file, as the worker's steps do.
 */
import { spawnSync } from 'node:child_process';
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
import { REPO_ROOT } from '../local/task-runner.ts';
import { listFiles } from '../local/uploader.ts';

interface Row {
  step: string;
  tool: string;
  files: number;
  seconds: number;
  mb: number;
  peakRssMb?: number;
}

const rows: Row[] = [];
const key = new Uint8Array(32).fill(7);
const options = parseDeidOptions({});

function peakRss(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function timeIt(
  step: string,
  tool: string,
  inputs: readonly { bytes: Uint8Array }[],
  work: (b: Uint8Array) => unknown,
) {
  const start = performance.now();
  let mb = 0;
  for (const input of inputs) {
    await work(input.bytes);
    mb += input.bytes.byteLength / 1e6;
  }
  rows.push({
    step,
    tool,
    files: inputs.length,
    seconds: (performance.now() - start) / 1000,
    mb,
    peakRssMb: peakRss(),
  });
}

/** Runs a tool once per file under /usr/bin/time; reports the wall time and the largest max RSS. */
function timeTool(
  step: string,
  tool: string,
  files: readonly string[],
  args: (file: string, out: string) => string[],
  outDir: string,
) {
  const start = performance.now();
  let peak = 0;
  let ok = 0;
  for (const [i, file] of files.entries()) {
    const out = path.join(outDir, `${i}.out`);
    const r = spawnSync('/usr/bin/time', ['-f', '%M', tool, ...args(file, out)], { encoding: 'utf8' });
    const rss = Number(r.stderr.trim().split('\n').at(-1));
    if (Number.isFinite(rss)) peak = Math.max(peak, rss / 1024);
    if (r.status === 0) ok += 1;
  }
  rows.push({
    step,
    tool: `${tool} (${ok}/${files.length} ok)`,
    files: files.length,
    seconds: (performance.now() - start) / 1000,
    mb: totalMb,
    peakRssMb: peak,
  });
}

const sampleFiles = await listFiles(path.join(REPO_ROOT, 'sample-dicom/studies'));
const inputs = await Promise.all(
  sampleFiles.map(async (f) => ({ file: f, bytes: new Uint8Array(await readFile(f)) })),
);
const totalMb = inputs.reduce((s, i) => s + i.bytes.byteLength, 0) / 1e6;
const tmp = await mkdtemp(path.join(os.tmpdir(), 'medimg-bench-'));
process.stdout.write(
  `medimg bench: ${inputs.length} sample files, ${totalMb.toFixed(1)} MB, node ${process.version}, ${os.cpus().length} CPU(s)\n`,
);

try {
  await timeIt('parse', 'medimg parseDicom', inputs, (b) => parseDicom(b));
  timeTool('parse', 'dcmdump', sampleFiles, (f) => ['-q', f], tmp);

  const parsed = inputs.map((i) => parseDicom(i.bytes));
  let n = 0;
  await timeIt('de-identify + write', 'medimg deidentify + writePart10', inputs, () =>
    writePart10(deidentify(parsed[n++]!, { key, options }).file),
  );
  timeTool(
    'de-identify + write',
    'gdcmanon',
    sampleFiles,
    (f, out) => ['--dumb', '--empty', '10,10', '--empty', '10,20', f, out],
    tmp,
  );
  timeTool('read + write', 'dcmconv', sampleFiles, (f, out) => [f, out], tmp);

  let m = 0;
  await timeIt('render (preview, thumbnail, model input)', 'medimg renderImage', inputs, () =>
    renderImage(parsed[m++]!),
  );
  timeTool('render (one PNG)', 'dcm2pnm', sampleFiles, (f, out) => ['+on', '+Wi', '1', f, out], tmp);

  const store = new FsObjectStore(tmp);
  let k = 0;
  await timeIt('whole file: fetch to store', 'medimg processFile (local disk)', inputs, () =>
    processFile(
      { index: k, key: sampleFiles[k++]!, size: 0 },
      {
        jobId: 'job-bench',
        rawBucket: 'raw',
        processedBucket: 'processed',
        linkageBucket: 'linkage',
        store,
        rawStore: new LocalInputStore(store),
        deid: { key, options },
        maxObjectBytes: 1e9,
        onStep: () => {},
      },
    ),
  );
} finally {
  await rm(tmp, { recursive: true, force: true });
}

const pad = (s: string, n: number) => s.padEnd(n);
process.stdout.write(
  `\n${pad('step', 42)}${pad('tool', 40)}${pad('files/s', 10)}${pad('MB/s', 9)}peak RSS MB\n${'-'.repeat(112)}\n`,
);
for (const r of rows) {
  const mbs = r.mb / r.seconds;
  process.stdout.write(
    `${pad(r.step, 42)}${pad(r.tool, 40)}${pad((r.files / r.seconds).toFixed(1), 10)}${pad(mbs.toFixed(1), 9)}${r.peakRssMb?.toFixed(0) ?? '-'}\n`,
  );
}
process.stdout.write(
  '\nmedimg rows run in this process (peak RSS is the process high-water mark so far); reference tools run once per file (largest max RSS of a run).\n',
);
