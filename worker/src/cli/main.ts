/**
 * `medimg process <file-or-folder>... --out <dir> [--restricted <dir>]`: the worker's per-file
 * steps on local files, with no server.
 *
 * Two folders, so that what may be shared is never mixed with what may not:
 *   - `--out` (shareable): only de-identified material: per input the de-identified DICOM, a
 *     preview PNG, a thumbnail and the model input under studies/, quarantine reason codes under
 *     quarantine/, and report.json, which names inputs by index and keyed hash, never by path;
 *   - `--restricted` (default: beside the output, named <out>-RESTRICTED-PHI): the linkage records
 *     (pseudonym -> original identifiers), the quarantined originals, and inputs.json (index ->
 *     path). It holds patient data: keep it where the originals are kept.
 * Exit code 0 when it ran, even if inputs were quarantined.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ObjectInfo, ObjectStore, PutOptions } from '@medimg/common';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { LocalInputStore } from '../adapters/local-input-store.ts';
import { loadDeidKey } from '../deid/key.ts';
import { DEID_PROFILES, isDeidProfile, profileOptions } from '../deid/options.ts';
import { ByteBudget } from '../pipeline/byte-budget.ts';
import { defaultConcurrency } from '../pipeline/concurrency.ts';
import { PIPELINE_COVERAGE } from '../pipeline/coverage.ts';
import { type FileContext, inputIdOf, processFile } from '../pipeline/process-file.ts';
import { REIDENTIFY_USAGE, runReidentify } from './reidentify.ts';

const USAGE = `Usage: medimg process <file-or-folder>... --out <dir> [--restricted <dir>] [--profile research|safe-harbor] [--key-file <file>] [--burned-in quarantine|blank]

De-identifies, normalizes and renders DICOM files on this machine, with no server.
--out holds only de-identified material (shareable); --restricted (default <out>-RESTRICTED-PHI,
beside it) holds the linkage records, the quarantined originals and the input file names.
--profile research (default) keeps device identity, patient characteristics and shifted dates;
safe-harbor also removes device identity and aggregates ages over 89 (docs/deidentification.md).
The de-identification key comes from --key-file, DEID_KEY_FILE or DEID_KEY (hex or base64, >= 32 bytes);
without one, a key is created once in ~/.config/medimg/deid.key and reused, so pseudonyms stay stable.`;

/** Bytes of input in flight at once, as the worker's MAX_BYTES_IN_FLIGHT default. */
const CLI_BYTES_IN_FLIGHT = 512 * 1024 * 1024;

/** Buckets of the pipeline mapped to the CLI's two folders. */
class FolderStore implements ObjectStore {
  constructor(private readonly folders: Readonly<Record<string, { store: FsObjectStore; bucket: string }>>) {}

  private target(bucket: string) {
    const t = this.folders[bucket];
    if (!t) throw new Error(`no folder for bucket ${bucket}`);
    return t;
  }

  get(bucket: string, key: string): Promise<Uint8Array> {
    const t = this.target(bucket);
    return t.store.get(t.bucket, key);
  }

  getIfExists(bucket: string, key: string): Promise<Uint8Array | undefined> {
    const t = this.target(bucket);
    return t.store.getIfExists(t.bucket, key);
  }

  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    const t = this.target(bucket);
    return t.store.put(t.bucket, key, body, options);
  }

  head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const t = this.target(bucket);
    return t.store.head(t.bucket, key);
  }

  list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const t = this.target(bucket);
    return t.store.list(t.bucket, prefix);
  }
}

