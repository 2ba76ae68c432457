import type { ObjectStore } from '@medimg/common';
import {
  type InferenceResponse,
  type InstancePrediction,
  type JobSpec,
  type ModelIdentity,
  processedKeys,
} from '@medimg/common';
import type { DeidOptions } from '../deid/options.ts';
import { keyedBatchRef } from '../deid/pseudonyms.ts';
import { errorFields, type Logger } from '../logger.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { InferenceClient } from '../ports/inference.port.ts';
import type { LinkSigner } from '../ports/link-signer.port.ts';
import type { Notifier } from '../ports/notifier.port.ts';
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
import {
  DEFAULT_MAX_DECODED_BYTES,
  type FileResult,
  inputIdOf,
  type ProcessedInstance,
  processFile,
} from './process-file.ts';
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
    /** Memory budget per input in decoded bytes (process-file.ts maxDecodedBytes). */
    readonly maxDecodedBytes?: number;
  };
  readonly previewLinkTtlSeconds?: number;
  /** What each step covers today; written into the job record. */
  readonly coverage?: Readonly<Record<string, string>>;
  /** Which attempt of the job this run is (JOB_ATTEMPT); recorded in the job record. */
  readonly attempt?: number;
  /** False when nobody subscribes to the findings topic: the record says so instead of "delivered". */
  readonly findingsHaveSubscribers?: boolean;
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
  maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES,
};

const PER_FILE_STEPS = ['fetch', 'parse', 'deidentify', 'normalize', 'store'] as const;

/** Runs the steps of DESIGN D2 for one job and writes its record after each step. */
export async function runJob(spec: JobSpec, deps: JobDeps): Promise<JobOutcome> {
  const run = new JobRun(spec, deps);
  run.log.info('job started', {
    inputs: spec.objects.length,
    source: spec.source,
    attempt: deps.attempt ?? 1,
  });
  const resumed = (deps.attempt ?? 1) > 1 ? await run.resumeInferenceOnly() : undefined;
  const groups = resumed ?? groupBySeries(await run.processFiles());
  run.status.findings.series = groups.length;
  run.status.findings.studies = new Set(groups.map((g) => g.study)).size;
  const inference = await run.infer(groups);
  const assessed = await run.assess(groups, inference);
  await run.notify(groups, assessed.critical);
  await run.recordResults(groups, inference.model, assessed);
  return run.finish();
}

interface InferenceOutcome {
  readonly predictions: ReadonlyMap<string, InstancePrediction>;
  readonly model?: ModelIdentity;
}

interface AssessOutcome {
  readonly assessments: ReadonlyMap<string, SeriesAssessment[]>;
  readonly critical: readonly CriticalFinding[];
}

/** One job's run: its record, its logger, and one method per phase of the pipeline. */
class JobRun {
  readonly log: Logger;
  readonly status: JobStatus;
  readonly batchRef: string | undefined;
  private readonly limits: typeof DEFAULT_LIMITS;

