import {
  type InferenceResponse,
  type InstancePrediction,
  type JobSpec,
  type ModelIdentity,
  processedKeys,
} from '@medimg/common';
import type { DeidOptions } from '../deid/options.ts';
import { errorFields, type Logger } from '../logger.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { InferenceClient } from '../ports/inference.port.ts';
import type { LinkSigner } from '../ports/link-signer.port.ts';
import type { Notifier } from '../ports/notifier.port.ts';
import type { ObjectStore } from '../ports/object-store.port.ts';
import {
  assessSeries,
  type CriticalFinding,
  type CriticalThresholds,
  criticalFindingsOfStudy,
  type ScoredInstance,
  type SeriesAssessment,
} from './assess.ts';
import { ByteBudget } from './byte-budget.ts';
import { composeCriticalNotification } from './notification.ts';
import { type FileResult, inputIdOf, type ProcessedInstance, processFile } from './process-file.ts';
import { type JobStatus, newJobStatus, type StepName, type StepRecord } from './status.ts';

export interface JobDeps {
  readonly store: ObjectStore;
  /** Raw inputs and quarantined originals; `store` when not set. */
  readonly rawStore?: ObjectStore;
  readonly processedBucket: string;
  readonly linkageBucket: string;
  readonly deid: { readonly key: Uint8Array; readonly options: DeidOptions };
  readonly inference: InferenceClient;
  readonly notifier: Notifier;
  readonly findingsTopicArn: string;
  readonly linkSigner?: LinkSigner;
  readonly thresholds: CriticalThresholds;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly limits?: {
    readonly maxBytesInFlight?: number;
    readonly maxConcurrent?: number;
    readonly maxObjectBytes?: number;
  };
  readonly previewLinkTtlSeconds?: number;
  /** What each step covers today; written into the job record. */
  readonly coverage?: Readonly<Record<string, string>>;
  /** Test seam: called when a step has finished, e.g. to stop the process between store and notify. */
  readonly afterStep?: (step: StepName) => Promise<void> | void;
}

export interface JobOutcome {
  readonly status: JobStatus;
  /** 0 when every input reached a final state and every job step ran; non-zero otherwise. */
  readonly exitCode: number;
}

interface SeriesGroup {
  readonly study: string;
  readonly series: string;
  readonly instances: ProcessedInstance[];
}

const DEFAULT_LIMITS = {
  maxBytesInFlight: 512 * 1024 * 1024,
  maxConcurrent: 4,
  maxObjectBytes: 2 * 1024 ** 3,
};