const isInside = (child: string, parent: string): boolean => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

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
  if (command === 'reidentify') {
    return runReidentify(rest, {
      stdout: (text) => void process.stdout.write(text),
      stderr: (text) => void process.stderr.write(text),
    });
  }
  if (command !== 'process') {
    process.stderr.write(`${USAGE}\n\n${REIDENTIFY_USAGE}\n`);
    return command === '--help' || command === '-h' ? 0 : 64;
  }
  const { values, positionals } = parseArgs({
    args: [...rest],
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      restricted: { type: 'string' },
      profile: { type: 'string', default: 'research' },
      'key-file': { type: 'string' },
      'burned-in': { type: 'string', default: 'quarantine' },
    },
  });
  if (!values.out || positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    return 64;
  }
  const burnedIn = values['burned-in'];
  if (burnedIn !== 'quarantine' && burnedIn !== 'blank') {
    process.stderr.write('medimg: --burned-in must be quarantine or blank\n');
    return 64;
  }
  const profile = values.profile;
  if (!isDeidProfile(profile)) {
    process.stderr.write(`medimg: --profile must be one of ${DEID_PROFILES.join(', ')}\n`);
    return 64;
  }
  const outDir = path.resolve(values.out);
  const restrictedDir = path.resolve(values.restricted ?? `${outDir}-RESTRICTED-PHI`);
  if (isInside(restrictedDir, outDir) || isInside(outDir, restrictedDir)) {
    process.stderr.write(
      'medimg: --restricted must be a folder apart from --out, neither inside the other\n',
    );
    return 64;
  }
  const env = { ...process.env };
  if (values['key-file']) env.DEID_KEY_FILE = values['key-file'];
  else if (!env.DEID_KEY && !env.DEID_KEY_FILE) env.DEID_KEY_FILE = await keyFromUserConfig();
  const key = await loadDeidKey(env, { production: false });

  const files = await collect(positionals);
  const shareable = new FsObjectStore(outDir);
  const restricted = new FsObjectStore(restrictedDir);
  const store = new FolderStore({
    processed: { store: shareable, bucket: '.' },
    linkage: { store: restricted, bucket: '.' },
    originals: { store: restricted, bucket: 'originals' },
  });
  const jobId = 'job-local';
  const ctx: FileContext = {
    jobId,
    rawBucket: 'originals',
    processedBucket: 'processed',
    linkageBucket: 'linkage',
    store,
    rawStore: new LocalInputStore(store),
    deid: { key, options: profileOptions(profile, { burnedInPolicy: burnedIn }) },
    maxObjectBytes: 2 * 1024 ** 3,
    linkageWrites: new Map(),
    onStep: () => {},
  };
  // As the worker does (pipeline/job.ts): files at once by CPU count, bounded by bytes in flight.
  const budget = new ByteBudget(CLI_BYTES_IN_FLIGHT, defaultConcurrency());
  const done = await Promise.all(files.map((file, index) => processOne(file, index)));
  const entries = done.map((d) => d.entry);
  const inputs = done.map((d) => d.input);

  async function processOne(file: string, index: number) {
    const size = (await stat(file)).size;
    const inputId = inputIdOf(key, file);
    const result = await budget.run(Math.max(size, 1), () => processFile({ index, key: file, size }, ctx));
    const entry =
      result.status === 'processed'
        ? {
            index,
            inputId,
            status: result.status,
            reason: null,
            outputs: {
              dicom: result.instance.keys.instance,
              preview: result.instance.keys.preview,
              thumbnail: result.instance.keys.thumbnail,
              modelInput: result.instance.keys.modelInput,
            },
          }
        : {
            index,
            inputId,
            status: result.status,
            reason: result.status === 'quarantined' ? result.reason : result.errorCode,
            step: result.step,
            outputs: {},
          };
    process.stderr.write(
      `  ${entry.status.padEnd(11)} #${index} ${inputId}${entry.reason ? ` (${entry.reason})` : ''}\n`,
    );
    return { entry, input: { index, inputId, input: file, status: entry.status } };
  }
  const counts = {
    inputs: entries.length,
    processed: entries.filter((e) => e.status === 'processed').length,
    quarantined: entries.filter((e) => e.status === 'quarantined').length,
    failed: entries.filter((e) => e.status === 'failed').length,
  };
  await mkdir(outDir, { recursive: true });
  await mkdir(restrictedDir, { recursive: true, mode: 0o700 });
  await writeFile(
    path.join(outDir, 'report.json'),
    JSON.stringify({ version: 2, profile, coverage: PIPELINE_COVERAGE, counts, entries }, null, 2),
  );
  await writeFile(path.join(restrictedDir, 'inputs.json'), JSON.stringify({ version: 1, inputs }, null, 2), {
    mode: 0o600,
  });
  await writeFile(
    path.join(restrictedDir, 'README.txt'),
    'RESTRICTED: this folder holds patient data (original identifiers in linkage/, quarantined\n' +
      'originals in originals/, input file names in inputs.json). Do not share it; keep it where\n' +
      'the original images are kept. The shareable, de-identified output is the --out folder.\n',
  );
  process.stderr.write(
    `medimg: ${counts.processed} processed, ${counts.quarantined} quarantined, ${counts.failed} failed (profile ${profile})\n` +
      `  shareable (de-identified only): ${outDir}\n` +
      `  RESTRICTED (patient data, do not share): ${restrictedDir}\n`,
  );
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
