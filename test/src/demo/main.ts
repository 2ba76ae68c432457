/**
 * `npm run demo`: the whole pipeline on this machine, with no AWS account and no Docker.
 * Uploads sample-dicom/ with `medimg upload` through the local upload API (presigned URLs), then
 * `medimg status --wait`, and follows the batch through the trigger, the worker, the model and the
 * notifications; leaves everything under .demo-data/ to look at, with a plain copy of the processed
 * bucket and report.html. Every option is checked before anything is touched.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exitWhenFlushed } from '@medimg/common/exit.ts';
import { exitOf } from '@medimg/common/testing/child.ts';
import {
  commandHelp,
  defineCommand,
  EXIT,
  parseCommandArgs,
  UsageError,
} from '@medimg/worker/cli/command.ts';
import { REPO_ROOT } from '../local/task-runner.ts';
import { sampleFiles } from '../local/uploader.ts';
import {
  checkDataFolder,
  DataFolderError,
  exportS3rverBucket,
  MARKER,
  prepareDataFolder,
} from './data-folder.ts';

/**
 * Runs `medimg <args>` as a user would, its stderr shown line by line; resolves to the exit code and
 * stdout. Bounded: past `timeoutMs` the child is killed and the promise rejects naming the command,
 * so that a stuck upload or status never leaves the demo waiting for good.
 */
async function medimg(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  onLine: (line: string) => void,
  timeoutMs: number,
): Promise<{ code: number; stdout: string }> {
  // From source through tsx, so that a fresh clone needs no build step before the demo.
  const cli = path.join(REPO_ROOT, 'worker/src/cli/run.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let rest = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    const lines = (rest + d.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) onLine(l);
  });
  const { code } = await exitOf(child, { name: `medimg ${args[0]}`, timeoutMs });
  if (rest.trim()) onLine(rest);
  return { code: code ?? 1, stdout };
}

const started = performance.now();
// Node 20 is past end of life and the README says so; the SDK's reminder would only clutter the demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const demo = defineCommand({
  name: 'demo',
  summary:
    'Run the whole pipeline locally (S3, SQS, SNS stand-ins, the trigger, the worker, the model) on sample DICOM.',
  options: {
    data: {
      type: 'string',
      value: '<folder>',
      description: `where the run's data goes: a new, empty, or earlier demo folder (default: .demo-data)`,
    },
    samples: {
      type: 'string',
      value: '<folder>',
      description:
        'the DICOM files to upload, only its studies/, bad/ and burned-in/ when it has them (default: sample-dicom)',
    },
    keep: { type: 'boolean', description: "keep the previous run's data (the same scans then notify once)" },
    'burned-in': {
      type: 'string',
      value: '<policy>',
      choices: ['quarantine', 'redact', 'blank'],
      default: 'redact',
      description: 'burned-in text policy of the worker (redact: found with OCR, blanked, checked again)',
    },
  },
  details: `The demo removes only what it creates in its data folder (${MARKER} marks a demo folder); it
refuses a non-empty folder it did not create. Exit codes: 0 ran, 1 a job failed, 64 usage error,
66 no sample files, 73 the data folder cannot be used.`,
  run: async () => 0,
});

function fail(message: string, code: number): never {
  process.stderr.write(`npm run demo: ${message}\n`);
  process.exit(code);
}

const parsed = (() => {
  try {
    return parseCommandArgs(demo, process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError)
      fail(`${error.message}\nRun 'npm run demo -- --help' for usage.`, EXIT.usage);
    throw error;
  }
})();
if (parsed === 'help') {
  process.stdout.write(commandHelp('npm run', demo).replace('Usage: npm run demo', 'Usage: npm run demo --'));
  process.exit(EXIT.ok);
}
const values = parsed.options as { data?: string; samples?: string; keep?: boolean; 'burned-in'?: string };
const burnedIn = values['burned-in'] ?? 'redact';
// npm runs scripts from the repository root; a path given on the command line is the caller's.
const callerDir = process.env.INIT_CWD ?? process.cwd();
const dataDir = values.data ? path.resolve(callerDir, values.data) : path.join(REPO_ROOT, '.demo-data');
const samples = values.samples
  ? path.resolve(callerDir, values.samples)
  : path.join(REPO_ROOT, 'sample-dicom');
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string) => process.stdout.write(`[${elapsed()}] ${line}\n`);

