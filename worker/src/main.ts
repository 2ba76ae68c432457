/**
 * The Fargate task's entry point: wires the AWS SDK v3 adapters to the core and runs one job.
 * The same file runs locally under the demo's task runner, with endpoint overrides in the
 * environment (AWS_ENDPOINT_URL_S3, ..._SNS, ..._SAGEMAKER_RUNTIME) and a key file.
 */

import { S3Client } from '@aws-sdk/client-s3';
import { JobSpecSchema } from '@medimg/common';
import { S3_CLIENT_DEFAULTS, S3ObjectStore } from './adapters/s3-object-store.ts';
import { SageMakerInferenceClient } from './adapters/sagemaker-inference.ts';
import { secretsManagerFetcher } from './adapters/secrets-manager.ts';
import { SnsNotifier } from './adapters/sns-notifier.ts';
import { parseS3Uri, readWorkerConfig } from './config.ts';
import { loadDeidKey } from './deid/key.ts';
import { profileOptions } from './deid/options.ts';
import { createLogger, errorFields } from './logger.ts';
import { PIPELINE_COVERAGE } from './pipeline/coverage.ts';
import { runJob } from './pipeline/job.ts';
import type { StepName } from './pipeline/status.ts';
import { systemClock } from './ports/clock.port.ts';

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
  // Path-style addressing only for local S3-compatible servers (the demo, docker compose).
  const store = new S3ObjectStore({
    client: new S3Client({
      ...S3_CLIENT_DEFAULTS,
      forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    }),
  });
  const notifier = new SnsNotifier();
  const { bucket, key } = parseS3Uri(config.JOB_SPEC_URI);
  let jobId = 'unknown';
  try {
    const deidKey = await loadDeidKey(process.env, {
      production: process.env.MEDIMG_MODE !== 'local',
      secretsFetcher: secretsManagerFetcher(),
    });
    const spec = JobSpecSchema.parse(JSON.parse(Buffer.from(await store.get(bucket, key)).toString('utf8')));
    jobId = spec.jobId;
    const crashAfter = process.env.MEDIMG_FAULT_EXIT_AFTER_STEP as StepName | undefined;
    const outcome = await runJob(spec, {
      store,
      processedBucket: config.PROCESSED_BUCKET,
      linkageBucket: config.LINKAGE_BUCKET,
      deid: {
        key: deidKey,
        options: profileOptions(config.DEID_PROFILE, {
          ...(config.DEID_OPTIONS ? (JSON.parse(config.DEID_OPTIONS) as object) : {}),
          burnedInPolicy: config.BURNED_IN_POLICY,
        }),
      },
      inference: new SageMakerInferenceClient({
        endpointName: config.SAGEMAKER_ENDPOINT_NAME,
        timeoutMs: config.INFERENCE_TIMEOUT_MS,
        serverless: config.SAGEMAKER_SERVERLESS === 'true',
      }),
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
      },
      previewLinkTtlSeconds: config.PREVIEW_LINK_TTL_SECONDS,
      coverage: PIPELINE_COVERAGE,
      // Fault injection for the crash-and-rerun test only: exits as a killed task would.
      afterStep: crashAfter ? (s) => (s === crashAfter ? process.exit(137) : undefined) : undefined,
    });
    if (outcome.exitCode !== 0 && config.OPS_TOPIC_ARN) {
      await notifier
        .publish({
          topicArn: config.OPS_TOPIC_ARN,
          subject: `[medimg ops] job ${outcome.status.state}`,
          message: JSON.stringify({
            jobId,
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

main().then(
  (code) => process.exit(code),
  () => process.exit(1),
);
