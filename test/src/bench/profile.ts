/**
 * `npm run bench:profile [-- --corpus ct-300] [--stage-files 300]`: where the CLI's time goes. Runs
 * `medimg process` on a bench corpus under `node --cpu-prof`, then sums each thread's self time by
 * area (start-up, parsing, de-identification, decoding, LUTs, PNG encoding, sharp's JavaScript side,
 * writes, GC, idle). sharp's resizing runs on libuv's pool: there it shows as idle time of the thread
 * that asked for it. Also times `medimg --help` (process start and module loading alone), and ends
 * with the CPU time of each stage in process, one file after another (stages.ts), which a loaded
 * machine skews less than the profile's sampled times.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type CorpusName, corpusSpecs, ensureCorpus } from './corpus.ts';
import { deidKeyFile, MEDIMG_BIN } from './side-by-side.ts';
import { stageCpu, stageLines } from './stages.ts';
import { timed } from './tools.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The area of the code base a frame belongs to, from its URL and name. */
export function areaOf(frame: { functionName: string; url: string }): string {
  const { url, functionName: fn } = frame;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle (waiting: sharp pool, I/O)';
  if (fn === '(program)') return 'V8/native (program)';
  if (/node_modules\/(tsx|esbuild|get-tsconfig)|node:internal\/modules|internal\/modules/.test(url))
    return 'start-up: module loading, tsx transform';
  if (url === 'node:zlib') return 'PNG encoding (filter, zlib)';
  // The built CLI is bundled (dist/medimg.js, its chunks, dist/render-thread.mjs): its frames are
  // told apart by function name.
  if (/worker\/dist\//.test(url)) return bundledArea(fn);
  if (/dicom\/src\/writer/.test(url)) return 'write: DICOM serialisation';
  if (/dicom\/src\//.test(url)) return 'parse (DICOM library)';
  if (/worker\/src\/deid\//.test(url)) return 'de-identification';
  if (/worker\/src\/imaging\/lut/.test(url)) return 'LUTs (modality, VOI)';
  if (/worker\/src\/imaging\/render/.test(url)) return 'render (PNG encoding, resizing set-up)';
  if (/worker\/src\/imaging\/|@cornerstonejs|jpeg-lossless|dcmjs-codecs/.test(url)) return 'decode';
  if (/node_modules\/sharp/.test(url)) return 'sharp (JavaScript side)';
  if (/fs-object-store|local-input-store|node:fs|internal\/fs/.test(url)) return 'file reads/writes';
  if (/node_modules\/zod|common\/src\//.test(url)) return 'config, contracts';
  if (/worker\/src\//.test(url)) return 'pipeline, CLI';
  if (url === '') return 'V8/native (builtins)';
  return 'other';
}

const BUNDLED_AREAS: [RegExp, string][] = [
  [/^(writePart10|encodeDataSet|writeDataSet|writeHeader|concat)$/, 'write: DICOM serialisation'],
  [/^(parseDicom|readElement|readDataSet|parse\w*)$/, 'parse (DICOM library)'],
  [/^(deidentify\w*|apply\w*Action|pseudonym\w*|keyed\w*|hmac\w*)$/i, 'de-identification'],
  [
    /^(apply(Window|Modality|Voi)\w*|windowValue|displayValue|storedValueOf|lookup|invert8|rangeOf|through(Word)?Table|wordTable|fillMonotonic|run)$/,
    'LUTs (modality, VOI)',
  ],
  [/^(encodePngPixels|subFilterWords|writeChunk)$/, 'PNG encoding (filter, zlib)'],
  [/^(decode\w*|normaliseIntegers|readIntegers|finishIntegers|encapsulatedFrame)$/, 'decode'],
  [
    /^(renderImage|renderDisplayFrame|displayFrame|encodePng|encodeModelInput|image|fitSize|resized|fitted|onModelSquare|modelInputFrom)$/,
    'render (PNG encoding, resizing set-up)',
  ],
];

function bundledArea(fn: string): string {
  for (const [re, area] of BUNDLED_AREAS) if (re.test(fn)) return area;
  return 'medimg (bundled, other)';
}

export function summarize(profile: CpuProfile): {
  totalMs: number;
  areas: { area: string; ms: number; share: number }[];
  top: { fn: string; url: string; ms: number }[];
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries())
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const areas = new Map<string, number>();
  const fns = new Map<string, { fn: string; url: string; ms: number }>();
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const url = node.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|worker|dicom|common|aws)\//, '$1/');
    const k = `${node.callFrame.functionName}@${url}`;
    const f = fns.get(k) ?? { fn: node.callFrame.functionName || '(anonymous)', url, ms: 0 };
    f.ms += ms;
    fns.set(k, f);
  }
  return {
    totalMs,
    areas: [...areas].map(([area, ms]) => ({ area, ms, share: ms / totalMs })).sort((a, b) => b.ms - a.ms),
    top: [...fns.values()].sort((a, b) => b.ms - a.ms).slice(0, 15),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      corpus: { type: 'string', default: 'ct-300' },
      'corpus-dir': { type: 'string', default: path.join(os.tmpdir(), 'medimg-bench-corpus') },
      out: { type: 'string', default: path.join(process.cwd(), 'bench-results') },
      /** Files of the corpus for the CPU-per-stage table (0: none). */
      'stage-files': { type: 'string', default: '300' },
    },
  });
  const specs = corpusSpecs();
  const spec = specs[values.corpus as CorpusName];
  if (!spec) throw new Error(`unknown corpus ${values.corpus}`);
  const corpus = await ensureCorpus(values['corpus-dir'], spec, specs);
  const work = await mkdtemp(path.join(os.tmpdir(), 'medimg-profile-'));
  try {
    const help = [0, 1, 2].map(() => timed(process.execPath, [MEDIMG_BIN, '--help']).seconds);
    const keyFile = await deidKeyFile(work);
    const profDir = path.join(work, 'prof');
    const out = path.join(work, 'out');
    const started = performance.now();
    const timeFile = path.join(work, 'time.txt');
    const run = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        '%U %S',
        '-o',
        timeFile,
        process.execPath,
        '--cpu-prof',
        `--cpu-prof-dir=${profDir}`,
        MEDIMG_BIN,
        'process',
        corpus.dir,
        '--out',
        out,
        '--key-file',
        keyFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    if (run.status !== 0) throw new Error(`medimg failed: ${run.stderr}`);
    const wallSeconds = (performance.now() - started) / 1000;
    const [user = 0, sys = 0] = (await readFile(timeFile, 'utf8')).trim().split(/\s+/).map(Number);
    const cpuSeconds = user + sys;
    // One profile per thread: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, thread 0 the main one.
    const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
    const threadOf = (f: string) => Number(f.split('.')[4] ?? 0);
    const file = files.find((f) => threadOf(f) === 0);
    if (!file) throw new Error('no profile written');
    const summary = summarize(JSON.parse(await readFile(path.join(profDir, file), 'utf8')) as CpuProfile);
    const threads = await Promise.all(
      files
        .filter((f) => threadOf(f) !== 0)
        .map(async (f) => summarize(JSON.parse(await readFile(path.join(profDir, f), 'utf8')) as CpuProfile)),
    );
    // The render threads together: their areas summed (idle there is waiting for the next file or
    // for libvips, whose work on libuv's pool no JavaScript profile sees).
    const threadAreas = new Map<string, number>();
    for (const t of threads)
      for (const a of t.areas) threadAreas.set(a.area, (threadAreas.get(a.area) ?? 0) + a.ms);
    const threadTotal = threads.reduce((sum, t) => sum + t.totalMs, 0);
    const threadTop = new Map<string, { fn: string; url: string; ms: number }>();
    for (const t of threads)
      for (const f of t.top) {
        const k = `${f.fn}@${f.url}`;
        const e = threadTop.get(k) ?? { ...f, ms: 0 };
        e.ms += f.ms;
        threadTop.set(k, e);
      }
    const threadLines = threads.length
      ? [
          '',
          `render threads: ${threads.length}, ${threads.map((t) => (t.totalMs / 1000).toFixed(2)).join(' s, ')} s profiled`,
          ...[...threadAreas]
            .sort((a, b) => b[1] - a[1])
            .map(
              ([area, ms]) =>
                `${area.padEnd(42)}${(ms / 1000).toFixed(2).padStart(8)} s ${((ms / threadTotal) * 100).toFixed(1).padStart(6)} %`,
            ),
          '',
          'render threads, top functions (self time, all threads):',
          ...[...threadTop.values()]
            .sort((a, b) => b.ms - a.ms)
            .slice(0, 12)
            .map((f) => `${(f.ms / 1000).toFixed(2).padStart(8)} s  ${f.fn}  ${f.url}`),
        ]
      : [];
    const stageFiles = corpus.files.slice(0, Number(values['stage-files']));
    const stages = stageFiles.length > 0 ? ['', ...stageLines(await stageCpu(stageFiles))] : [];
    const lines = [
      `profile of medimg process on ${spec.name} (${corpus.files.length} files, ${(corpus.bytes / 1e6).toFixed(0)} MB), load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
      `medimg --help (start-up, module loading): ${help.map((s) => s.toFixed(2)).join(' s, ')} s`,
      `CPU time of the run (user + sys, all threads): ${cpuSeconds.toFixed(2)} s; wall ${wallSeconds.toFixed(2)} s`,
      `main thread profiled: ${(summary.totalMs / 1000).toFixed(2)} s`,
      '',
      ...summary.areas.map(
        (a) =>
          `${a.area.padEnd(42)}${(a.ms / 1000).toFixed(2).padStart(8)} s ${(a.share * 100).toFixed(1).padStart(6)} %`,
      ),
      '',
      'main thread, top functions (self time):',
      ...summary.top.map((f) => `${(f.ms / 1000).toFixed(2).padStart(8)} s  ${f.fn}  ${f.url}`),
      ...threadLines,
      ...stages,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await writeFile(path.join(values.out, `profile-${spec.name}.txt`), `${lines.join('\n')}\n`).catch(
      async () => {
        const { mkdir } = await import('node:fs/promises');
        await mkdir(values.out, { recursive: true });
        await writeFile(path.join(values.out, `profile-${spec.name}.txt`), `${lines.join('\n')}\n`);
      },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
