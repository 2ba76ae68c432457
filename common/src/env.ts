/**
 * The environment variable names of each deployable, in one place: the config schema of the
 * deployable reads them, infra's `bind...` methods set them, the local pipeline sets them for the
 * demo and the end-to-end tests. A typo is a compile error instead of a variable nobody reads.
 */
const names = <const N extends readonly string[]>(...list: N): { readonly [K in N[number]]: K } =>
  Object.freeze(Object.fromEntries(list.map((n) => [n, n]))) as { readonly [K in N[number]]: K };

/** The worker task (worker/src/config.ts). */
export const WORKER_ENV = names(
  'JOB_SPEC_URI',
  'PROCESSED_BUCKET',
  'LINKAGE_BUCKET',
  'SAGEMAKER_ENDPOINT_NAME',
  'SAGEMAKER_SERVERLESS',
  'FINDINGS_TOPIC_ARN',
  'OPS_TOPIC_ARN',
  'CRITICAL_THRESHOLDS',
  'BURNED_IN_POLICY',
  'DEID_PROFILE',
  'DEID_OPTIONS',
  'DEID_KEY_SECRET_ARN',
  'DEID_KEY_FILE',
  'DEID_KEY',
  'MAX_BYTES_IN_FLIGHT',
  'MAX_DECODED_BYTES',
  'FILE_TIMEOUT_MS',
  'MAX_CONCURRENT_FILES',
  'PREVIEW_LINK_TTL_SECONDS',
  'INFERENCE_TIMEOUT_MS',
  /** Longest silence on a connection to S3, SNS or Secrets Manager before the attempt fails (@medimg/aws). */
  'AWS_IDLE_TIMEOUT_MS',
  'LOG_LEVEL',
  /** `true` for S3-compatible local servers (the demo, docker compose). */
  'S3_FORCE_PATH_STYLE',
  /** `local` accepts an inline DEID_KEY; anything else is production. */
  'MEDIMG_MODE',
  /** Fault injection for the crash-and-rerun test: the task exits 137 after this step. */
  'MEDIMG_FAULT_EXIT_AFTER_STEP',
  /** Which attempt of its job the task is (the dispatcher's container override). */
  'JOB_ATTEMPT',
  /** `none` when nobody subscribes to the findings topic (allowNoRecipients). */
  'FINDINGS_SUBSCRIBERS',
  /** Fault injection for the retry test: the first N attempts fail / find the endpoint down. */
  'MEDIMG_FAULT_FAIL_ATTEMPTS',
  'MEDIMG_FAULT_INFERENCE_DOWN_ATTEMPTS',
);
export type WorkerEnvName = keyof typeof WORKER_ENV;

/** The trigger Lambda (trigger-lambda/src/config.ts). */
export const TRIGGER_ENV = names(
  'RAW_BUCKET',
  'CLUSTER_ARN',
  'TASK_DEFINITION_ARN',
  'CONTAINER_NAME',
  'SUBNET_IDS',
  'SECURITY_GROUP_IDS',
  'ASSIGN_PUBLIC_IP',
  'S3_EVENT_KEYS_URL_ENCODED',
  'MANAGED_BATCH_ID_PATTERN',
  'LOG_LEVEL',
  /** Jobs go to the dispatcher's queue (then the ECS variables are not read). */
  'DISPATCH_QUEUE_URL',
);
export type TriggerEnvName = keyof typeof TRIGGER_ENV;

/** The upload API Lambda (upload-api/src/config.ts). */
export const UPLOAD_API_ENV = names(
  'RAW_BUCKET',
  'PROCESSED_BUCKET',
  'MAX_FILES',
  'MAX_FILE_BYTES',
  'MULTIPART_THRESHOLD_BYTES',
  'PART_SIZE_BYTES',
  'URL_EXPIRY_SECONDS',
  'MAX_BODY_BYTES',
  'LOG_LEVEL',
);
export type UploadApiEnvName = keyof typeof UPLOAD_API_ENV;

/** The dispatcher Lambda (trigger-lambda/src/dispatch/config.ts). */
export const DISPATCHER_ENV = names(
  'RAW_BUCKET',
  'DISPATCH_QUEUE_URL',
  'OPS_TOPIC_ARN',
  'CLUSTER_ARN',
  'TASK_DEFINITION_ARN',
  'TASK_FAMILY',
  'CONTAINER_NAME',
  'SUBNET_IDS',
  'SECURITY_GROUP_IDS',
  'ASSIGN_PUBLIC_IP',
  'MAX_RUNNING_TASKS',
  'MAX_ATTEMPTS',
  'RETRY_BASE_DELAY_SECONDS',
  'TASK_TIME_LIMIT_SECONDS',
  'LOG_LEVEL',
);
export type DispatcherEnvName = keyof typeof DISPATCHER_ENV;