/** Runs the steps of DESIGN D2 for one job and writes its record after each step. */
export async function runJob(spec: JobSpec, deps: JobDeps): Promise<JobOutcome> {
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const log = deps.logger.child({ jobId: spec.jobId });
  const status = newJobStatus(spec.jobId, spec.batchId, spec.objects.length, deps.clock.now());
  status.coverage = { ...deps.coverage };
  status.files = spec.objects.map((o, index) => ({ index, inputId: inputIdOf(o.key), status: 'pending' }));
  const record = (): Promise<boolean> => {
    status.updatedAt = deps.clock.now().toISOString();
    return deps.store.put(
      deps.processedBucket,
      processedKeys.jobStatus(spec.jobId),
      JSON.stringify(status, null, 2),
      {
        contentType: 'application/json',
      },
    );
  };
  const step = (name: StepName): StepRecord => status.steps[name];
  const finishStep = async (name: StepName) => {
    const s = step(name);
    if (s.state === 'running' || s.state === 'pending')
      s.state = s.failed > 0 ? (s.ok > 0 ? 'partial' : 'failed') : 'succeeded';
    log.info('step finished', {
      step: name,
      state: s.state,
      ok: s.ok,
      failed: s.failed,
      durationMs: Math.round(s.durationMs),
    });
    await record();
    await deps.afterStep?.(name);
  };

  log.info('job started', { inputs: spec.objects.length, source: spec.source });
  for (const name of ['fetch', 'parse', 'deidentify', 'normalize', 'store'] as const)
    step(name).state = 'running';
  await record();

  // Per file: fetch, parse, de-identify, normalize, store - bounded by bytes in flight.
  const budget = new ByteBudget(limits.maxBytesInFlight, limits.maxConcurrent);
  const onStep = (name: StepName, ok: boolean, ms: number) => {
    const s = step(name);
    if (ok) s.ok += 1;
    else s.failed += 1;
    s.durationMs += ms;
  };
  let lastFlush = Date.now();
  const results: FileResult[] = await Promise.all(
    spec.objects.map((object, index) =>
      budget.run(Math.max(object.size, 1), async () => {
        const result = await processFile(
          { index, key: object.key, size: object.size },
          {
            jobId: spec.jobId,
            batchId: spec.batchId,
            rawBucket: spec.rawBucket,
            processedBucket: deps.processedBucket,
            linkageBucket: deps.linkageBucket,
            store: deps.store,
            rawStore: deps.rawStore,
            deid: deps.deid,
            maxObjectBytes: limits.maxObjectBytes,
            onStep,
          },
        );
        const file = status.files[index]!;
        file.status = result.status;
        if (result.status === 'processed') {
          Object.assign(file, {
            study: result.instance.study,
            series: result.instance.series,
            sop: result.instance.sop,
          });
          status.counts.processed += 1;
        } else if (result.status === 'quarantined') {
          Object.assign(file, { reason: result.reason, step: result.step });
          status.counts.quarantined += 1;
          log.warn('file quarantined', { inputId: file.inputId, step: result.step, reason: result.reason });
        } else {
          Object.assign(file, { errorCode: result.errorCode, step: result.step });
          status.counts.failed += 1;
          log.error('file failed', { inputId: file.inputId, step: result.step, errorCode: result.errorCode });
        }
        if (Date.now() - lastFlush > 2000) {
          lastFlush = Date.now();
          await record();
        }
        return result;
      }),
    ),
  );
  for (const name of ['fetch', 'parse', 'deidentify', 'normalize', 'store'] as const) await finishStep(name);

  const groups = groupBySeries(results);
  status.findings.series = groups.length;
  status.findings.studies = new Set(groups.map((g) => g.study)).size;

  // infer: one request stream per series (the adapter splits it under the payload limit).
  step('infer').state = 'running';
  const predictions = new Map<string, InstancePrediction>();
  let model: ModelIdentity | undefined;
  const inferStart = performance.now();
  for (const group of groups) {
    const instances = group.instances.filter((i) => i.modelInput);
    if (instances.length === 0) continue;
    try {
      const response: InferenceResponse = await deps.inference.invoke({
        instances: instances.map((i) => ({ id: i.sop, data: Buffer.from(i.modelInput!).toString('base64') })),
      });
      status.inference.requests += 1;
      model = response.model;
      for (const p of response.predictions) predictions.set(p.id, p);
      step('infer').ok += instances.length;
    } catch (error) {
      step('infer').failed += instances.length;
      step('infer').errorCode = errorFields(error).errorCode;
      log.error('inference failed', { step: 'infer', series: group.series, ...errorFields(error) });
    }
  }
  step('infer').durationMs = performance.now() - inferStart;
  status.inference.state = step('infer').failed > 0 ? 'failed' : groups.length ? 'succeeded' : 'skipped';
  if (model) status.inference.model = model;
  if (step('infer').errorCode) status.inference.errorCode = step('infer').errorCode;
  if (!groups.length) step('infer').state = 'skipped';
  await finishStep('infer');

  // assess: per-label thresholds, series maximum, study-level critical findings.
  step('assess').state = 'running';
  const assessStart = performance.now();
  const assessments = new Map<string, SeriesAssessment[]>();
  for (const group of groups) {
    const scored: ScoredInstance[] = group.instances.flatMap((i) => {
      const prediction = predictions.get(i.sop);
      return prediction ? [{ sop: i.sop, instanceNumber: i.instanceNumber, prediction }] : [];
    });
    if (!scored.length) continue;
    const list = assessments.get(group.study) ?? [];
    list.push(assessSeries(group.series, scored, deps.thresholds));
    assessments.set(group.study, list);
    step('assess').ok += 1;
  }
  const critical: CriticalFinding[] = model
    ? [...assessments.entries()].flatMap(([study, list]) => criticalFindingsOfStudy(study, list, model))
    : [];
  status.findings.critical = critical.length;
  step('assess').durationMs = performance.now() - assessStart;
  if (!model) step('assess').state = 'skipped';
  await finishStep('assess');

  // notify: one message per critical finding per study, deduplicated across jobs and re-runs.
  step('notify').state = critical.length ? 'running' : 'skipped';
  const notifyStart = performance.now();
  for (const finding of critical) {
    const group = groups.find((g) => g.study === finding.study && g.series === finding.series)!;
    try {
      const sent = await notifyOnce(finding, group, spec, deps, status);
      if (sent) step('notify').ok += 1;
    } catch (error) {
      step('notify').failed += 1;
      status.notifications.failed += 1;
      step('notify').errorCode = errorFields(error).errorCode;
      log.error('notification failed', { step: 'notify', ...errorFields(error) });
    }
  }
  step('notify').durationMs = performance.now() - notifyStart;
  await finishStep('notify');

  // record: results per study (deterministic: no wall-clock time), then the final status.
  step('record').state = 'running';
  const recordStart = performance.now();
  for (const study of new Set(groups.map((g) => g.study))) {
    const studyGroups = groups.filter((g) => g.study === study);
    const results = {
      version: 1,
      study,
      jobId: spec.jobId,
      model: model ?? null,
      inference: status.inference.state,
      thresholds: deps.thresholds,
      series: studyGroups.map((g) => ({
        series: g.series,
        modality: g.instances[0]?.modality ?? null,
        bodyPart: g.instances[0]?.bodyPart ?? null,
        instances: g.instances.length,
        findings: assessments.get(study)?.find((a) => a.series === g.series)?.findings ?? [],
      })),
      critical: critical.filter((c) => c.study === study).map(({ model: _m, ...c }) => c),
    };
    await deps.store.put(
      deps.processedBucket,
      processedKeys.results(study),
      JSON.stringify(results, null, 2),
      {
        contentType: 'application/json',
      },
    );
    step('record').ok += 1;
  }
  step('record').durationMs = performance.now() - recordStart;
  step('record').state = 'succeeded';

  const allFinal = status.counts.failed === 0;
  const jobStepsOk = status.inference.state !== 'failed' && step('notify').failed === 0;
  status.state =
    !allFinal || !jobStepsOk
      ? 'failed'
      : status.counts.quarantined
        ? 'completed_with_quarantine'
        : 'succeeded';
  status.finishedAt = deps.clock.now().toISOString();
  await record();
  log.info('job finished', {
    state: status.state,
    processed: status.counts.processed,
    quarantined: status.counts.quarantined,
    failed: status.counts.failed,
    critical: status.findings.critical,
    published: status.notifications.published,
  });
  return { status, exitCode: status.state === 'failed' ? 1 : 0 };
}

