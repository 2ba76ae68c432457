import type { ObjectStore } from '@medimg/common';
import {
  type InferenceResponse,
  type InstancePrediction,
  type JobObject,
  type JobSpec,
  type ModelIdentity,
  type ModelMetadata,
  NOT_ASSESSED,
  type NotAssessedReason,
  processedKeys,
  type ScopeReason,
} from '@medimg/common';
import type { DicomFile } from '@medimg/dicom';
import { keyedBatchRef } from '../deid/pseudonyms.ts';
import { RenderPool } from '../imaging/render-pool.ts';
import { errorFields, type Logger } from '../logger.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { InferenceClient } from '../ports/inference.port.ts';
import type { LinkSigner } from '../ports/link-signer.port.ts';
import type { Notifier } from '../ports/notifier.port.ts';
import { drawFindingBox } from '../report/annotate.ts';
import { renderReportHtml } from '../report/html.ts';
import { collectRunReport } from '../report/model.ts';
import {
  assessSeries,
  type CriticalFinding,
  type CriticalThresholds,
  criticalFindingsOfStudy,
  type ScoredInstance,
  type SeriesAssessment,
} from './assess.ts';
import { ByteBudget } from './byte-budget.ts';
import { renderThreadsFor } from './concurrency.ts';
import { decisionSupportOf } from './decision-support.ts';
import { composeCriticalNotification } from './notification.ts';
import {
  DEFAULT_MAX_DECODED_BYTES,
  type FileContext,
  type FileResult,
  inputIdOf,
  type ProcessedInstance,
  processFile,
} from './process-file.ts';
import { selectSeries } from './scope.ts';
import { type JobStatus, newJobStatus, type StepName, type StepRecord } from './status.ts';

