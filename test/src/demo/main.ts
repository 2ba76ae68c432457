/**
 * `npm run demo`: the whole pipeline on this machine, with no AWS account and no Docker.
 * Uploads sample-dicom/ through presigned URLs and follows it through the trigger, the worker,
 * the model and the notifications; leaves everything under .demo-data/ to look at.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalPipeline } from '../local/pipeline.ts';
import { REPO_ROOT } from '../local/task-runner.ts';

const started = performance.now();
// Node 20 is past end of life and the README says so; the SDK's reminder would only clutter the demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: path.join(REPO_ROOT, '.demo-data') },
    samples: { type: 'string', default: path.join(REPO_ROOT, 'sample-dicom') },
    keep: { type: 'boolean', default: false },
  },
});
const dataDir = path.resolve(values.data);
const samples = path.resolve(values.samples);
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string) => process.stdout.write(`[${elapsed()}] ${line}\n`);

if (!values.keep) {
  // Empty the folder rather than remove it: under docker compose it is a mounted volume.
  for (const entry of await readdir(dataDir).catch(() => []))
    await rm(path.join(dataDir, entry), { recursive: true, force: true });
}
say(
  `medimg-pipeline demo: local S3, SQS, SNS and model servers; data in ${path.relative(process.cwd(), dataDir) || '.'}`,
);

let triggerBatches = 0;
let triggerEvents = 0;
const pipeline = await startLocalPipeline({
  dataDir,
  // docker compose runs the model in its own container (models/Dockerfile).
  modelUrl: process.env.MODEL_URL,
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
  let lastShown = 0;
  const upload = await pipeline.upload(samples, {
    onFile: (done, total) => {
      if (done === total || done - lastShown >= 25) {
        lastShown = done;
        say(`upload: ${done}/${total} files through presigned PUT URLs`);
      }
    },
  });
  say(
    `upload: batch ${upload.batchId} complete (${upload.files} files, ${(upload.bytes / 1e6).toFixed(1)} MB), manifest written last`,
  );
  await pipeline.settle();

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
    }
  }
  const clinicalMail = pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn);
  const opsMail = pipeline.mail.filter((m) => m.topicArn === pipeline.servers.opsTopicArn);
  const rel = (p: string) => path.relative(process.cwd(), p);
  const lines = [
    '',
    'Summary',
    `  jobs / tasks:      ${jobIds.length} job(s), ${pipeline.runner.tasks.length} task(s), states: ${statuses.map((s) => s.state).join(', ')}`,
    `  studies / series:  ${studies.size} / ${series.size}`,
    `  files:             ${processed} processed, ${quarantined} quarantined, ${failed} failed`,
    ...[...reasons.entries()].map(([reason, n]) => `                     quarantined ${n} x ${reason}`),
    `  inference:         ${statuses.map((s) => `${s.inference.state}${s.inference.model ? ` (${s.inference.model.name} ${s.inference.model.version})` : ''}`).join(', ')}`,
    `  critical findings: ${critical}`,
    `  not assessed:      ${outOfScope} series out of scope, ${outOfDistribution} out of distribution`,
    `  notifications:     ${clinicalMail.length} to clinicians, ${opsMail.length} to operations`,
    '',
    'Where to look',
    `  processed bucket:  ${rel(path.join(pipeline.dirs.s3, bucket))}/studies/<study>/...`,
    `  job records:       ${rel(path.join(pipeline.dirs.s3, bucket, 'jobs'))}/<jobId>/status.json`,
    `  quarantine:        ${rel(path.join(pipeline.dirs.s3, pipeline.servers.names.rawBucket, 'quarantine'))} (originals and reasons; raw bucket)`,
    `  linkage store:     ${rel(path.join(pipeline.dirs.s3, pipeline.servers.names.linkageBucket))} (restricted)`,
    `  emails:            ${rel(pipeline.dirs.mail)}`,
    `  logs:              ${rel(pipeline.dirs.logs)}`,
    '',
    `Demo finished in ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (failed > 0 || statuses.some((s) => s.state === 'failed')) exitCode = 1;
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  await pipeline.stop();
}
process.exit(exitCode);
