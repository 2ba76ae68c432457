/**
 * `npm run bench:profile [-- --corpus ct-300]`: where the CLI's time goes. Runs `medimg process` on
 * a bench corpus under `node --cpu-prof`, then sums the main thread's self time by area (start-up,
 * parsing, de-identification, decoding, LUTs, sharp's JavaScript side, writes, GC, idle). sharp's
 * resizing and PNG encoding run on libuv's pool, off the main thread: there they show as idle time
 * of the main thread. Also times `medimg --help` (process start and module loading alone).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type CorpusName, corpusSpecs, ensureCorpus } from './corpus.ts';
import { deidKeyFile, MEDIMG_BIN } from './side-by-side.ts';
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
  if (/dicom\/src\/writer/.test(url)) return 'write: DICOM serialisation';
  if (/dicom\/src\//.test(url)) return 'parse (DICOM library)';
  if (/worker\/src\/deid\//.test(url)) return 'de-identification';
  if (/worker\/src\/imaging\/lut/.test(url)) return 'LUTs (modality, VOI)';
  if (/worker\/src\/imaging\/render/.test(url)) return 'render (PNG pipeline set-up)';
  if (/worker\/src\/imaging\/|@cornerstonejs|jpeg-lossless|dcmjs-codecs/.test(url)) return 'decode';
  if (/node_modules\/sharp/.test(url)) return 'sharp (JavaScript side)';
  if (/fs-object-store|local-input-store|node:fs|internal\/fs/.test(url)) return 'file reads/writes';
  if (/node_modules\/zod|common\/src\//.test(url)) return 'config, contracts';
  if (/worker\/src\//.test(url)) return 'pipeline, CLI';
  if (url === '') return 'V8/native (builtins)';
  return 'other';
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
    const run = spawnSync(
      process.execPath,
      [
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
    const file = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no profile written');
    const summary = summarize(JSON.parse(await readFile(path.join(profDir, file), 'utf8')) as CpuProfile);
    const lines = [
      `profile of medimg process on ${spec.name} (${corpus.files.length} files, ${(corpus.bytes / 1e6).toFixed(0)} MB), load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
      `medimg --help (start-up, module loading): ${help.map((s) => s.toFixed(2)).join(' s, ')} s`,
      `main thread profiled: ${(summary.totalMs / 1000).toFixed(2)} s`,
      '',
      ...summary.areas.map(
        (a) =>
          `${a.area.padEnd(42)}${(a.ms / 1000).toFixed(2).padStart(8)} s ${(a.share * 100).toFixed(1).padStart(6)} %`,
      ),
      '',
      'top functions (self time):',
      ...summary.top.map((f) => `${(f.ms / 1000).toFixed(2).padStart(8)} s  ${f.fn}  ${f.url}`),
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