// Every check before anything is created or removed.
if (!(await stat(samples).catch(() => undefined))?.isDirectory())
  fail(`--samples ${path.relative(callerDir, samples) || '.'}: no such folder`, EXIT.noInput);
const sampleList = await sampleFiles(samples);
if (sampleList.length === 0)
  fail(`--samples ${path.relative(callerDir, samples) || '.'}: no files in it`, EXIT.noInput);
let dataState: Awaited<ReturnType<typeof checkDataFolder>>;
try {
  dataState = await checkDataFolder(dataDir);
} catch (error) {
  if (error instanceof DataFolderError) fail(error.message, EXIT.cantCreate);
  throw error;
}
await prepareDataFolder(dataDir, dataState, values.keep ?? false);
// The servers, the SDK and the model load only now: --help and usage errors answer at once.
const [
  { processedKeys },
  { FsObjectStore },
  { renderReportHtml },
  { collectRunReport },
  { startLocalPipeline },
  { LOCAL_CREDENTIALS, LOCAL_REGION },
] = await Promise.all([
  import('@medimg/common'),
  import('@medimg/worker/adapters/fs-object-store.ts'),
  import('@medimg/worker/report/html.ts'),
  import('@medimg/worker/report/model.ts'),
  import('../local/pipeline.ts'),
  import('../local/servers.ts'),
]);
say(
  `medimg-pipeline demo: local S3, SQS, SNS and model servers; data in ${path.relative(process.cwd(), dataDir) || '.'}`,
);

/** Longest a worker task may run in the demo before it is killed, and the wait for the pipeline to settle: an hour. */
const DEMO_TASK_TIMEOUT_MS = 60 * 60 * 1000;
/** Longest the demo's `medimg upload` may run (the samples are a few MB; it retries what fails). */
const UPLOAD_TIMEOUT_MS = 30 * 60 * 1000;

let triggerBatches = 0;
let triggerEvents = 0;
const pipeline = await startLocalPipeline({
  dataDir,
  // docker compose runs the model in its own container (models/Dockerfile), and each job in the
  // worker's image (worker/Dockerfile) through its ECS agent.
  modelUrl: process.env.MODEL_URL,
  ...(process.env.MEDIMG_ECS_AGENT_URL
    ? {
        containers: {
          bindHost: '0.0.0.0',
          advertisedHost: process.env.MEDIMG_ADVERTISED_HOST ?? 'pipeline',
          s3Port: Number(process.env.MEDIMG_S3_PORT ?? 4569),
          awsPort: Number(process.env.MEDIMG_AWS_PORT ?? 4566),
          agentUrl: process.env.MEDIMG_ECS_AGENT_URL,
        },
      }
    : {}),
  workerEnvironment: { BURNED_IN_POLICY: burnedIn },
  // The local runner's default bound (240 s) is for tests' small jobs; a demo over a large
  // --samples folder may run a job far longer (ECS puts no time limit on a task either).
  taskTimeoutMs: DEMO_TASK_TIMEOUT_MS,
  onTriggerBatch: (records, failed) => {
    triggerBatches += 1;
    triggerEvents += records;
    if (failed) say(`trigger-lambda: ${failed} of ${records} message(s) returned to the queue for retry`);
  },
  onTaskStart: (task) =>
    say(
      `trigger-lambda: ${triggerEvents} S3 event(s) in ${triggerBatches} SQS batch(es) so far; ecs:RunTask for ${task.jobId}`,
    ),
  onWorkerLine: (task, line) => {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e.message === 'job started') say(`worker ${task.jobId}: started, ${e.inputs} input(s)`);
      else if (e.message === 'step finished')
        say(
          `worker ${task.jobId}: ${String(e.step).padEnd(10)} ${String(e.state).padEnd(9)} ok ${e.ok}${e.failed ? `, not ok ${e.failed}` : ''} (${e.durationMs} ms)`,
        );
      else if (e.message === 'file quarantined')
        say(`worker ${task.jobId}: quarantined ${e.inputId} at ${e.step}: ${e.reason}`);
      else if (e.level === 'error') say(`worker ${task.jobId}: ERROR ${e.message} ${e.errorCode ?? ''}`);
    } catch {
      // not a log line
    }
  },
  onTaskExit: (task) => say(`task ${task.taskArn.split('/').at(-1)} exited with code ${task.exitCode}`),
  onMail: (mail) => {
    say(`email received: ${path.relative(process.cwd(), mail.file)}`);
    process.stdout.write(`\n${mail.eml.replace(/\r\n/g, '\n').replace(/^/gm, '    | ')}\n`);
  },
});
say(
  `servers up: S3 ${pipeline.servers.s3Url}, SQS/SNS ${pipeline.servers.awsUrl}, model ${pipeline.servers.modelUrl}`,
);

