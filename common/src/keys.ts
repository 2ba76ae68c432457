/**
 * The object key layout (DESIGN D7), the one home for every key the pipeline reads or writes.
 * Processed-bucket keys are built only from de-identified UIDs and job ids, never from input names.
 */

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

function safe(kind: string, value: string): string {
  if (!SAFE_ID.test(value)) throw new Error(`unsafe ${kind} for an object key`);
  return value;
}

/**
 * Upload batch ids issued by the upload API (and the local uploader): a folder under `incoming/`
 * with this form is a managed batch whose files wait for its manifest (trigger-lambda/README.md).
 */
export const MANAGED_BATCH_ID_PATTERN = /^b-[A-Za-z0-9._-]{1,126}$/;

export const rawKeys = {
  incomingPrefix: 'incoming/',
  batchPrefix: (batchId: string) => `incoming/${safe('batch id', batchId)}/`,
  /** Written last by the upload API when every announced file is there. */
  manifest: (batchId: string) => `incoming/${safe('batch id', batchId)}/manifest.json`,
  jobSpec: (jobId: string) => `jobs/${safe('job id', jobId)}.json`,
  /** Written after RunTask succeeded: a spec without it is a job whose task may not have started. */
  jobStarted: (jobId: string) => `jobs/${safe('job id', jobId)}.started.json`,
  /** The dispatcher's ledger of a job's attempts (trigger-lambda/src/dispatch). */
  jobAttempts: (jobId: string) => `jobs/${safe('job id', jobId)}.attempts.json`,
  /** Written when a job failed its last attempt: what failed, for the operator who re-runs it. */
  jobDeadLetter: (jobId: string) => `jobs/${safe('job id', jobId)}.dead-letter.json`,
  /** Quarantined originals stay in the raw bucket (they may hold PHI). */
  quarantineObject: (jobId: string, inputId: string) =>
    `quarantine/${safe('job id', jobId)}/${safe('input id', inputId)}.dcm`,
  quarantineReason: (jobId: string, inputId: string) =>
    `quarantine/${safe('job id', jobId)}/${safe('input id', inputId)}.json`,
} as const;

export const MANIFEST_FILE_NAME = 'manifest.json';

export function isManifestKey(key: string): boolean {
  return /^incoming\/[^/]+\/manifest\.json$/.test(key);
}

export function batchIdOfKey(key: string): string | undefined {
  const m = /^incoming\/([^/]+)\//.exec(key);
  return m?.[1];
}

export const processedKeys = {
  studyPrefix: (study: string) => `studies/${safe('study uid', study)}/`,
  instance: (study: string, series: string, sop: string) =>
    `studies/${safe('study uid', study)}/series/${safe('series uid', series)}/instances/${safe('sop uid', sop)}.dcm`,
  preview: (study: string, series: string, sop: string) =>
    `studies/${safe('study uid', study)}/series/${safe('series uid', series)}/previews/${safe('sop uid', sop)}.png`,
  thumbnail: (study: string, series: string, sop: string) =>
    `studies/${safe('study uid', study)}/series/${safe('series uid', series)}/thumbnails/${safe('sop uid', sop)}.png`,
  modelInput: (study: string, series: string, sop: string) =>
    `studies/${safe('study uid', study)}/series/${safe('series uid', series)}/model-input/${safe('sop uid', sop)}.png`,
  results: (study: string) => `studies/${safe('study uid', study)}/results.json`,
  jobStatus: (jobId: string) => `jobs/${safe('job id', jobId)}/status.json`,
  /** Reason only: the original bytes stay in the raw bucket. */
  quarantine: (jobId: string, inputId: string) =>
    `quarantine/${safe('job id', jobId)}/${safe('input id', inputId)}.json`,
  /** Dedup record for a notification, written before the publish. */
  notification: (study: string, label: string) =>
    `notifications/${safe('study uid', study)}/${safe('label', label)}.json`,
} as const;

/** Restricted linkage store: pseudonym -> original identifiers. Never the processed bucket. */
export const linkageKeys = {
  prefix: 'linkage/',
  study: (pseudoPatientId: string, study: string) =>
    `linkage/${safe('patient pseudonym', pseudoPatientId)}/${safe('study uid', study)}.json`,
  /** One audit record per re-identification request (`medimg reidentify`), written before the read. */
  reidentificationAudit: (requestId: string) => `audit/reidentify/${safe('request id', requestId)}.json`,
} as const;

/** The pseudonymous study UID of a linkage record's key, or undefined for any other key. */
export function studyOfLinkageKey(key: string): string | undefined {
  return /^linkage\/[^/]+\/([^/]+)\.json$/.exec(key)?.[1];
}
