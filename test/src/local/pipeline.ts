/**
 * The whole pipeline on one machine (DESIGN D9): local servers, S3 events routed to the intake
 * queue, the trigger Lambda's real handler on SQS batches, its RunTask served by a local task
 * runner that starts the real worker, and a mailbox for the notifications. Used by `npm run demo`
 * and the end-to-end tests.
 */

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { S3ObjectStore } from '@medimg/aws';
import { processedKeys, rawKeys, WORKER_ENV } from '@medimg/common';
import { QueueDispatchRunner } from '@medimg/trigger-lambda/adapters/dispatch-aws.ts';
import { triggerConfig } from '@medimg/trigger-lambda/config.ts';
import type { DispatcherConfig } from '@medimg/trigger-lambda/dispatch/core.ts';
import { createLogger as createTriggerLogger } from '@medimg/trigger-lambda/logger.ts';
import { createHandler } from '@medimg/trigger-lambda/trigger.ts';
import { type LocalUploadApi, UploadApiClient, uploadFiles } from '@medimg/upload-api';
import type { JobStatus } from '@medimg/worker/pipeline/status.ts';
import { type LocalDispatch, startLocalDispatch } from './dispatch.ts';
import { type LambdaPoller, pollQueueIntoHandler } from './lambda-poller.ts';
import { type ReceivedMail, subscribeMailbox } from './mail-subscriber.ts';
import { bridgeS3EventsToSqs } from './s3-event-bridge.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalServers, startLocalServers } from './servers.ts';
import { LocalTaskRunner, REPO_ROOT, type TaskRecord } from './task-runner.ts';
import { startPipelineUploadApi } from './upload-api.ts';
import { sampleFiles } from './uploader.ts';

export interface UploadResult {
  readonly batchId: string;
  readonly files: number;
  readonly bytes: number;
  readonly manifestKey: string;
}

export interface LocalPipelineOptions {
  /** Everything the run leaves behind: S3 objects, emails, task logs, the local key. */
  readonly dataDir: string;
  readonly modelDir?: string;
  /** An already running model server; one is started in-process otherwise. */
  readonly modelUrl?: string;
  /** Extra worker environment (e.g. fault injection in tests). */
  readonly workerEnvironment?: Readonly<Record<string, string>>;
  readonly onTaskExit?: (task: TaskRecord) => void;
  readonly onTaskStart?: (task: { jobId: string; taskArn: string }) => void;
  readonly onWorkerLine?: (task: { jobId: string; taskArn: string }, line: string) => void;
  /** Longest a worker task may run before it is killed (LocalTaskRunnerOptions.taskTimeoutMs). */
  readonly taskTimeoutMs?: number;
  readonly onMail?: (mail: ReceivedMail) => void;
  readonly onTriggerBatch?: (records: number, failed: number) => void;
  /** The SQS event source's batching window (AWS: 20 s in infra; 1.5 s by default here). */
  readonly batchingWindowMs?: number;
  /** The intake queue's visibility timeout in seconds (default 30): how soon a failed message returns. */
  readonly visibilityTimeoutSeconds?: number;
  /** The local upload API's batch ids (default: random, as in AWS); a test may fix one. */
  readonly newBatchId?: (now: Date) => string;
  /**
   * The local de-identification key (hex, at least 32 bytes), written to the data folder when none
   * is there yet (default: random, made once per data folder); a test may fix one, so that the
   * de-identified UIDs, and the processed keys named by them, are the same in every run.
   */
  readonly deidKey?: string;
  /** Where the trigger Lambda's JSON logs go (default: <dataDir>/logs/trigger-lambda.log). */
  readonly triggerLog?: (line: string) => void;
  /**
   * Jobs go through the dispatcher (task cap, time limit, retries, dead-letter), as in AWS. Without
   * it the trigger starts each task itself, once (the crash-and-rerun test relies on that).
   */
  readonly dispatch?: DispatcherConfig;
  /**
   * docker compose: the stand-ins listen on `bindHost` at fixed ports, each task starts in the
   * worker's own container through its ECS agent (`agentUrl`), and reaches them as `advertisedHost`.
   */
  readonly containers?: {
    readonly bindHost: string;
    readonly advertisedHost: string;
    readonly s3Port: number;
    readonly awsPort: number;
    readonly agentUrl: string;
  };
}

