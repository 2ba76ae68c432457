/**
 * Deployment settings, read once from CDK context (`cdk.json`, `cdk.context.json` or `-c key=value`)
 * and handed to the stack as one typed, readonly object. Every key is optional; the defaults below
 * are the documented ones (infra/README.md, "Context values").
 */
import type { Node } from 'constructs';

export type InferenceMode = 'serverless' | 'instance';
export type CpuArchitectureName = 'x86_64' | 'arm64';
export type BurnedInPolicy = 'quarantine' | 'redact' | 'blank';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface StorageSettings {
  /** Raw uploads (`incoming/`) expire this many days after upload. */
  readonly rawUploadExpirationDays: number;
  /** Job specs (`jobs/`) and quarantined originals (`quarantine/`) in the raw bucket expire after this. */
  readonly rawJobsExpirationDays: number;
  /** Processed objects move to S3 Standard-IA after this many days. */
  readonly processedInfrequentAccessAfterDays: number;
  /** Processed objects move to S3 Glacier Instant Retrieval after this many days. */
  readonly processedGlacierAfterDays: number;
  /** Old (noncurrent) object versions are deleted this many days after being replaced. */
  readonly noncurrentVersionExpirationDays: number;
  /** Server access logs and VPC flow logs in the audit bucket are kept this long (6 years: HIPAA). */
  readonly auditLogRetentionDays: number;
  /** Browser origins allowed to PUT presigned uploads into the raw bucket (none: no CORS rule). */
  readonly uploadCorsOrigins: readonly string[];
}

export interface WorkerSettings {
  /** Fargate CPU units (1024 = 1 vCPU). */
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly cpuArchitecture: CpuArchitectureName;
  /** JSON object `{"label": minScore}`: which model findings are critical (DESIGN D5). Unset: the
   * thresholds the model was calibrated for (its metadata, models/MODEL_CARD.md). */
  readonly criticalThresholds?: Readonly<Record<string, number>>;
  readonly burnedInPolicy: BurnedInPolicy;
  /** De-identification profile (docs/deidentification.md): research (default) or safe-harbor. */
  readonly deidProfile: 'research' | 'safe-harbor';
  readonly logLevel: LogLevel;
}

export interface TriggerSettings {
  /**
   * Reserved concurrency of the trigger Lambda; off by default. An account keeps 100 executions
   * unreserved and new accounts often have 10 in all, so a reservation can fail the deployment.
   */
  readonly reservedConcurrency?: number;
  /** Maximum concurrency of the SQS event source (2..1000): what bounds the trigger by default. */
  readonly maxConcurrency: number;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
}

export interface InferenceSettings {
  readonly mode: InferenceMode;
  /** Serverless: memory (1024..6144, step 1024) and concurrency (default: the task cap). */
  readonly serverlessMemoryMb: number;
  readonly serverlessMaxConcurrency: number;
  /** Instance-backed: instance type, count at start and least, most under target tracking. */
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly instanceMaxCount: number;
  /** Target tracking: invocations per instance per minute (SageMakerVariantInvocationsPerInstance). */
  readonly invocationsPerInstanceTarget: number;
}

export interface AlarmSettings {
  /** p90 model latency above this (milliseconds) raises the latency alarm. */
  readonly endpointLatencyThresholdMs: number;
  /** A job waiting longer than this (seconds) in the intake or dispatch queue raises an alarm. */
  readonly queueAgeThresholdSeconds: number;
}

/** Retries, backpressure and time limits of worker tasks (docs/decisions/014-job-dispatch-and-retries.md). */
export interface JobSettings {
  /** Worker tasks running at once; beyond it jobs wait in the dispatch queue. */
  readonly maxRunningTasks: number;
  /** Attempts per job (the first run included) before the dead-letter record. */
  readonly maxAttempts: number;
  /** Backoff before attempt n+1: base * 2^(n-1) seconds, at most 900 (SQS's longest delay). */
  readonly retryBaseDelaySeconds: number;
  /** A task still running this long after its start is stopped, and retried. */
  readonly taskTimeLimitMinutes: number;
}

