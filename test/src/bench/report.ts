/** The bench's environment record (machine, load, every tool's version) and its table. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { REPO_ROOT } from '../local/task-runner.ts';
import { filesPerSecond, mbPerSecond, type Row } from './rows.ts';
import { PYTHON } from './side-by-side.ts';
import { versionOf } from './tools.ts';

export function environment() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim();
  } catch {}
  const sharp = (() => {
    try {
      return execFileSync(
        process.execPath,
        ['-e', 'const s=require("sharp");console.log(s.versions.sharp+" (libvips "+s.versions.vips+")")'],
        {
          cwd: `${REPO_ROOT}/worker`,
          encoding: 'utf8',
        },
      ).trim();
    } catch {
      return 'unknown';
    }
  })();
  return {
    machine: {
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
      loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
    },
    versions: {
      medimg: `git ${commit}`,
      node: process.version,
      sharp,
      gdcmanon: versionOf('gdcmanon', ['--version'], /gdcm [\d.]+/),
      dcm2pnm: versionOf('dcm2pnm', ['--version'], /v[\d.]+ [\d-]+/),
      dcml2pnm: versionOf('dcml2pnm', ['--version'], /v[\d.]+ [\d-]+/),
      python: versionOf(PYTHON, ['--version']),
      pydicomNumpyPillow: versionOf(PYTHON, [
        '-c',
        'import pydicom,numpy,PIL;print(f"pydicom {pydicom.__version__}, numpy {numpy.__version__}, Pillow {PIL.__version__}")',
      ]),
    },
  };
}

/** One reference against medimg on one corpus. */
export interface Ratio {
  readonly corpus: string;
  readonly reference: string;
  readonly ratio: number;
  readonly low?: number;
  readonly high?: number;
}

/**
 * Reference tool time / medimg time on the same corpus (above 1: medimg faster), from the median
 * runs; `low` and `high` pair the slowest medimg run with the fastest reference run and the reverse
 * (where the tools ran more than once).
 */
export function ratios(rows: readonly Row[]): Ratio[] {
  const out: Ratio[] = [];
  for (const m of rows.filter((r) => r.section === 'side-by-side' && r.tool.startsWith('medimg'))) {
    // A reference that failed on some files is not compared (its time is not the same work).
    const done = (x: Row) =>
      x.section === 'side-by-side' && x.corpus === m.corpus && x !== m && x.ok === x.files;
    for (const r of rows.filter(done)) {
      const spread =
        m.runs && r.runs && m.runs.count > 1
          ? { low: r.runs.min / m.runs.max, high: r.runs.max / m.runs.min }
          : {};
      out.push({ corpus: m.corpus, reference: r.tool, ratio: r.seconds / m.seconds, ...spread });
    }
  }
  return out;
}

/** "6.10x" or, over several runs, "6.10x (5.20x to 7.00x)". */
const ratioText = (x: Ratio) =>
  `${x.ratio.toFixed(2)}x${x.low !== undefined && x.high !== undefined ? ` (${x.low.toFixed(2)}x to ${x.high.toFixed(2)}x)` : ''}`;

/** "2.61 to 3.05" over several runs, '-' for one. */
const rangeText = (r: Row) =>
  r.runs && r.runs.count > 1 ? `${fmt(r.runs.min, 2)} to ${fmt(r.runs.max, 2)}` : '-';

const fmt = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));

export function textTable(rows: readonly Row[]): string {
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [
    `${pad('section', 13)}${pad('corpus', 15)}${pad('tool', 36)}${pad('ok', 10)}${pad('s', 9)}${pad('runs s', 15)}${pad('CPU s', 8)}${pad('files/s', 9)}${pad('MB/s', 8)}peak MB`,
  ];
  for (const r of rows) {
    lines.push(
      `${pad(r.section, 13)}${pad(r.corpus, 15)}${pad(r.tool, 36)}${pad(`${r.ok}/${r.files}`, 10)}${pad(fmt(r.seconds, 2), 9)}${pad(rangeText(r), 15)}${pad(fmt(r.cpuSeconds, 2), 8)}${pad(fmt(filesPerSecond(r)), 9)}${pad(fmt(mbPerSecond(r)), 8)}${fmt(r.peakRssMb, 0)}${r.note ? `  ${r.note}` : ''}`,
    );
  }
  lines.push(
    '',
    'ratios (reference seconds / medimg seconds, median runs; in parentheses the slowest medimg run against the fastest reference run and the reverse; above 1 = medimg faster; references that failed on some files are left out):',
  );
  for (const x of ratios(rows)) lines.push(`  ${pad(x.corpus, 15)}${pad(x.reference, 36)}${ratioText(x)}`);
  return lines.join('\n');
}

export function markdownReport(result: {
  date: string;
  scale: number;
  runs: number;
  environment: { before: ReturnType<typeof environment>; after: ReturnType<typeof environment> };
  corpora: { name: string; description: string; files: number; mb: number }[];
  rows: Row[];
}): string {
  const e = result.environment.before;
  const out = [
    `# Bench results (${result.date})`,
    '',
    `Machine: ${e.machine.cpuModel}, ${e.machine.cpus} CPU(s), ${e.machine.memoryGiB} GiB, ${e.machine.platform}; load average ${e.machine.loadAverage.join(' ')} before, ${result.environment.after.machine.loadAverage.join(' ')} after.`,
    `Versions: ${Object.entries(e.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}.`,
    result.scale === 1 ? '' : `**Scaled corpora (${result.scale}): not comparable with full runs.**`,
    result.runs === 1
      ? 'Side by side, every tool ran once; `CPU s` is its CPU time (user + system, every thread and child process).'
      : `Side by side, every tool ran ${result.runs} times, interleaved; \`s\` is the median run, \`runs s\` the fastest and slowest, \`CPU s\` the median CPU time (user + system, every thread and child process).`,
    '',
    '| corpus | files | MB | description |',
    '|---|---|---|---|',
    ...result.corpora.map((c) => `| ${c.name} | ${c.files} | ${c.mb.toFixed(1)} | ${c.description} |`),
    '',
    '| section | corpus | step | tool | ok | s | runs s | CPU s | files/s | MB/s | peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...result.rows.map(
      (r) =>
        `| ${r.section} | ${r.corpus} | ${r.step} | ${r.tool} | ${r.ok}/${r.files} | ${fmt(r.seconds, 2)} | ${rangeText(r)} | ${fmt(r.cpuSeconds, 2)} | ${fmt(filesPerSecond(r))} | ${fmt(mbPerSecond(r))} | ${fmt(r.peakRssMb, 0)}${r.note ? ` (${r.note})` : ''} |`,
    ),
    '',
    'Ratios (reference seconds / medimg seconds, median runs; in parentheses the slowest medimg run against the fastest reference run, and the reverse; above 1 means medimg is faster):',
    '',
    '| corpus | reference | ratio |',
    '|---|---|---|',
    ...ratios(result.rows).map((x) => `| ${x.corpus} | ${x.reference} | ${ratioText(x)} |`),
    '',
  ];
  return out.join('\n');
}