export interface LocalPipeline {
  readonly servers: LocalServers;
  readonly runner: LocalTaskRunner;
  readonly mail: readonly ReceivedMail[];
  readonly poller: LambdaPoller;
  readonly dirs: {
    readonly s3: string;
    readonly mail: string;
    readonly logs: string;
    readonly uploads: string;
  };
  readonly workerEnvironment: Readonly<Record<string, string>>;
  readonly dispatch?: LocalDispatch;
  /** The upload API on a local port, served by the same core as the Lambda. */
  readonly uploadApi: LocalUploadApi;
  /** A client of it, signing with the local credentials. */
  readonly uploadClient: UploadApiClient;
  /**
   * Uploads files as one batch through the local upload API (the client `medimg upload` uses), every
   * file given, DICOM or not (so the worker's quarantine is exercised).
   */
  upload(
    root: string,
    options?: { files?: readonly string[]; onFile?: (done: number, total: number) => void },
  ): Promise<UploadResult>;
  /** Every key under a prefix of a local bucket (s3rver: at most a thousand, see the batching test). */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  getBytes(bucket: string, key: string): Promise<Uint8Array>;
  getJson<T>(bucket: string, key: string): Promise<T>;
  /** A job's record from the processed bucket. */
  jobStatus(jobId: string): Promise<JobStatus>;
  /** Waits until the intake queue is empty, every task has exited and the mailbox is drained. */
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A local de-identification key, made once per data folder (in AWS it lives in Secrets Manager). */
async function localKeyFile(dataDir: string, key?: string): Promise<string> {
  const file = path.join(dataDir, 'secrets', 'deid.key');
  if (!existsSync(file)) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, key ?? randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return file;
}

export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const dirs = {
    s3: path.join(options.dataDir, 's3'),
    mail: path.join(options.dataDir, 'mail'),
    logs: path.join(options.dataDir, 'logs'),
    uploads: path.join(options.dataDir, 'upload-state'),
  };
  await mkdir(dirs.logs, { recursive: true });
  const modelLog: string[] = [];
  const servers = await startLocalServers({
    s3Directory: dirs.s3,
    modelLog: (event) => void modelLog.push(JSON.stringify(event)),
    modelUrl: options.modelUrl,
    modelDir: options.modelDir ?? path.join(REPO_ROOT, 'models/artifacts'),
    ...(options.containers ? { network: options.containers } : {}),
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
  });
  const { names } = servers;
  const keyFile = await localKeyFile(options.dataDir, options.deidKey);
  const containers = options.containers;
  // The worker's container reaches the stand-ins by the service's name, and gets the key itself
  // (in AWS: Secrets Manager); started here, it reads the key file and the loopback addresses.
  const seenFromWorker = (url: string) =>
    containers ? url.replace('127.0.0.1', containers.advertisedHost) : url;

