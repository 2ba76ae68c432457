/**
 * `medimg process <file-or-folder>... --out <dir>`: the worker's per-file steps on local files, with
 * no server. Writes per input the de-identified DICOM, a preview PNG, a thumbnail and the model
 * input, plus <dir>/report.json. Exit code 0 when it ran, even if inputs were quarantined.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { LocalInputStore } from '../adapters/local-input-store.ts';
import { loadDeidKey } from '../deid/key.ts';
import { closeSharedTextReader } from '../deid/ocr.ts';
import { parseDeidOptions } from '../deid/options.ts';
import { PIPELINE_COVERAGE } from '../pipeline/coverage.ts';
import { type FileContext, processFile } from '../pipeline/process-file.ts';

const USAGE = `Usage: medimg process <file-or-folder>... --out <dir> [--key-file <file>] [--burned-in quarantine|redact|blank]

De-identifies, normalizes and renders DICOM files on this machine, with no server.
The de-identification key comes from --key-file, DEID_KEY_FILE or DEID_KEY (hex or base64, >= 32 bytes);
without one, a key is created once in ~/.config/medimg/deid.key and reused, so pseudonyms stay stable.

--burned-in (text drawn into the pixels; images of modalities other than CT, MR, PT and NM, and any
image flagged Burned In Annotation YES, are scanned with OCR):
  quarantine  images in which text is found are quarantined (default)
  redact      text found is blanked, the result is scanned again, and quarantined if text remains
  blank       blank configured regions only (no scan; none are configured on the command line)`;

async function collect(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (p: string): Promise<void> => {
    const s = await stat(p);
    if (s.isDirectory()) {
      for (const e of (await readdir(p)).sort()) if (!e.startsWith('.')) await walk(path.join(p, e));
    } else if (s.isFile()) files.push(path.resolve(p));
  };
  for (const i of inputs) await walk(i);
  return files;
}

async function keyFromUserConfig(): Promise<string> {
  const file = path.join(os.homedir(), '.config', 'medimg', 'deid.key');
  if (!existsSync(file)) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    process.stderr.write(
      `medimg: created a de-identification key in ${file} (keep it secret; pseudonyms depend on it)\n`,
    );
  }
  await chmod(file, 0o600);
  return file;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'process') {
    process.stderr.write(`${USAGE}\n`);
    return command === '--help' || command === '-h' ? 0 : 64;
  }
  const { values, positionals } = parseArgs({
    args: [...rest],
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'key-file': { type: 'string' },
      'burned-in': { type: 'string', default: 'quarantine' },
    },
  });
  if (!values.out || positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    return 64;
  }
  const burnedIn = values['burned-in'];
  if (burnedIn !== 'quarantine' && burnedIn !== 'blank' && burnedIn !== 'redact') {
    process.stderr.write('medimg: --burned-in must be quarantine, redact or blank\n');
    return 64;
  }
  const env = { ...process.env };
  if (values['key-file']) env.DEID_KEY_FILE = values['key-file'];
  else if (!env.DEID_KEY && !env.DEID_KEY_FILE) env.DEID_KEY_FILE = await keyFromUserConfig();
  const key = await loadDeidKey(env, { production: false });

  const outDir = path.resolve(values.out);
  const files = await collect(positionals);
  const out = new FsObjectStore(outDir);
  const jobId = 'job-local';
  const ctx: FileContext = {
    jobId,
    rawBucket: 'raw',
    processedBucket: 'processed',
    linkageBucket: 'linkage',
    store: out,
    rawStore: new LocalInputStore(out),
    deid: { key, options: parseDeidOptions({ burnedInPolicy: burnedIn }) },
    maxObjectBytes: 2 * 1024 ** 3,
    linkageWrites: new Map(),
    onStep: () => {},
  };
  const entries = [];
  for (const [index, file] of files.entries()) {
    const size = (await stat(file)).size;
    const result = await processFile({ index, key: file, size }, ctx);
    const abs = (bucket: string, k?: string) => (k ? path.join(outDir, bucket, k) : undefined);
    const entry =
      result.status === 'processed'
        ? {
            input: file,
            status: result.status,
            reason: null,
            ...(result.instance.textCheck ? { textCheck: result.instance.textCheck } : {}),
            outputs: {
              dicom: abs('processed', result.instance.keys.instance),
              preview: abs('processed', result.instance.keys.preview),
              thumbnail: abs('processed', result.instance.keys.thumbnail),
              modelInput: abs('processed', result.instance.keys.modelInput),
            },
          }
        : {
            input: file,
            status: result.status,
            reason: result.status === 'quarantined' ? result.reason : result.errorCode,
            step: result.step,
            ...(result.status === 'quarantined' && result.textCheck ? { textCheck: result.textCheck } : {}),
            outputs: {},
          };
    entries.push(entry);
    const check = 'textCheck' in entry ? entry.textCheck : undefined;
    const text = check
      ? `, text: ${check.textBoxes} region(s), ${check.phiMatches} matching the header, ${check.action}`
      : '';
    process.stderr.write(
      `  ${entry.status.padEnd(11)} ${path.basename(file)}${entry.reason ? ` (${entry.reason})` : ''}${text}
`,
    );
  }
  const counts = {
    inputs: entries.length,
    processed: entries.filter((e) => e.status === 'processed').length,
    quarantined: entries.filter((e) => e.status === 'quarantined').length,
    failed: entries.filter((e) => e.status === 'failed').length,
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(
    path.join(outDir, 'report.json'),
    JSON.stringify({ version: 1, coverage: PIPELINE_COVERAGE, counts, entries }, null, 2),
  );
  process.stderr.write(
    `medimg: ${counts.processed} processed, ${counts.quarantined} quarantined, ${counts.failed} failed; report: ${path.join(outDir, 'report.json')}\n`,
  );
  await closeSharedTextReader();
  return 0;
}

if (process.argv[1] && /medimg(\.js)?$|cli[\\/]main\.ts$/.test(process.argv[1])) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`medimg: ${error instanceof Error ? error.message : 'failed'}\n`);
      process.exit(1);
    },
  );
}