function groupBySeries(results: readonly FileResult[]): SeriesGroup[] {
  const groups = new Map<string, SeriesGroup>();
  for (const r of results) {
    if (r.status !== 'processed') continue;
    const id = `${r.instance.study}/${r.instance.series}`;
    let g = groups.get(id);
    if (!g) {
      g = { study: r.instance.study, series: r.instance.series, instances: [] };
      groups.set(id, g);
    }
    g.instances.push(r.instance);
  }
  return [...groups.values()].sort((a, b) =>
    `${a.study}/${a.series}`.localeCompare(`${b.study}/${b.series}`),
  );
}

interface DedupRecord {
  readonly state: 'publishing' | 'sent';
  readonly jobId: string;
  readonly score: number;
  readonly messageId?: string;
}

/**
 * At most one notification per study and label. The dedup record is written (put-if-absent) before
 * the publish and marked sent after it. A record left in 'publishing' means a crash between the two:
 * the publish is repeated (at least once beats never for a critical finding), carrying the same
 * dedup key so that a reader can fold the two.
 */
async function notifyOnce(
  finding: CriticalFinding,
  group: SeriesGroup,
  spec: JobSpec,
  deps: JobDeps,
  status: JobStatus,
): Promise<boolean> {
  const key = processedKeys.notification(finding.study, finding.label);
  const pending: DedupRecord = { state: 'publishing', jobId: spec.jobId, score: finding.score };
  const created = await deps.store.put(deps.processedBucket, key, JSON.stringify(pending), {
    contentType: 'application/json',
    ifNoneMatch: true,
  });
  if (!created) {
    const existing = await deps.store.getIfExists(deps.processedBucket, key);
    const parsed = existing ? (JSON.parse(Buffer.from(existing).toString('utf8')) as DedupRecord) : undefined;
    if (parsed?.state === 'sent') {
      status.notifications.duplicatesSkipped += 1;
      return false;
    }
  }
  const instance = group.instances.find((i) => i.sop === finding.sop);
  const ttl = deps.previewLinkTtlSeconds ?? 3600;
  const previewUrl =
    instance?.keys.preview && deps.linkSigner
      ? await deps.linkSigner.signGet(deps.processedBucket, instance.keys.preview, ttl)
      : undefined;
  const message = composeCriticalNotification(finding, {
    modality: instance?.modality,
    bodyPart: instance?.bodyPart,
    batchId: spec.batchId,
    jobId: spec.jobId,
    detectedAt: deps.clock.now(),
    previewUrl,
    previewTtlMinutes: Math.round(ttl / 60),
  });
  const messageId = await deps.notifier.publish({ topicArn: deps.findingsTopicArn, ...message });
  const sent: DedupRecord = { state: 'sent', jobId: spec.jobId, score: finding.score, messageId };
  await deps.store.put(deps.processedBucket, key, JSON.stringify(sent), { contentType: 'application/json' });
  status.notifications.published += 1;
  return true;
}