  constructor(
    private readonly spec: JobSpec,
    private readonly deps: JobDeps,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits };
    this.log = deps.logger.child({ jobId: spec.jobId });
    // Outputs name the batch by its keyed reference only: a folder name chosen by the uploader
    // may carry a patient's name (the linkage record maps the reference back).
    this.batchRef = spec.batchId !== undefined ? keyedBatchRef(deps.deid.key, spec.batchId) : undefined;
    this.status = newJobStatus(
      spec.jobId,
      this.batchRef,
      spec.objects.length,
      deps.clock.now(),
      deps.attempt,
    );
    if (deps.findingsHaveSubscribers === false) this.status.notifications.delivery = 'no-subscribers';
    this.status.coverage = { ...deps.coverage };
    this.status.files = spec.objects.map((o, index) => ({
      index,
      inputId: inputIdOf(deps.deid.key, o.key),
      status: 'pending',
    }));
  }

  private step(name: StepName): StepRecord {
    return this.status.steps[name];
  }

  /** Writes the job record (`jobs/<jobId>/status.json`). */
  private record(): Promise<boolean> {
    this.status.updatedAt = this.deps.clock.now().toISOString();
    return this.deps.store.put(
      this.deps.processedBucket,
      processedKeys.jobStatus(this.spec.jobId),
      JSON.stringify(this.status, null, 2),
      { contentType: 'application/json' },
    );
  }

  private async finishStep(name: StepName, startedAt?: number): Promise<void> {
    const s = this.step(name);
    if (startedAt !== undefined) s.durationMs = performance.now() - startedAt;
    if (s.state === 'running' || s.state === 'pending')
      s.state = s.failed > 0 ? (s.ok > 0 ? 'partial' : 'failed') : 'succeeded';
    this.log.info('step finished', {
      step: name,
      state: s.state,
      ok: s.ok,
      failed: s.failed,
      durationMs: Math.round(s.durationMs),
    });
    await this.record();
    await this.deps.afterStep?.(name);
  }

  /**
   * A job-level step: marks it running (or skipped), runs it with its record, then times, logs and
   * records its end (finishStep). The per-file steps are timed file by file instead (processFiles).
   */
  private async runStep<T>(
    name: StepName,
    work: (step: StepRecord) => Promise<T> | T,
    options: { readonly skip?: boolean } = {},
  ): Promise<T> {
    const step = this.step(name);
    step.state = options.skip ? 'skipped' : 'running';
    const startedAt = performance.now();
    const out = await work(step);
    await this.finishStep(name, startedAt);
    return out;
  }

  /** fetch, parse, de-identify, normalize, store - per file, bounded by bytes in flight. */
  async processFiles(): Promise<FileResult[]> {
    for (const name of PER_FILE_STEPS) this.step(name).state = 'running';
    await this.record();
    const budget = new ByteBudget(this.limits.maxBytesInFlight, this.limits.maxConcurrent);
    const onStep = (name: StepName, ok: boolean, ms: number) => {
      const s = this.step(name);
      if (ok) s.ok += 1;
      else s.failed += 1;
      s.durationMs += ms;
    };
    let lastFlush = Date.now();
    const linkageWrites = new Map<string, Promise<boolean>>();
    const results = await Promise.all(
      this.spec.objects.map((object, index) =>
        budget.run(Math.max(object.size, 1), async () => {
          const result = await processFile(
            { index, key: object.key, size: object.size },
            {
              jobId: this.spec.jobId,
              batchId: this.spec.batchId,
              rawBucket: this.spec.rawBucket,
              processedBucket: this.deps.processedBucket,
              linkageBucket: this.deps.linkageBucket,
              store: this.deps.store,
              rawStore: this.deps.rawStore,
              deid: this.deps.deid,
              maxObjectBytes: this.limits.maxObjectBytes,
              maxDecodedBytes: this.limits.maxDecodedBytes,
              linkageWrites,
              onStep,
            },
          );
          this.recordFile(index, result);
          if (Date.now() - lastFlush > 2000) {
            lastFlush = Date.now();
            await this.record();
          }
          return result;
        }),
      ),
    );
    for (const name of PER_FILE_STEPS) await this.finishStep(name);
    return results;
  }

  /**
   * A re-run (attempt > 1) after an attempt that stored every file and failed only at inference:
   * the per-file steps are not repeated; their results come from the earlier record and the model
   * inputs from the processed bucket. Undefined when the earlier attempt did not get that far.
   */
  async resumeInferenceOnly(): Promise<SeriesGroup[] | undefined> {
    const { store, processedBucket } = this.deps;
    const bytes = await store.getIfExists(processedBucket, processedKeys.jobStatus(this.spec.jobId));
    if (!bytes) return undefined;
    let previous: JobStatus;
    try {
      previous = JSON.parse(Buffer.from(bytes).toString('utf8')) as JobStatus;
    } catch {
      return undefined;
    }
    const filesDone = PER_FILE_STEPS.every((s) =>
      ['succeeded', 'partial', 'skipped'].includes(previous.steps?.[s]?.state),
    );
    const usable =
      filesDone &&
      previous.counts?.failed === 0 &&
      previous.inference?.state === 'failed' &&
      previous.files?.length === this.spec.objects.length &&
      previous.files.every((f) => f.status !== 'processed' || (f.study && f.series && f.sop));
    if (!usable) return undefined;
    const groups = new Map<string, SeriesGroup>();
    for (const f of previous.files) {
      if (f.status !== 'processed' || !f.study || !f.series || !f.sop) continue;
      const keys = {
        instance: processedKeys.instance(f.study, f.series, f.sop),
        ...(f.modelInput
          ? {
              preview: processedKeys.preview(f.study, f.series, f.sop),
              thumbnail: processedKeys.thumbnail(f.study, f.series, f.sop),
              modelInput: processedKeys.modelInput(f.study, f.series, f.sop),
            }
          : {}),
      };
      const modelInput = keys.modelInput ? await store.get(processedBucket, keys.modelInput) : undefined;
      const id = `${f.study}/${f.series}`;
      const group = groups.get(id) ?? { study: f.study, series: f.series, instances: [] };
      groups.set(id, group);
      group.instances.push({
        study: f.study,
        series: f.series,
        sop: f.sop,
        ...(f.modality ? { modality: f.modality } : {}),
        ...(f.bodyPart ? { bodyPart: f.bodyPart } : {}),
        ...(f.instanceNumber !== undefined ? { instanceNumber: f.instanceNumber } : {}),
        ...(modelInput ? { modelInput } : {}),
        keys,
      });
    }
    this.status.files = previous.files;
    this.status.counts = { ...previous.counts };
    for (const name of PER_FILE_STEPS) this.status.steps[name] = { ...previous.steps[name] };
    this.status.resumedFrom = { attempt: previous.attempt ?? 1, mode: 'inference-only' };
    this.log.info('inference-only re-run: stored files reused', {
      previousAttempt: previous.attempt ?? 1,
      processed: previous.counts.processed,
    });
    await this.record();
    return [...groups.values()].sort((a, b) =>
      `${a.study}/${a.series}`.localeCompare(`${b.study}/${b.series}`),
    );
  }

  private recordFile(index: number, result: FileResult): void {
    const file = this.status.files[index]!;
    file.status = result.status;
    if (result.status === 'processed') {
      const { study, series, sop, modality, bodyPart, instanceNumber } = result.instance;
      Object.assign(file, {
        study,
        series,
        sop,
        ...(modality ? { modality } : {}),
        ...(bodyPart ? { bodyPart } : {}),
        ...(instanceNumber !== undefined ? { instanceNumber } : {}),
        modelInput: result.instance.keys.modelInput !== undefined,
      });
      this.status.counts.processed += 1;
    } else if (result.status === 'quarantined') {
      Object.assign(file, { reason: result.reason, step: result.step });
      this.status.counts.quarantined += 1;
      this.log.warn('file quarantined', { inputId: file.inputId, step: result.step, reason: result.reason });
    } else {
      Object.assign(file, { errorCode: result.errorCode, step: result.step });
      this.status.counts.failed += 1;
      this.log.error('file failed', {
        inputId: file.inputId,
        step: result.step,
        errorCode: result.errorCode,
      });
    }
  }

  /** infer: one request stream per series (the adapter splits it under the payload limit). */
  infer(groups: readonly SeriesGroup[]): Promise<InferenceOutcome> {
    return this.runStep('infer', (step) => this.inferSeries(groups, step));
  }

  private async inferSeries(groups: readonly SeriesGroup[], step: StepRecord): Promise<InferenceOutcome> {
    const predictions = new Map<string, InstancePrediction>();
    let model: ModelIdentity | undefined;
    for (const group of groups) {
      const instances = group.instances.filter((i) => i.modelInput);
      if (instances.length === 0) continue;
      try {
        const response: InferenceResponse = await this.deps.inference.invoke({
          instances: instances.map((i) => ({
            id: i.sop,
            data: Buffer.from(i.modelInput!).toString('base64'),
          })),
        });
        this.status.inference.requests += 1;
        model = response.model;
        for (const p of response.predictions) predictions.set(p.id, p);
        step.ok += instances.length;
      } catch (error) {
        step.failed += instances.length;
        step.errorCode = errorFields(error).errorCode;
        this.log.error('inference failed', { step: 'infer', series: group.series, ...errorFields(error) });
      }
    }
    const inference = this.status.inference;
    inference.state = step.failed > 0 ? 'failed' : groups.length ? 'succeeded' : 'skipped';
    if (model) inference.model = model;
    if (step.errorCode) inference.errorCode = step.errorCode;
    if (!groups.length) step.state = 'skipped';
    return { predictions, ...(model ? { model } : {}) };
  }

  /** assess: per-label thresholds, series maximum, study-level critical findings. */
  assess(groups: readonly SeriesGroup[], { predictions, model }: InferenceOutcome): Promise<AssessOutcome> {
    return this.runStep('assess', (step) => {
      const assessments = new Map<string, SeriesAssessment[]>();
      for (const group of groups) {
        const scored: ScoredInstance[] = group.instances.flatMap((i) => {
          const prediction = predictions.get(i.sop);
          return prediction ? [{ sop: i.sop, instanceNumber: i.instanceNumber, prediction }] : [];
        });
        if (!scored.length) continue;
        const list = assessments.get(group.study) ?? [];
        list.push(assessSeries(group.series, scored, this.deps.thresholds));
        assessments.set(group.study, list);
        step.ok += 1;
      }
      const critical = model
        ? [...assessments.entries()].flatMap(([study, list]) => criticalFindingsOfStudy(study, list, model))
        : [];
      this.status.findings.critical = critical.length;
      if (!model) step.state = 'skipped';
      return { assessments, critical };
    });
  }

  /** notify: one message per critical finding per study, deduplicated across jobs and re-runs. */
  notify(groups: readonly SeriesGroup[], critical: readonly CriticalFinding[]): Promise<void> {
    return this.runStep(
      'notify',
      async (step) => {
        for (const finding of critical) {
          const group = groups.find((g) => g.study === finding.study && g.series === finding.series)!;
          try {
            if (await this.notifyOnce(finding, group)) step.ok += 1;
          } catch (error) {
            step.failed += 1;
            this.status.notifications.failed += 1;
            step.errorCode = errorFields(error).errorCode;
            this.log.error('notification failed', { step: 'notify', ...errorFields(error) });
          }
        }
      },
      { skip: critical.length === 0 },
    );
  }

  /** record: results per study, deterministic (no wall-clock time), so a re-run writes the same. */
  recordResults(
    groups: readonly SeriesGroup[],
    model: ModelIdentity | undefined,
    { assessments, critical }: AssessOutcome,
  ): Promise<void> {
    return this.runStep('record', async (step) => {
      for (const study of new Set(groups.map((g) => g.study))) {
        const results = {
          version: 1,
          study,
          jobId: this.spec.jobId,
          model: model ?? null,
          inference: this.status.inference.state,
          thresholds: this.deps.thresholds,
          series: groups
            .filter((g) => g.study === study)
            .map((g) => ({
              series: g.series,
              modality: g.instances[0]?.modality ?? null,
              bodyPart: g.instances[0]?.bodyPart ?? null,
              instances: g.instances.length,
              findings: assessments.get(study)?.find((a) => a.series === g.series)?.findings ?? [],
            })),
          critical: critical.filter((c) => c.study === study).map(({ model: _m, ...c }) => c),
        };
        await this.deps.store.put(
          this.deps.processedBucket,
          processedKeys.results(study),
          JSON.stringify(results, null, 2),
          {
            contentType: 'application/json',
          },
        );
        step.ok += 1;
      }
    });
  }

  /**
   * At most one notification per study and label. The dedup record is written (put-if-absent) before
   * the publish and marked sent after it. A record left in 'publishing' means a crash between the two:
   * the publish is repeated (at least once beats never for a critical finding), carrying the same
   * dedup key so that a reader can fold the two.
   */
  private async notifyOnce(finding: CriticalFinding, group: SeriesGroup): Promise<boolean> {
    const { spec, deps, status } = this;
    const key = processedKeys.notification(finding.study, finding.label);
    const pending: DedupRecord = { state: 'publishing', jobId: spec.jobId, score: finding.score };
    const created = await deps.store.put(deps.processedBucket, key, JSON.stringify(pending), {
      contentType: 'application/json',
      ifNoneMatch: true,
    });
    if (!created) {
      const existing = await deps.store.getIfExists(deps.processedBucket, key);
      const parsed = existing
        ? (JSON.parse(Buffer.from(existing).toString('utf8')) as DedupRecord)
        : undefined;
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
      batchRef: this.batchRef,
      jobId: spec.jobId,
      detectedAt: deps.clock.now(),
      previewUrl,
      previewTtlMinutes: Math.round(ttl / 60),
    });
    const messageId = await deps.notifier.publish({ topicArn: deps.findingsTopicArn, ...message });
    const sent: DedupRecord = { state: 'sent', jobId: spec.jobId, score: finding.score, messageId };
    await deps.store.put(deps.processedBucket, key, JSON.stringify(sent), {
      contentType: 'application/json',
    });
    status.notifications.published += 1;
    return true;
  }

  /** The final state and the record; the exit code is non-zero unless every input and step ended well. */
  async finish(): Promise<JobOutcome> {
    const { status } = this;
    const allFinal = status.counts.failed === 0;
    const jobStepsOk = status.inference.state !== 'failed' && this.step('notify').failed === 0;
    status.state =
      !allFinal || !jobStepsOk
        ? 'failed'
        : status.counts.quarantined
          ? 'completed_with_quarantine'
          : 'succeeded';
    status.finishedAt = this.deps.clock.now().toISOString();
    await this.record();
    this.log.info('job finished', {
      state: status.state,
      processed: status.counts.processed,
      quarantined: status.counts.quarantined,
      failed: status.counts.failed,
      critical: status.findings.critical,
      published: status.notifications.published,
    });
    return { status, exitCode: status.state === 'failed' ? 1 : 0 };
  }
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
