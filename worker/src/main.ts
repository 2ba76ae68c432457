/**
 * The Fargate task's entry point: wires the AWS SDK v3 adapters to the core and runs one job.
 * The same file runs locally under the demo's task runner, with endpoint overrides in the
 * environment (AWS_ENDPOINT_URL_S3, ..._SNS, ..._SAGEMAKER_RUNTIME) and a key file.
 */

import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { awsClientConfig, S3ObjectStore } from '@medimg/aws';
import { emfSink, JobSpecSchema } from '@medimg/common';
import { exitWhenFlushed } from '@medimg/common/exit.ts';
import { SageMakerInferenceClient } from './adapters/sagemaker-inference.ts';
import { secretsManagerFetcher } from './adapters/secrets-manager.ts';
import { SnsNotifier } from './adapters/sns-notifier.ts';
import { parseS3Uri, readWorkerConfig } from './config.ts';
import { loadDeidKey } from './deid/key.ts';
import { closeSharedTextReader } from './deid/ocr.ts';
import { createLogger, errorFields } from './logger.ts';
import { PIPELINE_COVERAGE } from './pipeline/coverage.ts';
import { runJob } from './pipeline/job.ts';
import { inferenceLatency, inferenceThrottled, jobMetrics } from './pipeline/metrics.ts';
import { systemClock } from './ports/clock.port.ts';
import { type InferenceClient, InferenceError } from './ports/inference.port.ts';