let exitCode = 0;
try {
  // The uploader's side, as a site runs it: its own process, SigV4-signed calls to the API.
  const env = {
    ...process.env,
    MEDIMG_API_URL: pipeline.uploadApi.url,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    XDG_STATE_HOME: path.join(dataDir, 'upload-state'),
  };
  const inputs = ['studies', 'bad', 'burned-in']
    .map((d) => path.join(samples, d))
    .filter((d) => existsSync(d));
  say(
    `medimg upload ${(inputs.length ? inputs : [samples]).map((p) => path.relative(process.cwd(), p)).join(' ')}`,
  );
  const upload = await medimg(
    ['upload', ...(inputs.length ? inputs : [samples])],
    env,
    (l) => say(l),
    UPLOAD_TIMEOUT_MS,
  );
  const batchId = upload.stdout.trim();
  if (upload.code !== 0 || !batchId) throw new Error(`medimg upload exited with ${upload.code}`);
  say(`medimg status ${batchId} --wait`);
  // It waits for the jobs: bounded a minute past the pipeline's own wait below.
  const statusRun = medimg(
    ['status', batchId, '--wait', '--interval', '1'],
    env,
    (l) => say(l),
    DEMO_TASK_TIMEOUT_MS + 60_000,
  );
  // Awaited after the pipeline settles; a rejection before then is not unhandled (it throws there).
  statusRun.catch(() => undefined);
  await pipeline.settle(DEMO_TASK_TIMEOUT_MS);
  const status = await statusRun;
  for (const line of status.stdout.trimEnd().split('\n')) say(line);

  // Summary, from what the worker wrote to the processed bucket.
  const bucket = pipeline.servers.names.processedBucket;
  const jobIds = [...new Set(pipeline.runner.tasks.map((t) => t.jobId))];
  const statuses = await Promise.all(jobIds.map((id) => pipeline.jobStatus(id)));
  const studies = new Set<string>();
  const series = new Set<string>();
  const reasons = new Map<string, number>();
  let processed = 0;
  let quarantined = 0;
  let failed = 0;
  let critical = 0;
  const text = { checked: 0, withText: 0, regions: 0, phi: 0 };
  const redacted: string[] = [];
  let outOfScope = 0;
  let outOfDistribution = 0;
  for (const s of statuses) {
    outOfScope += s.findings.notAssessed?.outOfScope ?? 0;
    outOfDistribution += s.findings.notAssessed?.outOfDistribution ?? 0;
    processed += s.counts.processed;
    quarantined += s.counts.quarantined;
    failed += s.counts.failed;
    critical += s.findings.critical;
    for (const f of s.files) {
      if (f.study) studies.add(f.study);
      if (f.study && f.series) series.add(`${f.study}/${f.series}`);
      if (f.status === 'quarantined' && f.reason) reasons.set(f.reason, (reasons.get(f.reason) ?? 0) + 1);
      const check = f.textCheck;
      if (!check) continue;
      text.checked += 1;
      if (check.textBoxes > 0) text.withText += 1;
      text.regions += check.textBoxes;
      text.phi += check.phiMatches;
      if (check.action === 'redacted' && f.study && f.series && f.sop) {
        // The plain export of the processed bucket (below): the file a person opens.
        const preview = path.join(dataDir, 'processed', processedKeys.preview(f.study, f.series, f.sop));
        redacted.push(
          `                     redacted ${check.textBoxes} region(s), ${check.phiMatches} matching the header, ${check.frames} frame(s): ${path.relative(process.cwd(), preview)}`,
        );
      }
    }
  }
  const clinicalMail = pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn);
  const opsMail = pipeline.mail.filter((m) => m.topicArn === pipeline.servers.opsTopicArn);
  const rel = (p: string) => path.relative(process.cwd(), p);

  // A plain copy of the processed bucket (s3rver keeps objects as <key>._S3rver_object) and the report.
  const processedDir = path.join(dataDir, 'processed');
  const exported = await exportS3rverBucket(path.join(pipeline.dirs.s3, bucket), processedDir);
  const local = new FsObjectStore(dataDir);
  const reportFile = path.join(dataDir, 'report.html');
  await writeFile(
    reportFile,
    renderReportHtml(
      await collectRunReport({
        store: local,
        processedBucket: 'processed',
        statuses,
        title: 'medimg demo: report',
      }),
    ),
  );
  const findingFiles: string[] = [];
  for (const study of [...studies].sort()) {
    const bytes = await local.getIfExists('processed', processedKeys.results(study));
    const results = bytes
      ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as {
          critical: { series: string; sop: string; label: string }[];
        })
      : undefined;
    for (const c of results?.critical ?? []) {
      const file = path.join(processedDir, processedKeys.findingPreview(study, c.series, c.sop, c.label));
      if (existsSync(file)) findingFiles.push(file);
    }
  }
  const lines = [
    '',
    'Summary',
    `  jobs / tasks:      ${jobIds.length} job(s), ${pipeline.runner.tasks.length} task(s), states: ${statuses.map((s) => s.state).join(', ')}`,
    `  studies / series:  ${studies.size} / ${series.size}`,
    `  files:             ${processed} processed, ${quarantined} quarantined, ${failed} failed`,
    ...[...reasons.entries()].map(([reason, n]) => `                     quarantined ${n} x ${reason}`),
    `  burned-in text:    policy ${burnedIn}; ${text.checked} image(s) scanned with OCR, text in ${text.withText} (${text.regions} region(s), ${text.phi} matching the header)`,
    ...redacted,
    `  inference:         ${statuses.map((s) => `${s.inference.state}${s.inference.model ? ` (${s.inference.model.name} ${s.inference.model.version})` : ''}`).join(', ')}`,
    `  critical findings: ${critical}`,
    `  not assessed:      ${outOfScope} series out of scope, ${outOfDistribution} out of distribution`,
    `  notifications:     ${clinicalMail.length} to clinicians, ${opsMail.length} to operations`,
    '',
    'Where to look (plain files; the links in the emails point at the local S3 server, which stops with the demo)',
    `  report:            ${rel(reportFile)}  (open in a browser)`,
    ...findingFiles.map((f) => `  finding preview:   ${rel(f)}`),
    `  processed bucket:  ${rel(processedDir)}/studies/<study>/  (${exported} files: DICOM, PNGs, results.json, report.html)`,
    `  job records:       ${rel(path.join(processedDir, 'jobs'))}/<jobId>/status.json`,
    `  quarantine:        ${rel(path.join(pipeline.dirs.s3, pipeline.servers.names.rawBucket, 'quarantine'))} (originals and reasons; raw bucket, s3rver's layout)`,
    `  linkage store:     ${rel(path.join(pipeline.dirs.s3, pipeline.servers.names.linkageBucket))} (restricted)`,
    `  emails:            ${rel(pipeline.dirs.mail)}`,
    `  logs:              ${rel(pipeline.dirs.logs)}`,
    `  this summary:      ${rel(path.join(dataDir, 'summary.txt'))}`,
    '',
    `Demo finished in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  await writeFile(path.join(dataDir, 'summary.txt'), `${lines.join('\n')}\n`);
  if (failed > 0 || statuses.some((s) => s.state === 'failed')) exitCode = 1;
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  await pipeline.stop();
}
exitWhenFlushed(exitCode);
