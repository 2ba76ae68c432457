/**
 * The side-by-side section: on each corpus, the worker's CLI as a user runs it (a whole process,
 * start-up included) against the reference tools on the same files:
 *   - gdcmanon on the folder in one process (PS3.15 basic profile; de-identify + write only);
 *   - dcm2pnm once per file (dcml2pnm for JPEG-LS; render one PNG only);
 *   - pydicom + numpy + Pillow (pydicom_bench.py: read, blank a few fields, write, one PNG per file).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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

export async function sideBySide(
  corpus: Corpus,
  work: string,
  keyFile: string,
  certFile: string,
): Promise<Row[]> {
  const rows: Row[] = [];
  const mb = corpus.bytes / 1e6;
  const base = { section: 'side-by-side', corpus: corpus.name, files: corpus.files.length, mb };
  const fresh = async (name: string) => {
    const dir = path.join(work, corpus.name, name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return dir;
  };

  // The worker's CLI, whole process.
  const out = path.join(await fresh('medimg'), 'out');
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
  rows.push({
    ...base,
    step: 'de-identify + write + preview, thumbnail, model input',
    tool: 'medimg process (CLI)',
    ok: m.status === 0 ? await medimgOk(out) : 0,
    seconds: m.seconds,
    peakRssMb: m.peakRssMb,
  });

  // gdcmanon, the whole folder in one process.
  const anonOut = await fresh('gdcmanon');
  const g = timed('gdcmanon', ['-e', '-c', certFile, '--continue', '-r', '-i', corpus.dir, '-o', anonOut]);
  const anonOk = g.status === 0 ? corpus.files.length : 0;
  rows.push({
    ...base,
    step: 'de-identify + write (basic profile)',
    tool: 'gdcmanon (folder, 1 process)',
    ok: anonOk,
    seconds: g.seconds,
    peakRssMb: g.peakRssMb,
  });

  // dcm2pnm per file (dcml2pnm for JPEG-LS).
  const pnmOut = await fresh('dcm2pnm');
  const pnmTool = corpus.jpegLs ? 'dcml2pnm' : 'dcm2pnm';
  const p = timedPerFile(pnmTool, corpus.files, (f, i) => [
    '+on',
    '+Wi',
    '1',
    f,
    path.join(pnmOut, `${i}.png`),
  ]);
  rows.push({
    ...base,
    step: 'render one PNG',
    tool: `${pnmTool} (1 process per file)`,
    ok: p.ok,
    seconds: p.seconds,
    peakRssMb: p.peakRssMb,
  });
  rows.push({
    ...base,
    step: 'de-identify + write + one PNG',
    tool: `gdcmanon + ${pnmTool} (sum)`,
    ok: Math.min(anonOk, p.ok),
    seconds: g.seconds + p.seconds,
    peakRssMb: Math.max(g.peakRssMb, p.peakRssMb),
  });

  // pydicom + numpy + Pillow.
  const pyOut = await fresh('pydicom');
  const py = timed(PYTHON, [PY_SCRIPT, corpus.dir, pyOut]);
  let pyOk = 0;
  let note: string | undefined;
  try {
    const summary = JSON.parse(py.stdout.trim().split('\n').at(-1) ?? '{}') as {
      ok?: number;
      errors?: Record<string, number>;
    };
    pyOk = summary.ok ?? 0;
    if (summary.errors && Object.keys(summary.errors).length > 0)
      note = `errors: ${JSON.stringify(summary.errors)}`;
  } catch {
    note = `script failed: ${py.stderr.trim().split('\n').at(-1) ?? ''}`;
  }
  rows.push({
    ...base,
    step: 'read, blank fields, write + one PNG',
    tool: 'pydicom + numpy + Pillow script',
    ok: pyOk,
    seconds: py.seconds,
    peakRssMb: py.peakRssMb,
    ...(note ? { note } : {}),
  });
  return rows;
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
