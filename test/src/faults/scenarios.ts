/**
 * Fault scenarios over the local pipeline: the worker's S3, SNS and SageMaker clients are pointed
 * at fault proxies (proxy.ts) in front of s3rver, fauxqs and the model server, so the faults go
 * through the production adapters, their retry strategies and the job's bookkeeping. Each scenario
 * ends with an account of the run: every input exactly once, notifications sent.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processedKeys } from '@medimg/common';
import type { DispatcherConfig } from '@medimg/trigger-lambda/dispatch/core.ts';
import type { JobStatus } from '@medimg/worker/pipeline/status.ts';
import { type LocalPipeline, startLocalPipeline } from '../local/pipeline.ts';
import { REPO_ROOT } from '../local/task-runner.ts';
import { listFiles } from '../local/uploader.ts';
import { type FaultProxy, type FaultRule, type RequestInfo, startFaultProxy } from './proxy.ts';

export const CT_STUDY = path.join(REPO_ROOT, 'sample-dicom/studies/ct-chest');

/** Matchers for the requests of each service. */
export const is = {
  s3Put: (r: RequestInfo) => r.method === 'PUT',
  s3Get: (r: RequestInfo) => r.method === 'GET',
  any: () => true,
  snsPublish: (r: RequestInfo) =>
    r.body.includes('Action=Publish') || String(r.headers['x-amz-target'] ?? '').endsWith('.Publish'),
  invoke: (r: RequestInfo) => r.method === 'POST' && r.path.includes('/invocations'),
};

/** The batch id and de-identification key of a stack with the same keys in every run (test values). */
const FIXED_BATCH_ID = 'b-faults00000000000000000001';
const FIXED_DEID_KEY = '0f'.repeat(32);