export interface JobDeps {
  readonly store: ObjectStore;
  /** Raw inputs and quarantined originals; `store` when not set. */
  readonly rawStore?: ObjectStore;
  readonly processedBucket: string;
  readonly linkageBucket: string;
  readonly deid: FileContext['deid'];
  /** The model endpoint; without one (`medimg process` without --infer) infer and assess are skipped. */
  readonly inference?: InferenceClient;
  readonly notifier: Notifier;
  readonly findingsTopicArn: string;
  readonly linkSigner?: LinkSigner;
  /** Per-label critical thresholds; when not set, the model's calibrated ones (its metadata). */
  readonly thresholds?: CriticalThresholds;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly limits?: {
    readonly maxBytesInFlight?: number;
    readonly maxConcurrent?: number;
    readonly maxObjectBytes?: number;
    /** Memory budget per input in decoded bytes (process-file.ts maxDecodedBytes). */
    readonly maxDecodedBytes?: number;
    /**
     * Per-file time bound in ms over every decode of a file (the burned-in text scan, the
     * re-encoding of blanked compressed pixel data, the render): they run in worker threads, and
     * the thread of a file past it is terminated (PROCESSING_TIMEOUT, decision 019). 0 decodes in
     * this thread.
     */
    readonly fileTimeoutMs?: number;
    /** Test seam: the pool threads' entry module (RenderPoolOptions.threadUrl). */
    readonly threadUrl?: URL;
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
  /** Called as each input reaches its final state (the CLI prints progress and maps outputs). */
  readonly onFile?: (index: number, result: FileResult) => void;
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
  fileTimeoutMs: 120_000,
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
  await run.recordResults(groups, inference, assessed);
  return run.finish();
}

/** Why a series was not assessed, as recorded in results.json (closed vocabularies only). */
export interface SeriesNotAssessed {
  readonly reason: NotAssessedReason;
  readonly text: string;
  /** For OUT_OF_SCOPE: the scope conditions its images fail. */
  readonly scopeReasons?: readonly ScopeReason[];
}

interface SeriesInference {
  /** Images sent to the model (in scope), out of scope, and declined by the model as out of distribution. */
  readonly inScope: number;
  readonly outOfScope: number;
  readonly outOfDistribution: number;
  readonly rule?: string;
  readonly notAssessed?: SeriesNotAssessed;
}

interface InferenceOutcome {
  readonly predictions: ReadonlyMap<string, InstancePrediction>;
  readonly model?: ModelIdentity;
  readonly metadata?: ModelMetadata;
  /** Per series (`study/series`): what the selection and the model made of it. */
  readonly series: ReadonlyMap<string, SeriesInference>;
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
  private readonly limits: typeof DEFAULT_LIMITS & { readonly threadUrl?: URL };

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
    // The job's own pool, closed when its files are done (finally): an idle pool thread can keep
    // the process alive although unref'd (tsx's loader registered in it), so a caller that runs a
    // job and returns (runCli without process.exit) would never exit. Threads start on a file's
    // first pixel request.
    const pool =
      this.limits.fileTimeoutMs > 0
        ? new RenderPool({
            size: renderThreadsFor(this.limits.maxConcurrent),
            timeoutMs: this.limits.fileTimeoutMs,
            ...(this.limits.threadUrl ? { threadUrl: this.limits.threadUrl } : {}),
          })
        : undefined;
    const one = async (object: JobObject, index: number): Promise<FileResult> => {
      // Every decode of the file (text scan, re-encoding, render) under one deadline.
      const threads = pool?.forFile();
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
          ...(threads
            ? {
                render: (file: DicomFile) => threads.render(file),
                renderPart10: (bytes: Uint8Array) => threads.renderPart10(bytes),
                pixelThreads: threads,
              }
            : {}),
          onStep,
        },
      );
      this.recordFile(index, result);
      this.deps.onFile?.(index, result);
      if (Date.now() - lastFlush > 2000) {
        lastFlush = Date.now();
        await this.record();
      }
      return result;
    };
    let results: FileResult[];
    try {
      results = await Promise.all(
        this.spec.objects.map((object, index) =>
          budget.run(Math.max(object.size, 1), () => one(object, index)),
        ),
      );
    } finally {
      await pool?.close();
    }
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
        ...(f.attributes ? { attributes: f.attributes } : {}),
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
      const { study, series, sop, modality, bodyPart, instanceNumber, textCheck, attributes } =
        result.instance;
      Object.assign(file, {
        study,
        series,
        sop,
        ...(modality ? { modality } : {}),
        ...(bodyPart ? { bodyPart } : {}),
        ...(attributes ? { attributes } : {}),
        ...(instanceNumber !== undefined ? { instanceNumber } : {}),
        modelInput: result.instance.keys.modelInput !== undefined,
        ...(textCheck ? { textCheck } : {}),
      });
      this.status.counts.processed += 1;
    } else if (result.status === 'quarantined') {
      Object.assign(file, {
        reason: result.reason,
        step: result.step,
        ...(result.textCheck ? { textCheck: result.textCheck } : {}),
      });
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
    const client = this.deps.inference;
    if (!client) {
      this.status.inference.state = 'skipped';
      return this.runStep('infer', () => ({ predictions: new Map(), series: new Map() }), { skip: true });
    }
    return this.runStep('infer', (step) => this.inferSeries(groups, step, client));
  }

  private async inferSeries(
    groups: readonly SeriesGroup[],
    step: StepRecord,
    client: InferenceClient,
  ): Promise<InferenceOutcome> {
    const predictions = new Map<string, InstancePrediction>();
    const series = new Map<string, SeriesInference>();
    let model: ModelIdentity | undefined;
    let metadata: ModelMetadata | undefined;
    const withInput = groups.filter((g) => g.instances.some((i) => i.modelInput));
    if (withInput.length) {
      try {
        metadata = await client.describe();
        model = { name: metadata.name, version: metadata.version };
      } catch (error) {
        step.failed += withInput.reduce((n, g) => n + g.instances.filter((i) => i.modelInput).length, 0);
        step.errorCode = errorFields(error).errorCode;
        this.log.error('model metadata failed', { step: 'infer', ...errorFields(error) });
      }
    }
    for (const group of groups) {
      const hasImages = group.instances.some((i) => i.modelInput);
      if (hasImages && !metadata) continue; // the metadata call failed: counted above
      const candidates = hasImages ? group.instances.filter((i) => i.modelInput) : group.instances;
      const selection = metadata
        ? selectSeries(
            metadata.scope,
            candidates.map((i) => i.attributes),
          )
        : { inScope: [], reasons: [] };
      const instances = hasImages ? selection.inScope.map((index) => candidates[index]!) : [];
      const id = `${group.study}/${group.series}`;
      const outOfScope = candidates.length - instances.length;
      if (instances.length === 0) {
        series.set(id, {
          inScope: 0,
          outOfScope,
          outOfDistribution: 0,
          notAssessed: {
            reason: 'OUT_OF_SCOPE',
            text: NOT_ASSESSED.OUT_OF_SCOPE,
            scopeReasons: hasImages ? selection.reasons : ['NO_IMAGE', ...selection.reasons],
          },
        });
        continue;
      }
      try {
        const response: InferenceResponse = await client.invoke({
          instances: instances.map((i) => ({
            id: i.sop,
            data: Buffer.from(i.modelInput!).toString('base64'),
            ...(i.attributes ? { attributes: i.attributes } : {}),
          })),
        });
        this.status.inference.requests += 1;
        model = response.model;
        let declined = 0;
        for (const p of response.predictions) {
          if (p.notAssessed) declined += 1;
          else predictions.set(p.id, p);
        }
        series.set(id, {
          inScope: instances.length,
          outOfScope,
          outOfDistribution: declined,
          ...(selection.rule ? { rule: selection.rule } : {}),
          ...(declined === instances.length
            ? { notAssessed: { reason: 'OUT_OF_DISTRIBUTION', text: NOT_ASSESSED.OUT_OF_DISTRIBUTION } }
            : {}),
        });
        step.ok += instances.length;
      } catch (error) {
        step.failed += instances.length;
        step.errorCode = errorFields(error).errorCode;
        this.log.error('inference failed', { step: 'infer', series: group.series, ...errorFields(error) });
      }
    }
    const notAssessed = [...series.values()].filter((s) => s.notAssessed);
    this.status.findings.notAssessed = {
      outOfScope: notAssessed.filter((s) => s.notAssessed!.reason === 'OUT_OF_SCOPE').length,
      outOfDistribution: notAssessed.filter((s) => s.notAssessed!.reason === 'OUT_OF_DISTRIBUTION').length,
    };
    const inference = this.status.inference;
    inference.state = step.failed > 0 ? 'failed' : groups.length ? 'succeeded' : 'skipped';
    if (model) inference.model = model;
    if (step.errorCode) inference.errorCode = step.errorCode;
    if (!groups.length) step.state = 'skipped';
    return { predictions, series, ...(model ? { model } : {}), ...(metadata ? { metadata } : {}) };
  }

  /** The thresholds in force: configuration when set, else the model's calibrated ones. */
  thresholdsFor(metadata: ModelMetadata | undefined): CriticalThresholds {
    return this.deps.thresholds ?? metadata?.criticalThresholds ?? {};
  }

  /** assess: per-label thresholds, series maximum, study-level critical findings. */
  assess(
    groups: readonly SeriesGroup[],
    { predictions, model, metadata }: InferenceOutcome,
  ): Promise<AssessOutcome> {
    const thresholds = this.thresholdsFor(metadata);
    return this.runStep('assess', (step) => {
      const assessments = new Map<string, SeriesAssessment[]>();
      for (const group of groups) {
        const scored: ScoredInstance[] = group.instances.flatMap((i) => {
          const prediction = predictions.get(i.sop);
          return prediction ? [{ sop: i.sop, instanceNumber: i.instanceNumber, prediction }] : [];
        });
        if (!scored.length) continue;
        const list = assessments.get(group.study) ?? [];
        list.push(assessSeries(group.series, scored, thresholds));
        assessments.set(group.study, list);
        step.ok += 1;
      }
      const critical = model
        ? [...assessments.entries()].flatMap(([study, list]) =>
            criticalFindingsOfStudy(study, list, model, metadata),
          )
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
          await this.storeFindingPreview(finding, group);
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
    inference: InferenceOutcome,
    { assessments, critical }: AssessOutcome,
  ): Promise<void> {
    const { model, metadata } = inference;
    return this.runStep('record', async (step) => {
      for (const study of new Set(groups.map((g) => g.study))) {
        const results = {
          version: 1,
          study,
          jobId: this.spec.jobId,
          model: model ?? null,
          ...(metadata ? { decisionSupport: decisionSupportOf(metadata) } : {}),
          inference: this.status.inference.state,
          thresholds: this.thresholdsFor(metadata),
          series: groups
            .filter((g) => g.study === study)
            .map((g) => {
              const selected = inference.series.get(`${g.study}/${g.series}`);
              return {
                series: g.series,
                modality: g.instances[0]?.modality ?? null,
                bodyPart: g.instances[0]?.bodyPart ?? null,
                instances: g.instances.length,
                assessment: selected ? (selected.notAssessed ? 'not_assessed' : 'assessed') : 'none',
                ...(selected?.notAssessed ? { notAssessed: selected.notAssessed } : {}),
                ...(selected
                  ? {
                      images: {
                        inScope: selected.inScope,
                        outOfScope: selected.outOfScope,
                        outOfDistribution: selected.outOfDistribution,
                      },
                    }
                  : {}),
                ...(selected?.rule ? { scopeRule: selected.rule } : {}),
                findings: assessments.get(study)?.find((a) => a.series === g.series)?.findings ?? [],
              };
            }),
          critical: critical
            .filter((c) => c.study === study)
            .map(({ model: _m, decisionSupport: _d, ...c }) => c),
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
    // The preview with the box drawn when the notify step could store it, the plain preview otherwise.
    const annotated = processedKeys.findingPreview(finding.study, finding.series, finding.sop, finding.label);
    const previewKey = (await deps.store.head(deps.processedBucket, annotated).catch(() => undefined))
      ? annotated
      : instance?.keys.preview;
    const previewUrl =
      previewKey && deps.linkSigner
        ? await deps.linkSigner.signGet(deps.processedBucket, previewKey, ttl)
        : undefined;
    const reportUrl = deps.linkSigner
      ? await deps.linkSigner.signGet(deps.processedBucket, processedKeys.report(finding.study), ttl)
      : undefined;
    const message = composeCriticalNotification(finding, {
      modality: instance?.modality,
      bodyPart: instance?.bodyPart,
      batchRef: this.batchRef,
      jobId: spec.jobId,
      detectedAt: deps.clock.now(),
      previewUrl,
      reportUrl,
      previewTtlMinutes: Math.round(ttl / 60),
      boxDrawn: previewKey === annotated,
    });
    const messageId = await deps.notifier.publish({ topicArn: deps.findingsTopicArn, ...message });
    const sent: DedupRecord = { state: 'sent', jobId: spec.jobId, score: finding.score, messageId };
    await deps.store.put(deps.processedBucket, key, JSON.stringify(sent), {
      contentType: 'application/json',
    });
    status.notifications.published += 1;
    return true;
  }

  /** The preview of the image that carries the finding, with its box drawn (the email and the report show it). */
  private async storeFindingPreview(finding: CriticalFinding, group: SeriesGroup): Promise<void> {
    const instance = group.instances.find((i) => i.sop === finding.sop);
    if (!instance?.keys.preview || !finding.box) return;
    try {
      const preview = await this.deps.store.get(this.deps.processedBucket, instance.keys.preview);
      await this.deps.store.put(
        this.deps.processedBucket,
        processedKeys.findingPreview(finding.study, finding.series, finding.sop, finding.label),
        await drawFindingBox(preview, finding.box),
        { contentType: 'image/png' },
      );
    } catch (error) {
      this.log.error('finding preview failed', { step: 'notify', ...errorFields(error) });
    }
  }

  /** Each study's self-contained HTML report beside its results.json; a failure here fails no input. */
  private async writeStudyReports(): Promise<void> {
    const studies = [...new Set(this.status.files.flatMap((f) => (f.study ? [f.study] : [])))].sort();
    for (const study of studies) {
      try {
        const report = await collectRunReport({
          store: this.deps.store,
          processedBucket: this.deps.processedBucket,
          statuses: [this.status],
          studies: [study],
          title: `medimg report: study ${study}`,
        });
        await this.deps.store.put(
          this.deps.processedBucket,
          processedKeys.report(study),
          renderReportHtml(report),
          {
            contentType: 'text/html; charset=utf-8',
          },
        );
      } catch (error) {
        this.log.error('study report failed', { step: 'record', ...errorFields(error) });
      }
    }
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
    await this.writeStudyReports();
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
