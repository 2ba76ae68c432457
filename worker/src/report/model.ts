/**
 * What a report shows, gathered from what the pipeline wrote: the job records, each study's
 * results.json and its thumbnails and finding previews. Only pseudonymous ids, codes and numbers.
 */

import type { ObjectStore } from '@medimg/common';
import { ERROR_CODES, isErrorCode, NOT_ASSESSED, processedKeys, REASON_CODES } from '@medimg/common';
import type { TextCheck } from '../deid/burned-in-text.ts';
import type { SeriesFinding } from '../pipeline/assess.ts';
import type { DecisionSupport } from '../pipeline/decision-support.ts';
import type { JobStatus, StepName, StepRecord } from '../pipeline/status.ts';
import { drawFindingBox } from './annotate.ts';

/** `studies/<study>/results.json`, as the record step writes it. */
export interface StudyResults {
  readonly study: string;
  readonly jobId: string;
  readonly model: { readonly name: string; readonly version: string } | null;
  /** What the model is for and how often it false-alarms (absent when no model ran). */
  readonly decisionSupport?: DecisionSupport;
  readonly inference: string;
  readonly thresholds: Readonly<Record<string, number>>;
  readonly series: readonly {
    readonly series: string;
    readonly modality: string | null;
    readonly bodyPart: string | null;
    readonly instances: number;
    readonly findings: readonly SeriesFinding[];
    /** Set when the model did not assess the series (out of scope, out of distribution...). */
    readonly notAssessed?: { readonly reason: string } | string;
  }[];
  readonly critical: readonly (SeriesFinding & { readonly series: string })[];
}

export interface ReportImage {
  readonly sop: string;
  /** `data:image/png;base64,...`: the report carries its images. */
  readonly src: string;
}

export interface ReportSeries {
  readonly series: string;
  readonly modality: string | null;
  readonly bodyPart: string | null;
  readonly instances: number;
  /** 'assessed', 'not assessed (out of scope)' and the like (closed vocabulary), 'not assessed', or 'not run' when inference did not run. */
  readonly assessment: string;
  readonly findings: readonly SeriesFinding[];
  readonly thumbnails: readonly ReportImage[];
  /** Thumbnails left out to keep the page small. */
  readonly thumbnailsOmitted: number;
}

export interface ReportFinding extends SeriesFinding {
  readonly series: string;
  /** The preview of the image that carries it, with the box drawn. */
  readonly preview?: ReportImage;
}

export interface ReportStudy {
  readonly study: string;
  readonly model: { readonly name: string; readonly version: string } | null;
  readonly decisionSupport?: DecisionSupport;
  readonly inference: string;
  readonly thresholds: Readonly<Record<string, number>>;
  readonly series: readonly ReportSeries[];
  readonly critical: readonly ReportFinding[];
}

export interface ReportJob {
  readonly jobId: string;
  /** Keyed reference of the upload batch, never the batch id itself. */
  readonly batchRef?: string;
  readonly state: JobStatus['state'];
  readonly counts: JobStatus['counts'];
  readonly inference: JobStatus['inference'];
  readonly steps: readonly (StepRecord & { readonly name: StepName })[];
}

/** The burned-in text check of one image as the report shows it: counts and a closed vocabulary. */
export type ReportTextCheck = Pick<TextCheck, 'textBoxes' | 'phiMatches' | 'action'>;

export interface ReportInput {
  readonly index: number;
  readonly inputId: string;
  readonly jobId: string;
  readonly status: 'quarantined' | 'failed';
  readonly reason: string;
  /**
   * The reason in plain words, from the closed vocabularies of reason and error codes
   * (common/src/outcomes.ts, errors.ts); absent for a code neither names.
   */
  readonly meaning?: string;
  readonly step?: string;
  /** Set when the pixels were scanned for text before the input was quarantined. */
  readonly textCheck?: ReportTextCheck;
}

export interface RunReport {
  readonly title: string;
  readonly jobs: readonly ReportJob[];
  readonly studies: readonly ReportStudy[];
  /** Inputs that were quarantined or failed: input ids and reason codes, never file names. */
  readonly setAside: readonly ReportInput[];
}

/** At most this many thumbnails per series (evenly spread, plus the flagged images). */
export const MAX_THUMBNAILS = 12;

/** "not assessed (out of scope)" and the like, from the closed vocabulary; the code for another reason. */
const notAssessedWords = (reason: string): string =>
  Object.hasOwn(NOT_ASSESSED, reason)
    ? NOT_ASSESSED[reason as keyof typeof NOT_ASSESSED]
    : `not assessed (${reason})`;

/** The plain words of a reason or error code, when a closed vocabulary names it. */
function meaningOf(code: string | undefined): { meaning?: string } {
  if (code === undefined) return {};
  if (Object.hasOwn(REASON_CODES, code)) return { meaning: REASON_CODES[code as keyof typeof REASON_CODES] };
  if (isErrorCode(code)) return { meaning: ERROR_CODES[code] };
  return {};
}