async function main(): Promise<number> {
  const bootLog = createLogger({ level: 'info' });
  let config: ReturnType<typeof readWorkerConfig>;
  try {
    config = readWorkerConfig(process.env);
  } catch (error) {
    // Config messages name variables and expected forms, never values.
    bootLog.error(error instanceof Error ? error.message : 'invalid configuration', errorFields(error));
    return 78;
  }
  const log = createLogger({ level: config.LOG_LEVEL });
  // EMF lines on stdout: the awslogs driver ships them, CloudWatch Logs turns them into metrics.
  const metrics = emfSink((line) => process.stdout.write(`${line}\n`));
  const startedAt = performance.now();
  // Fault injection for the retry test only: the first N attempts fail as a crashed task would.
  const failAttempts = config.MEDIMG_FAULT_FAIL_ATTEMPTS;
  if (config.JOB_ATTEMPT <= failAttempts) {
    log.error('fault injected: attempt fails', { attempt: config.JOB_ATTEMPT, errorCode: 'FAULT_INJECTED' });
    return 1;
  }
  // Every client has the shared retry strategy and HTTP bounds (@medimg/aws client-config.ts): an
  // endpoint that goes silent fails the attempt after AWS_IDLE_TIMEOUT_MS instead of holding the task.
  const clientConfig = awsClientConfig({ timeouts: { idleMs: config.AWS_IDLE_TIMEOUT_MS } });
  // Path-style addressing only for local S3-compatible servers (the demo, docker compose).
  const store = new S3ObjectStore({
    client: new S3Client({ ...clientConfig, forcePathStyle: config.S3_FORCE_PATH_STYLE === 'true' }),
  });
  const notifier = new SnsNotifier({ client: new SNSClient(clientConfig) });
  const { bucket, key } = parseS3Uri(config.JOB_SPEC_URI);
  let jobId = 'unknown';
  try {
    const deidKey = await loadDeidKey(config, {
      production: config.MEDIMG_MODE !== 'local',
      secretsFetcher: secretsManagerFetcher(new SecretsManagerClient(clientConfig)),
    });
    const spec = JobSpecSchema.parse(JSON.parse(Buffer.from(await store.get(bucket, key)).toString('utf8')));
    jobId = spec.jobId;
    const crashAfter = config.MEDIMG_FAULT_EXIT_AFTER_STEP;
    const sagemaker = new SageMakerInferenceClient({
      endpointName: config.SAGEMAKER_ENDPOINT_NAME,
      timeoutMs: config.INFERENCE_TIMEOUT_MS,
      serverless: config.SAGEMAKER_SERVERLESS === 'true',
      onThrottled: () => metrics.emit(inferenceThrottled()),
    });
    // Fault injection for the retry test only: the endpoint is down for the first N attempts.
    const inferenceDownAttempts = config.MEDIMG_FAULT_INFERENCE_DOWN_ATTEMPTS;
    const inference: InferenceClient = {
      describe: async (options) => {
        if (config.JOB_ATTEMPT <= inferenceDownAttempts) {
          throw new InferenceError('ENDPOINT_UNAVAILABLE', 'fault injected: endpoint down');
        }
        return sagemaker.describe(options);
      },
      invoke: async (request, options) => {
        if (config.JOB_ATTEMPT <= inferenceDownAttempts) {
          throw new InferenceError('ENDPOINT_UNAVAILABLE', 'fault injected: endpoint down');
        }
        const t0 = performance.now();
        const response = await sagemaker.invoke(request, options);
        metrics.emit(inferenceLatency(performance.now() - t0));
        return response;
      },
    };
    const outcome = await runJob(spec, {
      store,
      processedBucket: config.PROCESSED_BUCKET,
      linkageBucket: config.LINKAGE_BUCKET,
      deid: {
        key: deidKey,
        options: config.deidOptions,
      },
      inference,
      attempt: config.JOB_ATTEMPT,
      findingsHaveSubscribers: config.FINDINGS_SUBSCRIBERS !== 'none',
      notifier,
      findingsTopicArn: config.FINDINGS_TOPIC_ARN,
      linkSigner: store,
      ...(config.thresholds ? { thresholds: config.thresholds } : {}),
      logger: log,
      clock: systemClock,
      limits: {
        maxBytesInFlight: config.MAX_BYTES_IN_FLIGHT,
        maxConcurrent: config.MAX_CONCURRENT_FILES,
        maxDecodedBytes: config.MAX_DECODED_BYTES,
        fileTimeoutMs: config.FILE_TIMEOUT_MS,
      },
      previewLinkTtlSeconds: config.PREVIEW_LINK_TTL_SECONDS,
      coverage: PIPELINE_COVERAGE,
      // Fault injection for the crash-and-rerun test only: exits as a killed task would.
      afterStep: crashAfter ? (s) => (s === crashAfter ? process.exit(137) : undefined) : undefined,
    });
    for (const record of jobMetrics(outcome.status, performance.now() - startedAt)) metrics.emit(record);
    if (outcome.exitCode !== 0 && config.OPS_TOPIC_ARN) {
      await notifier
        .publish({
          topicArn: config.OPS_TOPIC_ARN,
          subject: `[medimg ops] job ${outcome.status.state} (attempt ${config.JOB_ATTEMPT})`,
          message: JSON.stringify({
            jobId,
            attempt: config.JOB_ATTEMPT,
            state: outcome.status.state,
            counts: outcome.status.counts,
            inference: outcome.status.inference,
            notifications: outcome.status.notifications,
          }),
        })
        .catch((error) => log.error('ops notification failed', { jobId, ...errorFields(error) }));
    }
    return outcome.exitCode;
  } catch (error) {
    log.error('job aborted', { jobId, ...errorFields(error) });
    if (config.OPS_TOPIC_ARN) {
      await notifier
        .publish({
          topicArn: config.OPS_TOPIC_ARN,
          subject: '[medimg ops] job aborted',
          message: JSON.stringify({ jobId, ...errorFields(error) }),
        })
        .catch(() => undefined);
    }
    return 1;
  }
}

main()
  .then(
    async (code) => {
      await closeSharedTextReader().catch(() => undefined);
      return code;
    },
    () => 1,
  )
  // Once the log lines are flushed: the container's log driver reads them through a pipe.
  .then(exitWhenFlushed);
