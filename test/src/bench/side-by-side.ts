/**
 * The side-by-side section: on each corpus, the worker's CLI as a user runs it (a whole process,
 * start-up included) against the reference tools on the same files:
 *   - gdcmanon on the folder in one process (PS3.15 basic profile; de-identify + write only);
 *   - dcm2pnm once per file (dcml2pnm for JPEG-LS; render one PNG only);
 *   - pydicom + numpy + Pillow (pydicom_bench.py: read, blank a few fields, write, one PNG per file).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../local/task-runner.ts';
import type { Row } from './rows.ts';
import { timed, timedPerFile } from './tools.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const MEDIMG_BIN = path.join(REPO_ROOT, 'worker/bin/medimg.js');
export const PYTHON = '/usr/bin/python3';
export const PY_SCRIPT = path.join(HERE, 'pydicom_bench.py');

export interface Corpus {
  readonly name: string;
  readonly dir: string;
  readonly files: readonly string[];
  readonly bytes: number;
  /** The corpus is JPEG-LS: dcml2pnm renders it; pydicom has no JPEG-LS handler in Debian's packages. */
  readonly jpegLs?: boolean;
}

/** Files the CLI processed, from its report.json (status 'processed'). */
async function medimgOk(outDir: string): Promise<number> {
  try {
    const report = JSON.parse(await readFile(path.join(outDir, 'report.json'), 'utf8')) as {
      counts?: { processed?: number };
    };
    return report.counts?.processed ?? 0;
  } catch {
    return 0;
  }
}