/** Who may touch PHI besides the pipeline roles (bucket and key policies name them). */
export interface AccessSettings {
  /** An administrator role allowed into the raw and linkage buckets and their keys (break-glass). */
  readonly adminRoleArn?: string;
  /**
   * Principals trusted to assume the re-identification role. Empty (the default): the role trusts
   * the account with MFA, and nobody holds sts:AssumeRole on it until the break-glass procedure.
   */
  readonly reidentifierPrincipalArns: readonly string[];
  /** Default Object Lock retention (governance mode) of the CloudTrail data-event records. */
  readonly trailRetentionDays: number;
}

export interface PipelineConfig {
  readonly stackName: string;
  readonly storage: StorageSettings;
  readonly worker: WorkerSettings;
  readonly trigger: TriggerSettings;
  readonly inference: InferenceSettings;
  readonly alarms: AlarmSettings;
  readonly jobs: JobSettings;
  readonly access: AccessSettings;
  /**
   * Deploy with no findings or operations recipients (a test stack). Without it, synth refuses:
   * findings would go to a topic nobody reads. The job record then says "no subscribers".
   */
  readonly allowNoRecipients: boolean;
  /** Clinicians who receive critical findings (email; no PHI is ever sent). */
  readonly findingsEmails: readonly string[];
  /** Operators who receive alarms and failed-task events. */
  readonly opsEmails: readonly string[];
  /** CloudWatch Logs retention for the Lambda, the worker and the VPC endpoints' consumers. */
  readonly logRetentionDays: number;
  /** Availability zones the VPC spans (env-agnostic: the first N of the region). */
  readonly maxAzs: number;
}

export const DEFAULT_CONFIG: PipelineConfig = {
  stackName: 'MedimgPipeline',
  storage: {
    rawUploadExpirationDays: 30,
    rawJobsExpirationDays: 90,
    processedInfrequentAccessAfterDays: 30,
    processedGlacierAfterDays: 180,
    noncurrentVersionExpirationDays: 30,
    auditLogRetentionDays: 2192,
    uploadCorsOrigins: [],
  },
  worker: {
    // Sized from `npm run bench` (decision 018, part 2): the 2 GB study's peak is under 0.5 GB in
    // one process, so 4 GiB leaves the in-flight and per-input budgets below with headroom, and two
    // vCPU are what the render threads and libvips use (one render thread per vCPU).
    cpu: 2048,
    memoryMiB: 4096,
    cpuArchitecture: 'x86_64',
    burnedInPolicy: 'quarantine',
    deidProfile: 'research',
    logLevel: 'info',
  },
  trigger: { maxConcurrency: 5, batchSize: 1000, maxBatchingWindowSeconds: 20 },
  inference: {
    mode: 'serverless',
    serverlessMemoryMb: 3072,
    serverlessMaxConcurrency: 10,
    instanceType: 'ml.c6i.large',
    instanceCount: 1,
    instanceMaxCount: 4,
    invocationsPerInstanceTarget: 300,
  },
  alarms: { endpointLatencyThresholdMs: 5000, queueAgeThresholdSeconds: 1800 },
  jobs: { maxRunningTasks: 10, maxAttempts: 3, retryBaseDelaySeconds: 60, taskTimeLimitMinutes: 60 },
  access: { reidentifierPrincipalArns: [], trailRetentionDays: 2192 },
  allowNoRecipients: false,
  findingsEmails: [],
  opsEmails: [],
  logRetentionDays: 365,
  maxAzs: 2,
};