export interface FaultStack {
  readonly pipeline: LocalPipeline;
  readonly s3: FaultProxy;
  readonly aws: FaultProxy;
  readonly model: FaultProxy;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** A local pipeline whose worker reaches S3, SNS and the model only through fault proxies. */
export async function startFaultStack(
  options: {
    visibilityTimeoutSeconds?: number;
    /** Worker settings over the local pipeline's (e.g. shorter time bounds). */
    workerEnvironment?: Readonly<Record<string, string>>;
    /** Jobs through the dispatcher (task cap, retries), as in AWS. */
    dispatch?: DispatcherConfig;
    /**
     * The same S3 keys in every run: a fixed batch id (hence job id) and de-identification key (hence
     * processed keys), so that a `distinct` fault rule picks the same requests each time. One
     * upload per stack then (a second batch would get the same id).
     */
    sameKeysEveryRun?: boolean;
    /** Longest a worker task may run (LocalTaskRunnerOptions.taskTimeoutMs). */
    taskTimeoutMs?: number;
  } = {},
): Promise<FaultStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'medimg-faults-'));
  const pipeline = await startLocalPipeline({
    dataDir,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    ...(options.workerEnvironment ? { workerEnvironment: options.workerEnvironment } : {}),
    ...(options.dispatch ? { dispatch: options.dispatch } : {}),
    ...(options.sameKeysEveryRun ? { newBatchId: () => FIXED_BATCH_ID, deidKey: FIXED_DEID_KEY } : {}),
    ...(options.taskTimeoutMs ? { taskTimeoutMs: options.taskTimeoutMs } : {}),
  });
  const s3 = await startFaultProxy(pipeline.servers.s3Url);
  const aws = await startFaultProxy(pipeline.servers.awsUrl);
  const model = await startFaultProxy(pipeline.servers.modelUrl);
  pipeline.runner.extraEnvironment = {
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_ENDPOINT_URL_SNS: aws.url,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: model.url,
  };
  return {
    pipeline,
    s3,
    aws,
    model,
    dataDir,
    stop: async () => {
      await pipeline.stop();
      await Promise.all([s3.close(), aws.close(), model.close()]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Account {
  readonly jobs: number;
  readonly tasks: number;
  readonly inputs: number;
  readonly processed: number;
  readonly quarantined: number;
  readonly failed: number;
  /** Quarantined inputs per reason code. */
  readonly quarantineReasons: Record<string, number>;
  /**
   * Instance objects in the processed bucket; those no processed input's record names (a second
   * output for an input); processed inputs whose instance is not there.
   */
  readonly instances: number;
  readonly duplicateInstances: number;
  readonly missingInstances: number;
  readonly findingsMails: number;
  /** Findings emails beyond the first for the same study and label (the worker's dedup key). */
  readonly duplicateMails: number;
  readonly published: number;
  readonly states: string[];
}

/** What the run left: job records, instance objects, notifications received. */
export async function account(stack: FaultStack): Promise<Account> {
  const { pipeline } = stack;
  const jobIds = [...new Set(pipeline.runner.tasks.map((t) => t.jobId))];
  const records: JobStatus[] = await Promise.all(jobIds.map((id) => pipeline.jobStatus(id)));
  // Counted on s3rver's disk: its ListObjectsV2 answers InternalError past a thousand keys.
  const bucketDir = path.join(pipeline.dirs.s3, pipeline.servers.names.processedBucket);
  const suffix = '._S3rver_object';
  const instances = (await listFiles(path.join(bucketDir, 'studies')).catch(() => []))
    .filter((f) => f.endsWith(`.dcm${suffix}`))
    .map((f) => path.relative(bucketDir, f).split(path.sep).join('/').slice(0, -suffix.length));
  const stored = new Set(instances);
  // Each processed input's instance, by the keys its job record names.
  const expected = new Set(
    records.flatMap((r) =>
      r.files.flatMap((f) =>
        f.status === 'processed' && f.study && f.series && f.sop
          ? [processedKeys.instance(f.study, f.series, f.sop)]
          : [],
      ),
    ),
  );
  const sum = (f: (r: JobStatus) => number) => records.reduce((n, r) => n + f(r), 0);
  const quarantineReasons: Record<string, number> = {};
  for (const f of records.flatMap((r) => r.files))
    if (f.status === 'quarantined')
      quarantineReasons[f.reason ?? 'none'] = (quarantineReasons[f.reason ?? 'none'] ?? 0) + 1;
  const findings = pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn);
  const dedupKeys = findings.map((m) => m.attributes.dedupKey ?? m.messageId);
  return {
    jobs: jobIds.length,
    tasks: pipeline.runner.tasks.length,
    inputs: sum((r) => r.files.length),
    processed: sum((r) => r.counts.processed),
    quarantined: sum((r) => r.counts.quarantined),
    failed: sum((r) => r.counts.failed),
    quarantineReasons,
    instances: instances.length,
    duplicateInstances: instances.filter((k) => !expected.has(k)).length,
    missingInstances: [...expected].filter((k) => !stored.has(k)).length,
    findingsMails: findings.length,
    duplicateMails: dedupKeys.length - new Set(dedupKeys).size,
    published: sum((r) => r.notifications.published),
    states: records.map((r) => r.state),
  };
}

export async function uploadStudy(stack: FaultStack, root = CT_STUDY, count?: number): Promise<string[]> {
  const files = (await listFiles(root)).slice(0, count);
  await stack.pipeline.upload(root, { files });
  return files;
}

/** Re-runs every job whose last task did not end well (as the retry path or an operator would). */
export async function rerunUnfinished(stack: FaultStack): Promise<number> {
  const { runner } = stack.pipeline;
  const last = new Map(runner.tasks.map((t) => [t.jobId, t]));
  let reruns = 0;
  for (const task of last.values()) {
    if (task.exitCode === 0) continue;
    reruns += 1;
    await runner.runTask({ jobId: task.jobId, jobSpecUri: task.jobSpecUri });
  }
  await stack.pipeline.settle();
  return reruns;
}

export type { FaultRule };
