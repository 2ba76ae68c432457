/**
 * `medimg process <file-or-folder>... --out <dir> [--restricted <dir>]`: the worker's job on local
 * files, with no server: the same runJob as the Fargate task, on folders. With --infer the reference
 * model runs in this process (or the model server at --endpoint), the same thresholds decide what
 * is critical, results.json is written per study and the critical findings are printed.
 *
 * Two folders, so that what may be shared is never mixed with what may not:
 *   - `--out` (shareable): only de-identified material: the processed bucket's layout (studies/,
 *     quarantine reason codes, jobs/), notifications/, report.json, which names inputs by index
 *     and keyed hash, never by path, and report.html;
 *   - `--restricted` (default: beside the output, named <out>-RESTRICTED-PHI): the linkage records
 *     (pseudonym -> original identifiers), the quarantined originals, and inputs.json (index ->
 *     path). It holds patient data: keep it where the originals are kept.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deriveJobId, type JobSpec, processedKeys } from '@medimg/common';
import { FileNotifier } from '../../adapters/file-notifier.ts';
import { FolderStore } from '../../adapters/folder-store.ts';
import { FsObjectStore } from '../../adapters/fs-object-store.ts';
import { LocalInputStore } from '../../adapters/local-input-store.ts';
import type { TextCheck } from '../../deid/burned-in-text.ts';
import { loadDeidKey } from '../../deid/key.ts';
import { closeSharedTextReader } from '../../deid/ocr.ts';
import { DEID_PROFILES, type DeidOptions, type DeidProfile, profileOptions } from '../../deid/options.ts';
import { createLogger } from '../../logger.ts';
import type { CriticalThresholds } from '../../pipeline/assess.ts';
import { defaultConcurrency } from '../../pipeline/concurrency.ts';
import { PIPELINE_COVERAGE } from '../../pipeline/coverage.ts';
import { runJob } from '../../pipeline/job.ts';
import { type FileResult, inputIdOf } from '../../pipeline/process-file.ts';
import { systemClock } from '../../ports/clock.port.ts';
import type { InferenceClient } from '../../ports/inference.port.ts';
import { renderReportHtml } from '../../report/html.ts';
import { collectRunReport, type StudyResults } from '../../report/model.ts';
import { CliError, type CliIo, defineCommand, EXIT, UsageError } from '../command.ts';
import { openInference } from '../inference.ts';

const BUCKETS = { raw: 'originals', processed: 'processed', linkage: 'linkage' } as const;

export const processCommand = defineCommand({
  name: 'process',
  summary: 'De-identify, normalize and render DICOM files on this machine, and optionally run the model.',
  positionals: { usage: '<file-or-folder>...', min: 1 },
  options: {
    out: {
      type: 'string',
      value: '<dir>',
      required: true,
      description: 'folder for the de-identified outputs and the reports (shareable)',
    },
    restricted: {
      type: 'string',
      value: '<dir>',
      description:
        'folder for the linkage records, quarantined originals and input names (patient data; default <out>-RESTRICTED-PHI)',
    },
    profile: {
      type: 'string',
      value: '<profile>',
      choices: DEID_PROFILES,
      default: 'research',
      description: 'de-identification profile (docs/deidentification.md)',
    },
    'key-file': {
      type: 'string',
      value: '<file>',
      description: 'de-identification key (hex or base64, >= 32 bytes); else DEID_KEY_FILE or DEID_KEY',
    },
    'burned-in': {
      type: 'string',
      value: '<policy>',
      choices: ['quarantine', 'redact', 'blank'],
      default: 'quarantine',
      description:
        'text drawn into the pixels (images other than CT, MR, PT, NM, and any flagged YES, are scanned with OCR): quarantine images with text, redact it (blanked, scanned again, quarantined if text remains), or blank configured regions only',
    },
    infer: {
      type: 'boolean',
      description: 'run the reference model in this process, assess and report critical findings',
    },
    endpoint: {
      type: 'string',
      value: '<url>',
      description: 'with --infer: a model server (e.g. the model container) instead of the in-process model',
    },
    model: {
      type: 'string',
      value: '<dir>',
      description: 'with --infer: the model folder (model.json + ONNX); default: the bundled reference model',
    },
    threshold: {
      type: 'string',
      value: '<label=score>',
      multiple: true,
      description: "critical threshold per label (default: the model's calibrated thresholds, model.json)",
    },
  },
  details: `--out gets only de-identified material: studies/ (DICOM, previews, thumbnails, model inputs; with
--infer each study's results.json, report.html and the flagged image with its box), report.json (inputs
by index and keyed id, never by path) and report.html (the run, to open in a browser). The restricted
folder gets the linkage records, the quarantined originals and inputs.json (index -> path).
Without --key-file, DEID_KEY_FILE or DEID_KEY, a key is created once in ~/.config/medimg/deid.key and
reused, so pseudonyms stay stable. Exit codes: 0 it ran (inputs may be quarantined), 1 a step failed,
64 usage error, 66 an input is missing or unreadable, 73 --out cannot be written, 78 the
de-identification key is missing or invalid.`,
  async run({ options, positionals }, io) {
    const thresholds = parseThresholds(options.threshold);
    if (options.endpoint !== undefined) checkUrl(options.endpoint);
    if (options.model !== undefined && !options.infer && !options.endpoint)
      throw new UsageError('--model is used with --infer');
    const outDir = path.resolve(options.out);
    const restrictedDir = path.resolve(options.restricted ?? `${outDir}-RESTRICTED-PHI`);
    if (isInside(restrictedDir, outDir) || isInside(outDir, restrictedDir))
      throw new UsageError('--restricted must be a folder apart from --out, neither inside the other');
    const files = await collectInputs(positionals);
    await prepareFolder(options.out, '--out');
    await prepareFolder(restrictedDir, '--restricted', 0o700);
    const key = await loadKey(options['key-file'], io);
    const inference: (InferenceClient & { close?: () => Promise<void> }) | undefined =
      options.infer || options.endpoint
        ? await openInference({ endpoint: options.endpoint, modelDir: options.model, io })
        : undefined;
    try {
      return await processFiles({
        files,
        outDir,
        restrictedDir,
        key,
        profile: options.profile as DeidProfile,
        burnedIn: options['burned-in'],
        inference,
        thresholds,
        io,
      });
    } finally {
      await inference?.close?.();
      await closeSharedTextReader().catch(() => undefined);
    }
  },
});

function parseThresholds(values: readonly string[] | undefined): CriticalThresholds | undefined {
  if (!values?.length) return undefined;
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([A-Za-z0-9_]+)=(0(?:\.\d+)?|1(?:\.0+)?)$/.exec(v);
    if (!m) throw new UsageError(`--threshold must be <label>=<score between 0 and 1>, not '${v}'`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function checkUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--endpoint must be an http(s) URL, not '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--endpoint must be an http(s) URL, not '${value}'`);
}

const isInside = (child: string, parent: string): boolean => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/** Every file under the inputs, sorted; hidden entries skipped. A missing or unreadable input is one line, exit 66. */
async function collectInputs(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (p: string, given: string): Promise<void> => {
    let s: Awaited<ReturnType<typeof stat>>;
    try {
      s = await stat(p);
    } catch (error) {
      throw new CliError(
        errno(error) === 'ENOENT'
          ? `input not found: ${given}`
          : `cannot read input ${given} (${errno(error) ?? 'error'})`,
        EXIT.noInput,
      );
    }
    if (s.isDirectory()) {
      let entries: string[];
      try {
        entries = (await readdir(p)).sort();
      } catch (error) {
        throw new CliError(`cannot read folder ${given} (${errno(error) ?? 'error'})`, EXIT.noInput);
      }
      for (const e of entries) if (!e.startsWith('.')) await walk(path.join(p, e), path.join(given, e));
    } else if (s.isFile()) files.push(path.resolve(p));
  };
  for (const i of inputs) await walk(i, i);
  if (files.length === 0) throw new CliError(`no files found in ${inputs.join(', ')}`, EXIT.noInput);
  return files;
}