/** Values CloudWatch Logs accepts as a retention period. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export class ConfigError extends Error {
  readonly code = 'INFRA_CONFIG_INVALID';
  constructor(
    readonly key: string,
    expected: string,
  ) {
    super(`context value "${key}" is invalid: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

/** The subset of `Node` this module reads, so tests can pass a plain map. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/** Reads and validates every setting; throws a ConfigError naming the key on the first bad one. */
export function readPipelineConfig(node: ContextSource | Node): PipelineConfig {
  const r = new ContextReader(node);
  const d = DEFAULT_CONFIG;
  const jobs: JobSettings = {
    maxRunningTasks: r.int('maxRunningTasks', d.jobs.maxRunningTasks, 1, 1000),
    maxAttempts: r.int('maxTaskAttempts', d.jobs.maxAttempts, 1, 10),
    retryBaseDelaySeconds: r.int('retryBaseDelaySeconds', d.jobs.retryBaseDelaySeconds, 0, 900),
    taskTimeLimitMinutes: r.int('taskTimeLimitMinutes', d.jobs.taskTimeLimitMinutes, 5, 24 * 60),
  };
  const config: PipelineConfig = {
    stackName: r.string('stackName', d.stackName, /^[A-Za-z][A-Za-z0-9-]{0,127}$/),
    storage: {
      rawUploadExpirationDays: r.int('rawUploadExpirationDays', d.storage.rawUploadExpirationDays, 1),
      rawJobsExpirationDays: r.int('rawJobsExpirationDays', d.storage.rawJobsExpirationDays, 1),
      processedInfrequentAccessAfterDays: r.int(
        'processedInfrequentAccessAfterDays',
        d.storage.processedInfrequentAccessAfterDays,
        30,
      ),
      processedGlacierAfterDays: r.int('processedGlacierAfterDays', d.storage.processedGlacierAfterDays, 90),
      noncurrentVersionExpirationDays: r.int(
        'noncurrentVersionExpirationDays',
        d.storage.noncurrentVersionExpirationDays,
        1,
      ),
      auditLogRetentionDays: r.int('auditLogRetentionDays', d.storage.auditLogRetentionDays, 1),
      uploadCorsOrigins: r.stringList(
        'uploadCorsOrigins',
        d.storage.uploadCorsOrigins,
        /^https:\/\/[^\s,*]+$/,
      ),
    },
    worker: {
      cpu: r.oneOf('workerCpu', d.worker.cpu, [256, 512, 1024, 2048, 4096, 8192, 16384]),
      memoryMiB: r.int('workerMemoryMiB', d.worker.memoryMiB, 512, 122880),
      cpuArchitecture: r.oneOf('workerCpuArchitecture', d.worker.cpuArchitecture, [
        'x86_64',
        'arm64',
      ] as const),
      ...(r.has('criticalThresholds') ? { criticalThresholds: r.thresholds('criticalThresholds', {}) } : {}),
      burnedInPolicy: r.oneOf('burnedInPolicy', d.worker.burnedInPolicy, [
        'quarantine',
        'redact',
        'blank',
      ] as const),
      deidProfile: r.oneOf('deidProfile', d.worker.deidProfile, ['research', 'safe-harbor'] as const),
      logLevel: r.oneOf('logLevel', d.worker.logLevel, ['debug', 'info', 'warn', 'error'] as const),
    },
    trigger: {
      ...r.optionalInt('triggerReservedConcurrency', 'reservedConcurrency', 1, 1000),
      maxConcurrency: r.int('triggerMaxConcurrency', d.trigger.maxConcurrency, 2, 1000),
      batchSize: r.int('triggerBatchSize', d.trigger.batchSize, 1, 10000),
      maxBatchingWindowSeconds: r.int(
        'triggerMaxBatchingWindowSeconds',
        d.trigger.maxBatchingWindowSeconds,
        0,
        300,
      ),
    },
    inference: {
      mode: r.oneOf('inferenceMode', d.inference.mode, ['serverless', 'instance'] as const),
      serverlessMemoryMb: r.oneOf(
        'inferenceServerlessMemoryMb',
        d.inference.serverlessMemoryMb,
        [1024, 2048, 3072, 4096, 5120, 6144],
      ),
      // One inference request in flight per task (the worker infers series by series): the
      // endpoint's concurrency follows the task cap unless set.
      serverlessMaxConcurrency: r.int('inferenceServerlessMaxConcurrency', jobs.maxRunningTasks, 1, 200),
      instanceType: r.string('inferenceInstanceType', d.inference.instanceType, /^ml\.[a-z0-9]+\.[a-z0-9]+$/),
      instanceCount: r.int('inferenceInstanceCount', d.inference.instanceCount, 1, 100),
      instanceMaxCount: r.int('inferenceInstanceMaxCount', d.inference.instanceMaxCount, 1, 100),
      invocationsPerInstanceTarget: r.int(
        'inferenceInvocationsPerInstanceTarget',
        d.inference.invocationsPerInstanceTarget,
        1,
        100000,
      ),
    },
    alarms: {
      endpointLatencyThresholdMs: r.int('endpointLatencyThresholdMs', d.alarms.endpointLatencyThresholdMs, 1),
      queueAgeThresholdSeconds: r.int('queueAgeThresholdSeconds', d.alarms.queueAgeThresholdSeconds, 60),
    },
    jobs,
    access: {
      ...r.optionalString('adminRoleArn', 'adminRoleArn', ROLE_ARN),
      reidentifierPrincipalArns: r.stringList(
        'reidentifierPrincipalArns',
        d.access.reidentifierPrincipalArns,
        PRINCIPAL_ARN,
      ),
      trailRetentionDays: r.int('trailRetentionDays', d.access.trailRetentionDays, 1, 36500),
    },
    allowNoRecipients: r.bool('allowNoRecipients', d.allowNoRecipients),
    findingsEmails: r.stringList('findingsEmails', d.findingsEmails, EMAIL),
    opsEmails: r.stringList('opsEmails', d.opsEmails, EMAIL),
    logRetentionDays: r.oneOf('logRetentionDays', d.logRetentionDays, LOG_RETENTION_DAYS),
    maxAzs: r.int('maxAzs', d.maxAzs, 2, 6),
  };
  if (!config.allowNoRecipients) {
    for (const key of ['findingsEmails', 'opsEmails'] as const) {
      if (config[key].length === 0) {
        throw new ConfigError(
          key,
          'at least one email address (nobody would receive them); set allowNoRecipients=true for a test stack',
        );
      }
    }
  }
  if (config.inference.instanceMaxCount < config.inference.instanceCount) {
    throw new ConfigError('inferenceInstanceMaxCount', 'at least inferenceInstanceCount');
  }
  if (config.storage.processedGlacierAfterDays < config.storage.processedInfrequentAccessAfterDays + 30) {
    throw new ConfigError(
      'processedGlacierAfterDays',
      'at least 30 days after processedInfrequentAccessAfterDays (S3 minimum time in Standard-IA)',
    );
  }
  return config;
}

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/;