  // What the task definition sets in AWS, with the local endpoints instead of AWS's.
  const workerEnvironment: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: seenFromWorker(servers.s3Url),
    AWS_ENDPOINT_URL_SNS: seenFromWorker(servers.awsUrl),
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: servers.modelUrl,
    [WORKER_ENV.S3_FORCE_PATH_STYLE]: 'true',
    [WORKER_ENV.MEDIMG_MODE]: 'local',
    // Node 20 is documented as past end of life (README); deployments run Node 22+.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    [WORKER_ENV.PROCESSED_BUCKET]: names.processedBucket,
    [WORKER_ENV.LINKAGE_BUCKET]: names.linkageBucket,
    [WORKER_ENV.SAGEMAKER_ENDPOINT_NAME]: names.endpointName,
    [WORKER_ENV.FINDINGS_TOPIC_ARN]: servers.findingsTopicArn,
    [WORKER_ENV.OPS_TOPIC_ARN]: servers.opsTopicArn,
    ...(containers
      ? { [WORKER_ENV.DEID_KEY]: (await readFile(keyFile, 'utf8')).trim() }
      : { [WORKER_ENV.DEID_KEY_FILE]: keyFile }),
    [WORKER_ENV.BURNED_IN_POLICY]: 'quarantine',
    ...options.workerEnvironment,
  };
  let dispatch: LocalDispatch | undefined;
  const runner = new LocalTaskRunner({
    environment: workerEnvironment,
    logDir: dirs.logs,
    onExit: (task) => {
      options.onTaskExit?.(task);
      dispatch?.onTaskExit(task);
    },
    onStart: options.onTaskStart,
    onLine: options.onWorkerLine,
    ...(options.taskTimeoutMs ? { taskTimeoutMs: options.taskTimeoutMs } : {}),
    ...(containers ? { agentUrl: containers.agentUrl } : {}),
  });

  const bridge = bridgeS3EventsToSqs({
    sqs: servers.sqs,
    queueUrl: servers.intakeQueueUrl,
    bucket: names.rawBucket,
    prefix: 'incoming/',
  });
  servers.onS3Event(bridge.listener);

  const triggerLogFile = path.join(dirs.logs, 'trigger-lambda.log');
  const triggerLines: string[] = [];
  const dispatcherLines: string[] = [];
  if (options.dispatch) {
    dispatch = await startLocalDispatch({
      servers,
      runner,
      config: options.dispatch,
      log: (line) => void dispatcherLines.push(line),
    });
  }
  const handler = createHandler({
    store: new S3ObjectStore({ client: servers.s3 }),
    runner: dispatch ? new QueueDispatchRunner(dispatch.queue) : runner,
    // The bridge URL-encodes keys as AWS does, so the production decoding stays on.
    config: triggerConfig({ rawBucket: names.rawBucket, keysUrlEncoded: true }),
    logger: createTriggerLogger({
      write: options.triggerLog ?? ((line: string) => void triggerLines.push(line)),
    }),
  });
  const poller = pollQueueIntoHandler({
    sqs: servers.sqs,
    queueUrl: servers.intakeQueueUrl,
    handler,
    batchingWindowMs: options.batchingWindowMs,
    onBatch: options.onTriggerBatch,
  });
  const mailbox = subscribeMailbox({
    sqs: servers.sqs,
    queueUrl: servers.mailQueueUrl,
    directory: dirs.mail,
    recipients: (topic) =>
      topic === servers.opsTopicArn ? 'medimg-operations@hospital.example' : 'clinical-team@hospital.example',
    onMail: options.onMail,
  });

  const apiLines: string[] = [];
  const uploadApi = await startPipelineUploadApi({
    s3Url: servers.s3Url,
    names,
    audit: (line) => void apiLines.push(line),
    ...(options.newBatchId ? { newBatchId: options.newBatchId } : {}),
  });
  const uploadClient = new UploadApiClient({
    url: uploadApi.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });

  const queueDepth = async (): Promise<number> => {
    const out = await servers.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: servers.intakeQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  };

  const listKeys = async (bucket: string, prefix = ''): Promise<string[]> => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await servers.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      keys.push(...(out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  };
  const getBytes = async (bucket: string, key: string): Promise<Uint8Array> => {
    const out = await servers.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body!.transformToByteArray();
  };
  const getJson = async <T>(bucket: string, key: string): Promise<T> =>
    JSON.parse(Buffer.from(await getBytes(bucket, key)).toString('utf8')) as T;

  return {
    servers,
    runner,
    listKeys,
    getBytes,
    getJson,
    jobStatus: (jobId) => getJson<JobStatus>(names.processedBucket, processedKeys.jobStatus(jobId)),
    mail: mailbox.received,
    poller,
    dirs,
    workerEnvironment,
    ...(dispatch ? { dispatch } : {}),
    uploadApi,
    uploadClient,
    upload: async (root, uploadOptions = {}) => {
      const paths = uploadOptions.files ?? (await sampleFiles(root));
      const files = await Promise.all(
        paths.map(async (p) => ({
          path: p,
          name: path.relative(root, p).split(path.sep).join('/'),
          size: (await stat(p)).size,
        })),
      );
      const outcome = await uploadFiles(files, {
        client: uploadClient,
        stateDir: dirs.uploads,
        concurrency: 8,
        onProgress: (p) => uploadOptions.onFile?.(p.filesDone, p.filesTotal),
      });
      return {
        batchId: outcome.batchId,
        files: outcome.files,
        bytes: outcome.bytes,
        manifestKey: rawKeys.manifest(outcome.batchId),
      };
    },
    settle: async (timeoutMs = 300_000) => {
      const deadline = Date.now() + timeoutMs;
      let quietRounds = 0;
      while (quietRounds < 3) {
        if (Date.now() > deadline) throw new Error('the local pipeline did not settle in time');
        await bridge.flush();
        // The deadline holds while tasks run too: a task that never exits fails here, named.
        await untilDeadline(runner.idle(), deadline, () => {
          const running = runner.tasks
            .filter((t) => t.exitCode === undefined)
            .map((t) => t.taskArn.split('/').pop());
          return `the local pipeline did not settle in time: task(s) still running: ${running.join(', ')}`;
        });
        await dispatch?.idle();
        const depth = (await queueDepth()) + ((await dispatch?.depth()) ?? 0);
        quietRounds =
          depth === 0 && runner.tasks.every((t) => t.exitCode !== undefined) ? quietRounds + 1 : 0;
        await new Promise((r) => setTimeout(r, 300));
      }
      await mailbox.drain();
      const flushLines = async (file: string, lines: string[]) => {
        if (lines.length) await writeFile(file, `${lines.join('\n')}\n`, { flag: 'a' });
        lines.length = 0;
      };
      await flushLines(triggerLogFile, triggerLines);
      await flushLines(path.join(dirs.logs, 'dispatcher.log'), dispatcherLines);
      await flushLines(path.join(dirs.logs, 'model-server.log'), modelLog);
      await flushLines(path.join(dirs.logs, 'upload-api.log'), apiLines);
    },
    stop: async () => {
      await uploadApi.close();
      runner.stop();
      await dispatch?.stop();
      await poller.stop();
      await mailbox.stop();
      await servers.stop();
    },
  };
}

/** `promise`, or a rejection with `why()` once `deadline` (epoch ms) has passed. */
async function untilDeadline<T>(promise: Promise<T>, deadline: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(why())), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