/** Creates an output folder; one line and exit 73 when it is a file or cannot be created. */
async function prepareFolder(given: string, option: string, mode?: number): Promise<string> {
  const dir = path.resolve(given);
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory())
    throw new CliError(`${option} ${given} is a file, not a folder`, EXIT.cantCreate);
  try {
    await mkdir(dir, { recursive: true, ...(mode ? { mode } : {}) });
  } catch (error) {
    const why =
      errno(error) === 'ENOTDIR' || errno(error) === 'EEXIST'
        ? 'a parent is a file'
        : errno(error) === 'EACCES'
          ? 'permission denied'
          : (errno(error) ?? 'error');
    throw new CliError(`cannot create ${option} ${given}: ${why}`, EXIT.cantCreate);
  }
  return dir;
}

async function loadKey(keyFile: string | undefined, io: CliIo): Promise<Uint8Array> {
  const env: Record<string, string | undefined> = { ...io.env };
  if (keyFile) env.DEID_KEY_FILE = keyFile;
  else if (!env.DEID_KEY && !env.DEID_KEY_FILE) env.DEID_KEY_FILE = await keyFromUserConfig(io);
  try {
    return await loadDeidKey(env, { production: false });
  } catch (error) {
    throw new CliError(
      `de-identification key: ${error instanceof Error ? error.message : 'unreadable'}`,
      EXIT.config,
    );
  }
}