/** Context values come as JSON from cdk.json and as strings from `-c key=value`: accept both. */
class ContextReader {
  constructor(private readonly source: ContextSource) {}

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  private raw(key: string): unknown {
    return this.source.tryGetContext(key);
  }

  string(key: string, fallback: string, pattern: RegExp): string {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !pattern.test(v)) throw new ConfigError(key, `a string matching ${pattern}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new ConfigError(key, 'true or false');
  }

  /** `{ [field]: value }` when the key is set, `{}` otherwise (for optional settings). */
  optionalInt<F extends string>(key: string, field: F, min: number, max: number): { [K in F]?: number } {
    if (this.raw(key) === undefined) return {};
    return { [field]: this.int(key, min, min, max) } as { [K in F]?: number };
  }

  optionalString<F extends string>(key: string, field: F, pattern: RegExp): { [K in F]?: string } {
    if (this.raw(key) === undefined) return {};
    return { [field]: this.string(key, '', pattern) } as { [K in F]?: string };
  }

  int(key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(key, `an integer from ${min} to ${max}`);
    }
    return n;
  }

  oneOf<T extends string | number>(key: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    const candidate = typeof fallback === 'number' && typeof v === 'string' ? Number(v) : v;
    const hit = allowed.find((a) => a === candidate);
    if (hit === undefined) throw new ConfigError(key, `one of ${allowed.join(', ')}`);
    return hit;
  }

  /** A JSON array, or a comma-separated string (handy on the command line). */
  stringList(key: string, fallback: readonly string[], item: RegExp): readonly string[] {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    let list: unknown = v;
    if (typeof v === 'string') {
      list = v.trim().startsWith('[') ? parseJson(key, v) : v.split(',').map((s) => s.trim());
    }
    if (!Array.isArray(list)) throw new ConfigError(key, 'a list of strings');
    const items = list.filter((s) => s !== '');
    if (!items.every((s): s is string => typeof s === 'string' && item.test(s))) {
      throw new ConfigError(key, `a list of strings matching ${item}`);
    }
    return items;
  }

  thresholds(key: string, fallback: Readonly<Record<string, number>>): Readonly<Record<string, number>> {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    const obj = typeof v === 'string' ? parseJson(key, v) : v;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new ConfigError(key, 'a JSON object {"label": minScore}');
    }
    for (const [label, score] of Object.entries(obj)) {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(label) || typeof score !== 'number' || score < 0 || score > 1) {
        throw new ConfigError(key, 'a JSON object {"label": minScore} with scores in [0, 1]');
      }
    }
    return obj as Record<string, number>;
  }
}

function parseJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(key, 'valid JSON');
  }
}