const dataUri = (png: Uint8Array): string => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

function pickEvenly<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]!);
}

export interface CollectOptions {
  readonly store: ObjectStore;
  readonly processedBucket: string;
  readonly statuses: readonly JobStatus[];
  /** Only these studies (a study's own report); all of the jobs' studies otherwise. */
  readonly studies?: readonly string[];
  readonly title?: string;
}

/** Reads what the jobs wrote and gathers the report's content. */
export async function collectRunReport(options: CollectOptions): Promise<RunReport> {
  const { store, processedBucket: bucket, statuses } = options;
  const files = statuses.flatMap((s) => s.files.map((f) => ({ ...f, jobId: s.jobId })));
  const studyIds = options.studies ?? [...new Set(files.flatMap((f) => (f.study ? [f.study] : [])))].sort();
  const studies: ReportStudy[] = [];
  for (const study of studyIds) {
    const bytes = await store.getIfExists(bucket, processedKeys.results(study));
    if (!bytes) continue;
    const results = JSON.parse(Buffer.from(bytes).toString('utf8')) as StudyResults;
    const series: ReportSeries[] = [];
    for (const s of results.series) {
      const sops = [
        ...new Set(
          files.filter((f) => f.study === study && f.series === s.series && f.sop).map((f) => f.sop!),
        ),
      ];
      const flagged = new Set(s.findings.filter((f) => f.critical).map((f) => f.sop));
      const chosen = pickEvenly(
        sops.filter((sop) => !flagged.has(sop)),
        MAX_THUMBNAILS - flagged.size,
      );
      const shown = sops.filter((sop) => flagged.has(sop) || chosen.includes(sop));
      const thumbnails: ReportImage[] = [];
      for (const sop of shown) {
        const png = await store.getIfExists(bucket, processedKeys.thumbnail(study, s.series, sop));
        if (png) thumbnails.push({ sop, src: dataUri(png) });
      }
      const notAssessed =
        typeof s.notAssessed === 'string' ? s.notAssessed : (s.notAssessed?.reason ?? undefined);
      series.push({
        series: s.series,
        modality: s.modality,
        bodyPart: s.bodyPart,
        instances: s.instances,
        assessment: notAssessed
          ? notAssessedWords(notAssessed)
          : s.findings.length > 0
            ? 'assessed'
            : results.inference === 'succeeded'
              ? 'not assessed'
              : 'not run',
        findings: s.findings,
        thumbnails,
        thumbnailsOmitted: sops.length - thumbnails.length,
      });
    }
    const critical: ReportFinding[] = [];
    for (const c of results.critical) {
      critical.push({ ...c, ...(await findingPreview(store, bucket, study, c)) });
    }
    studies.push({
      study,
      model: results.model,
      ...(results.decisionSupport ? { decisionSupport: results.decisionSupport } : {}),
      inference: results.inference,
      thresholds: results.thresholds,
      series,
      critical,
    });
  }
  return {
    title: options.title ?? 'medimg report',
    jobs: statuses.map((s) => ({
      jobId: s.jobId,
      ...(s.batchRef ? { batchRef: s.batchRef } : {}),
      state: s.state,
      counts: s.counts,
      inference: s.inference,
      steps: Object.entries(s.steps).map(([name, step]) => ({ ...step, name: name as StepName })),
    })),
    studies,
    setAside: files
      .filter((f) => f.status === 'quarantined' || f.status === 'failed')
      .map((f) => ({
        index: f.index,
        inputId: f.inputId,
        jobId: f.jobId,
        status: f.status as 'quarantined' | 'failed',
        reason: f.reason ?? f.errorCode ?? 'UNKNOWN',
        ...meaningOf(f.reason ?? f.errorCode),
        ...(f.step ? { step: f.step } : {}),
        ...(f.textCheck
          ? {
              textCheck: {
                textBoxes: f.textCheck.textBoxes,
                phiMatches: f.textCheck.phiMatches,
                action: f.textCheck.action,
              },
            }
          : {}),
      })),
  };
}

/** The annotated preview the notify step stored, or one drawn now from the preview. */
async function findingPreview(
  store: ObjectStore,
  bucket: string,
  study: string,
  finding: SeriesFinding & { series: string },
): Promise<{ preview?: ReportImage }> {
  const stored = await store.getIfExists(
    bucket,
    processedKeys.findingPreview(study, finding.series, finding.sop, finding.label),
  );
  if (stored) return { preview: { sop: finding.sop, src: dataUri(stored) } };
  const plain = await store.getIfExists(bucket, processedKeys.preview(study, finding.series, finding.sop));
  if (!plain) return {};
  const png = finding.box ? await drawFindingBox(plain, finding.box) : plain;
  return { preview: { sop: finding.sop, src: dataUri(png) } };
}