async function keyFromUserConfig(io: CliIo): Promise<string> {
  const file = path.join(io.env.HOME ?? os.homedir(), '.config', 'medimg', 'deid.key');
  if (!existsSync(file)) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    io.stderr(
      `medimg: created a de-identification key in ${file} (keep it secret; pseudonyms depend on it)\n`,
    );
  }
  await chmod(file, 0o600);
  return file;
}

interface ReportEntry {
  readonly index: number;
  readonly inputId: string;
  readonly status: FileResult['status'];
  readonly reason: string | null;
  readonly step?: string;
  readonly study?: string;
  readonly series?: string;
  /** Burned-in text check: counts and action only, never the text. */
  readonly textCheck?: TextCheck;
  readonly outputs: Readonly<Record<string, string | undefined>>;
}

async function processFiles(args: {
  files: readonly string[];
  outDir: string;
  restrictedDir: string;
  key: Uint8Array;
  profile: DeidProfile;
  burnedIn: string;
  inference: InferenceClient | undefined;
  thresholds: CriticalThresholds | undefined;
  io: CliIo;
}): Promise<number> {
  const { files, outDir, restrictedDir, io } = args;
  const shareable = new FsObjectStore(outDir);
  const restricted = new FsObjectStore(restrictedDir);
  const store = new FolderStore({
    [BUCKETS.processed]: { store: shareable, bucket: '.' },
    [BUCKETS.linkage]: { store: restricted, bucket: '.' },
    [BUCKETS.raw]: { store: restricted, bucket: 'originals' },
  });
  const objects = [];
  for (const file of files) objects.push({ key: file, size: (await stat(file)).size });
  const spec: JobSpec = {
    version: 1,
    jobId: deriveJobId(objects),
    createdAt: new Date().toISOString(),
    rawBucket: BUCKETS.raw,
    source: 'prefix',
    objects,
  };
  const entries: ReportEntry[] = new Array(files.length);
  const logLines: string[] = [];
  const notifier = new FileNotifier(path.join(outDir, 'notifications'));
  const abs = (k?: string) => (k ? store.pathOf(BUCKETS.processed, k) : undefined);
  const outcome = await runJob(spec, {
    store,
    rawStore: new LocalInputStore(store),
    processedBucket: BUCKETS.processed,
    linkageBucket: BUCKETS.linkage,
    deid: {
      key: args.key,
      options: profileOptions(args.profile, {
        burnedInPolicy: args.burnedIn as DeidOptions['burnedInPolicy'],
      }),
    },
    inference: args.inference,
    notifier,
    findingsTopicArn: 'local:critical-findings',
    linkSigner: store,
    ...(args.thresholds ? { thresholds: args.thresholds } : {}),
    logger: createLogger({ level: 'info', write: (line) => void logLines.push(line) }),
    clock: systemClock,
    coverage: PIPELINE_COVERAGE,
    // As the Fargate worker: two files per CPU, memory still bounded by the byte budget (decision 018).
    limits: { maxConcurrent: defaultConcurrency() },
    onFile: (index, result) => {
      const inputId = inputIdOf(args.key, files[index]!);
      entries[index] =
        result.status === 'processed'
          ? {
              index,
              inputId,
              status: result.status,
              reason: null,
              study: result.instance.study,
              series: result.instance.series,
              ...(result.instance.textCheck ? { textCheck: result.instance.textCheck } : {}),
              // Keys under --out: the report names no absolute path (the folder may be shared).
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
              ...(result.status === 'quarantined' && result.textCheck ? { textCheck: result.textCheck } : {}),
              outputs: {},
            };
      const e = entries[index]!;
      const text = e.textCheck
        ? `, text: ${e.textCheck.textBoxes} region(s), ${e.textCheck.phiMatches} matching the header, ${e.textCheck.action}`
        : '';
      io.stderr(`  ${e.status.padEnd(11)} #${index} ${inputId}${e.reason ? ` (${e.reason})` : ''}${text}\n`);
    },
  });
  const { status } = outcome;
  await mkdir(path.join(outDir, 'logs'), { recursive: true });
  await writeFile(path.join(outDir, 'logs', 'medimg.log'), logLines.length ? `${logLines.join('\n')}\n` : '');

  const studies = [...new Set(entries.flatMap((e) => (e.study ? [e.study] : [])))].sort();
  const results: StudyResults[] = [];
  for (const study of studies) {
    const bytes = await shareable.getIfExists('.', processedKeys.results(study));
    if (bytes) results.push(JSON.parse(Buffer.from(bytes).toString('utf8')) as StudyResults);
  }
  const critical = results.flatMap((r) =>
    r.critical.map((c) => ({
      ...c,
      study: r.study,
      preview: [
        processedKeys.findingPreview(r.study, c.series, c.sop, c.label),
        processedKeys.preview(r.study, c.series, c.sop),
      ].find((k) => existsSync(abs(k)!)),
    })),
  );
  await writeFile(
    path.join(outDir, 'report.json'),
    JSON.stringify(
      {
        version: 3,
        jobId: status.jobId,
        profile: args.profile,
        state: status.state,
        coverage: PIPELINE_COVERAGE,
        counts: status.counts,
        inference: status.inference,
        thresholds: args.thresholds ?? 'model-calibrated',
        critical,
        results: studies.map((s) => processedKeys.results(s)).filter((k) => existsSync(abs(k)!)),
        entries,
      },
      null,
      2,
    ),
  );
  await writeFile(
    path.join(restrictedDir, 'inputs.json'),
    JSON.stringify(
      {
        version: 1,
        jobId: status.jobId,
        inputs: entries.map((e) => ({
          index: e.index,
          inputId: e.inputId,
          input: files[e.index],
          status: e.status,
        })),
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  await writeFile(
    path.join(restrictedDir, 'README.txt'),
    'RESTRICTED: this folder holds patient data (original identifiers in linkage/, quarantined\n' +
      'originals in originals/, input file names in inputs.json). Do not share it; keep it where\n' +
      'the original images are kept. The shareable, de-identified output is the --out folder.\n',
  );
  const report = await collectRunReport({
    store,
    processedBucket: BUCKETS.processed,
    statuses: [status],
    title: 'medimg process: report',
  });
  await writeFile(path.join(outDir, 'report.html'), renderReportHtml(report));

  const { counts } = status;
  io.stderr(
    `medimg: ${counts.processed} processed, ${counts.quarantined} quarantined, ${counts.failed} failed` +
      ` (profile ${args.profile}); inference ${status.inference.state}${status.inference.errorCode ? ` (${status.inference.errorCode})` : ''}\n` +
      `  shareable (de-identified only): ${outDir}\n` +
      `  RESTRICTED (patient data, do not share): ${restrictedDir}\n`,
  );
  for (const c of critical) {
    io.stdout(
      `CRITICAL ${c.label} score ${c.score.toFixed(3)} (threshold ${c.threshold?.toFixed(2) ?? 'n/a'}) ` +
        `study ${c.study} series ${c.series} image ${c.position} of ${c.imagesInSeries}\n` +
        `  preview: ${abs(c.preview)}\n`,
    );
  }
  if (args.inference && critical.length === 0 && status.inference.state === 'succeeded')
    io.stdout('No critical finding.\n');
  io.stderr(`medimg: report: ${path.join(outDir, 'report.html')} and report.json\n`);
  return outcome.exitCode === 0 ? EXIT.ok : EXIT.failure;
}
