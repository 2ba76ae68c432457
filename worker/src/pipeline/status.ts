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
  /** De-identified code strings and the instance number, for an inference-only re-run. */
  modality?: string;
  bodyPart?: string;
  instanceNumber?: number;
  /** A model input PNG was stored for this instance (processedKeys.modelInput). */
  modelInput?: boolean;
}

export type JobState = 'running' | 'succeeded' | 'completed_with_quarantine' | 'failed';

export interface JobStatus {
  readonly version: 1;
  readonly jobId: string;
  /** Keyed reference of the upload batch (pseudonyms.ts keyedBatchRef), never the batch id itself. */
  readonly batchRef?: string;
  state: JobState;
  /** Which attempt of the job wrote this record (1 for the first run; the dispatcher retries). */
  attempt: number;
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
  notifications: {
    published: number;
    duplicatesSkipped: number;
    failed: number;
    /** `no-subscribers`: published to a topic nobody subscribes to (allowNoRecipients): not delivered. */
    delivery: 'subscribers' | 'no-subscribers';
  };
  findings: { critical: number; studies: number; series: number };
  /**
   * Set when this attempt re-ran inference alone: the earlier attempt had stored every file and
   * failed only at inference, so its per-file results were reused.
   */
  resumedFrom?: { readonly attempt: number; readonly mode: 'inference-only' };
  /** What each step covers today, so a reader knows exactly what was (not) done. */
  coverage: Readonly<Record<string, string>>;
  files: FileRecord[];
}

export function newJobStatus(
  jobId: string,
  batchRef: string | undefined,
  inputs: number,
  now: Date,
  attempt = 1,
): JobStatus {
  const steps = Object.fromEntries(
    STEP_NAMES.map((s) => [s, { state: 'pending', ok: 0, failed: 0, durationMs: 0 } satisfies StepRecord]),
  ) as Record<StepName, StepRecord>;
  return {
    version: 1,
    jobId,
    ...(batchRef ? { batchRef } : {}),
    state: 'running',
    attempt,
    startedAt: now.toISOString(),
    updatedAt: now.toISOString(),
    counts: { inputs, processed: 0, quarantined: 0, failed: 0 },
    steps,
    inference: { state: 'pending', requests: 0 },
    notifications: { published: 0, duplicatesSkipped: 0, failed: 0, delivery: 'subscribers' },
    findings: { critical: 0, studies: 0, series: 0 },
    coverage: {},
    files: [],
  };
}
