import type { ReasonCode } from '@medimg/common';

/** The job record `jobs/<jobId>/status.json` (DESIGN D2): each step's state, counts, timings, errors. */
export const STEP_NAMES = [
  'fetch',
  'parse',
  'deidentify',
  'normalize',
  'store',
  'infer',
  'assess',
  'notify',
  'record',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export type StepState = 'pending' | 'running' | 'succeeded' | 'partial' | 'failed' | 'skipped';

export interface StepRecord {
  state: StepState;
  ok: number;
  failed: number;
  durationMs: number;
  errorCode?: string;
}

export interface FileRecord {
  /** Position in the job spec: the spec (raw bucket) maps it back to the uploaded key. */
  readonly index: number;
  /** Keyed hash of the raw key (HMAC): names the quarantine entry without carrying the file name. */
  readonly inputId: string;
  status: 'pending' | 'processed' | 'quarantined' | 'failed';
  reason?: ReasonCode;
  errorCode?: string;
  /** The step where a quarantined or failed file stopped. */
  step?: StepName;
  study?: string;
  series?: string;
  sop?: string;
}

export type JobState = 'running' | 'succeeded' | 'completed_with_quarantine' | 'failed';

export interface JobStatus {
  readonly version: 1;
  readonly jobId: string;
  /** Keyed reference of the upload batch (pseudonyms.ts keyedBatchRef), never the batch id itself. */
  readonly batchRef?: string;
  state: JobState;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  counts: { inputs: number; processed: number; quarantined: number; failed: number };
  steps: Record<StepName, StepRecord>;
  inference: {
    state: StepState;
    model?: { name: string; version: string };
    errorCode?: string;
    requests: number;
  };
  notifications: { published: number; duplicatesSkipped: number; failed: number };
  findings: {
    critical: number;
    studies: number;
    series: number;
    /** Series not assessed: outside the model's declared scope, or every image out of distribution. */
    notAssessed?: { outOfScope: number; outOfDistribution: number };
  };
  /** What each step covers today, so a reader knows exactly what was (not) done. */
  coverage: Readonly<Record<string, string>>;
  files: FileRecord[];
}

export function newJobStatus(
  jobId: string,
  batchRef: string | undefined,
  inputs: number,
  now: Date,
): JobStatus {
  const steps = Object.fromEntries(
    STEP_NAMES.map((s) => [s, { state: 'pending', ok: 0, failed: 0, durationMs: 0 } satisfies StepRecord]),
  ) as Record<StepName, StepRecord>;
  return {
    version: 1,
    jobId,
    ...(batchRef ? { batchRef } : {}),
    state: 'running',
    startedAt: now.toISOString(),
    updatedAt: now.toISOString(),
    counts: { inputs, processed: 0, quarantined: 0, failed: 0 },
    steps,
    inference: { state: 'pending', requests: 0 },
    notifications: { published: 0, duplicatesSkipped: 0, failed: 0 },
    findings: { critical: 0, studies: 0, series: 0 },
    coverage: {},
    files: [],
  };
}