/** One timed run of one tool on the whole corpus. */
interface Run {
  readonly seconds: number;
  /** User + system CPU seconds; absent where not measured. */
  readonly cpuSeconds?: number;
  readonly peakRssMb: number;
  readonly ok: number;
  readonly note?: string;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/**
 * A row from `runs` of one tool: the median time, the fastest and slowest run, the median CPU time,
 * the largest peak RSS, and the fewest files done (a run that failed a file is not hidden by one
 * that did not).
 */
export function summarise(
  runs: readonly Run[],
): Pick<Row, 'seconds' | 'cpuSeconds' | 'peakRssMb' | 'ok' | 'runs' | 'note'> {
  const seconds = runs.map((r) => r.seconds);
  const cpu = runs.flatMap((r) =>
    r.cpuSeconds !== undefined && Number.isFinite(r.cpuSeconds) ? [r.cpuSeconds] : [],
  );
  const notes = [...new Set(runs.flatMap((r) => (r.note ? [r.note] : [])))];
  return {
    seconds: median(seconds),
    ...(cpu.length === runs.length ? { cpuSeconds: median(cpu) } : {}),
    runs: { count: runs.length, min: Math.min(...seconds), max: Math.max(...seconds) },
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    ok: Math.min(...runs.map((r) => r.ok)),
    ...(notes.length ? { note: notes.join('; ') } : {}),
  };
}

/**
 * Every tool `runs` times, interleaved (medimg, gdcmanon, dcm2pnm, pydicom, then again), so that a
 * change in the machine's load or its disk during the run weighs on every tool alike; each row gives
 * the median run. Outputs are kept until the bench ends: deleting thousands of files just before a
 * run slows the next file creations on ext4 (it skips recently freed inodes), which would weigh on
 * whichever tool came next.
 */
export async function sideBySide(
  corpus: Corpus,
  work: string,
  keyFile: string,
  certFile: string,
  runs = 3,
): Promise<Row[]> {
  const mb = corpus.bytes / 1e6;
  const base = { section: 'side-by-side', corpus: corpus.name, files: corpus.files.length, mb };
  const fresh = async (name: string, run: number) => {
    const dir = path.join(work, corpus.name, `${name}-${run}`);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  const pnm = corpus.jpegLs ? 'dcml2pnm' : 'dcm2pnm';

  // The worker's CLI, whole process.
  const medimg = async (run: number): Promise<Run> => {
    const out = path.join(await fresh('medimg', run), 'out');
    const m = timed(process.execPath, [
      MEDIMG_BIN,
      'process',
      corpus.dir,
      '--out',
      out,
      '--restricted',
      `${out}-restricted`,
      '--key-file',
      keyFile,
    ]);
    return {
      seconds: m.seconds,
      cpuSeconds: m.cpuSeconds,
      peakRssMb: m.peakRssMb,
      ok: m.status === 0 ? await medimgOk(out) : 0,
    };
  };
  // gdcmanon, the whole folder in one process.
  const gdcmanon = async (run: number): Promise<Run> => {
    const out = await fresh('gdcmanon', run);
    const g = timed('gdcmanon', ['-e', '-c', certFile, '--continue', '-r', '-i', corpus.dir, '-o', out]);
    return {
      seconds: g.seconds,
      cpuSeconds: g.cpuSeconds,
      peakRssMb: g.peakRssMb,
      ok: g.status === 0 ? corpus.files.length : 0,
    };
  };
  // dcm2pnm per file (dcml2pnm for JPEG-LS).
  const dcm2pnm = async (run: number): Promise<Run> => {
    const out = await fresh('dcm2pnm', run);
    return timedPerFile(pnm, corpus.files, (f, i) => ['+on', '+Wi', '1', f, path.join(out, `${i}.png`)]);
  };
  // pydicom + numpy + Pillow.
  const pydicom = async (run: number): Promise<Run> => {
    const out = await fresh('pydicom', run);
    const py = timed(PYTHON, [PY_SCRIPT, corpus.dir, out]);
    let ok = 0;
    let note: string | undefined;
    try {
      const summary = JSON.parse(py.stdout.trim().split('\n').at(-1) ?? '{}') as {
        ok?: number;
        errors?: Record<string, number>;
      };
      ok = summary.ok ?? 0;
      if (summary.errors && Object.keys(summary.errors).length > 0)
        note = `errors: ${JSON.stringify(summary.errors)}`;
    } catch {
      note = `script failed: ${py.stderr.trim().split('\n').at(-1) ?? ''}`;
    }
    return {
      seconds: py.seconds,
      cpuSeconds: py.cpuSeconds,
      peakRssMb: py.peakRssMb,
      ok,
      ...(note ? { note } : {}),
    };
  };

  const medimgTool = {
    step: 'de-identify + write + preview, thumbnail, model input',
    tool: 'medimg process (CLI)',
    run: medimg,
  };
  const anonTool = {
    step: 'de-identify + write (basic profile)',
    tool: 'gdcmanon (folder, 1 process)',
    run: gdcmanon,
  };
  const pnmTool = { step: 'render one PNG', tool: `${pnm} (1 process per file)`, run: dcm2pnm };
  const pyTool = {
    step: 'read, blank fields, write + one PNG',
    tool: 'pydicom + numpy + Pillow script',
    run: pydicom,
  };
  const tools = [medimgTool, anonTool, pnmTool, pyTool];
  const done = new Map(tools.map((t) => [t, [] as Run[]]));
  for (let round = 1; round <= runs; round++) for (const t of tools) done.get(t)!.push(await t.run(round));
  // The sum of the two references round by round (both ran in the same round), then its median.
  const pnmRuns = done.get(pnmTool)!;
  const sum = done.get(anonTool)!.map((g, i) => ({
    seconds: g.seconds + pnmRuns[i]!.seconds,
    ...(g.cpuSeconds !== undefined && pnmRuns[i]!.cpuSeconds !== undefined
      ? { cpuSeconds: g.cpuSeconds + pnmRuns[i]!.cpuSeconds! }
      : {}),
    peakRssMb: Math.max(g.peakRssMb, pnmRuns[i]!.peakRssMb),
    ok: Math.min(g.ok, pnmRuns[i]!.ok),
  }));
  const row = (step: string, tool: string, r: readonly Run[]): Row => ({
    ...base,
    step,
    tool,
    ...summarise(r),
  });
  const rowOf = (t: (typeof tools)[number]) => row(t.step, t.tool, done.get(t)!);
  return [
    rowOf(medimgTool),
    rowOf(anonTool),
    rowOf(pnmTool),
    row('de-identify + write + one PNG', `gdcmanon + ${pnm} (sum)`, sum),
    rowOf(pyTool),
  ];
}

/** A self-signed certificate for gdcmanon's basic profile (it encrypts the original attributes). */
export async function gdcmanonCertificate(dir: string): Promise<string> {
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=medimg-bench',
    ],
    { stdio: 'ignore' },
  );
  return cert;
}

export async function deidKeyFile(dir: string): Promise<string> {
  const file = path.join(dir, 'deid.key');
  await writeFile(file, 'a5'.repeat(32), { mode: 0o600 });
  return file;
}
