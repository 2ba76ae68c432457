import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MODEL_INPUT_SIZE,
  type ModelIdentity,
  type ModelMetadata,
  type ModelScope,
} from '@medimg/common/inference.ts';
import * as ort from 'onnxruntime-node';
import { ModelServerError } from './errors.ts';

/** Images per `session.run`: bounds the memory one call takes, whatever the request size. */
export const MAX_RUN_BATCH = 32;

/** What models/artifacts/model.json says about the model (the parts the server uses). */
export interface ModelManifest {
  readonly name: string;
  readonly version: string;
  readonly labels: readonly string[];
  readonly file: string;
  readonly sha256?: string;
  readonly threshold: { readonly recommended: number };
  readonly reportingFloor: number;
  readonly outputs: { readonly heatmap: { readonly shape: readonly number[] } };
  /** Declared scope, intended use, calibrated thresholds and measured performance (issue 17). */
  readonly kind: ModelMetadata['kind'];
  readonly intendedUse: string;
  readonly scope: ModelScope;
  readonly criticalThresholds: Readonly<Record<string, number>>;
  readonly performance: ModelMetadata['performance'];
  /** Out-of-distribution check: the ONNX output holding pooled features, their training mean and precision
   * (inverse covariance, k x k), and the limit on sqrt(Mahalanobis² / k). Optional: without it, no check. */
  readonly ood?: {
    readonly output: string;
    readonly mean: readonly number[];
    readonly precision: readonly (readonly number[])[];
    readonly limit: number;
  };
}

export interface ModelOutput {
  /** One probability per image. */
  readonly scores: Float32Array;
  /** Heat-map logits, `grid`² per image, row-major. */
  readonly heatmaps: Float32Array;
  /** Out-of-distribution distance per image (NaN when the model has no check). */
  readonly oodDistances: Float32Array;
}

export interface LoadedModel {
  readonly identity: ModelIdentity;
  readonly manifest: ModelManifest;
  readonly label: string;
  readonly grid: number;
  /** What the model says about itself (served on `{"metadata":true}`). */
  readonly metadata: ModelMetadata;
  /** Run `count` images laid out as [count, 1, S, S] float32 in [0, 1]. Splits into runs of MAX_RUN_BATCH. */
  run(pixels: Float32Array, count: number): Promise<ModelOutput>;
  close(): Promise<void>;
}

function parseManifest(text: string): ModelManifest {
  const m = JSON.parse(text) as Partial<ModelManifest>;
  const grid = m.outputs?.heatmap?.shape?.[3];
  if (
    typeof m.name !== 'string' ||
    typeof m.version !== 'string' ||
    !Array.isArray(m.labels) ||
    m.labels.length !== 1 ||
    typeof m.file !== 'string' ||
    typeof m.threshold?.recommended !== 'number' ||
    typeof m.reportingFloor !== 'number' ||
    typeof grid !== 'number'
  ) {
    throw new Error(
      'model.json lacks name, version, one label, file, threshold, reportingFloor or heatmap shape',
    );
  }
  const label = m.labels[0] as string;
  const rules = m.scope?.rules;
  if (
    (m.kind !== 'reference' && m.kind !== 'site') ||
    typeof m.intendedUse !== 'string' ||
    m.intendedUse.length === 0 ||
    !Array.isArray(rules) ||
    rules.length === 0 ||
    rules.some((r) => typeof r?.name !== 'string' || !Array.isArray(r.modalities) || !r.sizePx) ||
    typeof m.criticalThresholds?.[label] !== 'number' ||
    typeof m.performance?.falseAlarmsPer100Studies?.value !== 'number' ||
    typeof m.performance?.syntheticSensitivity !== 'number'
  ) {
    throw new Error(
      'model.json lacks kind, intendedUse, scope rules, a critical threshold for its label or performance',
    );
  }
  if (
    m.ood &&
    (typeof m.ood.output !== 'string' ||
      !Array.isArray(m.ood.mean) ||
      m.ood.mean.length === 0 ||
      !Array.isArray(m.ood.precision) ||
      m.ood.precision.length !== m.ood.mean.length ||
      m.ood.precision.some((row) => !Array.isArray(row) || row.length !== m.ood!.mean.length) ||
      typeof m.ood.limit !== 'number')
  ) {
    throw new Error('model.json ood needs output, mean (k), precision (k x k) and limit');
  }
  return m as ModelManifest;
}

export function metadataOf(m: ModelManifest): ModelMetadata {
  return {
    name: m.name,
    version: m.version,
    labels: m.labels,
    intendedUse: m.intendedUse,
    scope: m.scope,
    criticalThresholds: m.criticalThresholds,
    performance: m.performance,
    kind: m.kind,
  };
}

/** Load model.json and the ONNX file it names from `modelDir`, checking the file's SHA-256 when given. */
export async function loadModel(modelDir: string, options: { threads?: number } = {}): Promise<LoadedModel> {
  let manifest: ModelManifest;
  let session: ort.InferenceSession;
  try {
    manifest = parseManifest(await readFile(join(modelDir, 'model.json'), 'utf8'));
    const bytes = await readFile(join(modelDir, manifest.file));
    if (manifest.sha256 && createHash('sha256').update(bytes).digest('hex') !== manifest.sha256) {
      throw new Error(`${manifest.file} does not match the sha256 in model.json`);
    }
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
    });
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ModelServerError(
      'MODEL_LOAD_FAILED',
      `cannot load the model from the model directory: ${detail}`,
      {
        cause: err,
      },
    );
  }
  const grid = manifest.outputs.heatmap.shape[3]!;
  const pixelsPerImage = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE;
  let queue: Promise<unknown> = Promise.resolve();

  async function runBatch(pixels: Float32Array, count: number): Promise<ModelOutput> {
    const input = new ort.Tensor('float32', pixels, [count, 1, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE]);
    const out = await session.run({ image: input });
    const scores = out.score?.data;
    const heatmaps = out.heatmap?.data;
    if (!(scores instanceof Float32Array) || !(heatmaps instanceof Float32Array)) {
      throw new ModelServerError('MODEL_ERROR', 'model outputs lack score or heatmap');
    }
    const oodDistances = new Float32Array(count).fill(Number.NaN);
    const ood = manifest.ood;
    if (ood) {
      const features = out[ood.output]?.data;
      const k = ood.mean.length;
      if (!(features instanceof Float32Array) || features.length !== count * k) {
        throw new ModelServerError('MODEL_ERROR', `model output ${ood.output} lacks ${k} features per image`);
      }
      const d = new Float64Array(k);
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < k; j++) d[j] = features[i * k + j]! - ood.mean[j]!;
        let sum = 0;
        for (let a = 0; a < k; a++) {
          const row = ood.precision[a]!;
          let t = 0;
          for (let b = 0; b < k; b++) t += row[b]! * d[b]!;
          sum += d[a]! * t;
        }
        oodDistances[i] = Math.sqrt(Math.max(sum, 0) / k);
      }
    }
    return { scores, heatmaps, oodDistances };
  }

  return {
    identity: { name: manifest.name, version: manifest.version },
    manifest,
    label: manifest.labels[0]!,
    grid,
    metadata: metadataOf(manifest),
    async run(pixels, count) {
      const scores = new Float32Array(count);
      const heatmaps = new Float32Array(count * grid * grid);
      const oodDistances = new Float32Array(count);
      for (let start = 0; start < count; start += MAX_RUN_BATCH) {
        const n = Math.min(MAX_RUN_BATCH, count - start);
        const slice = pixels.subarray(start * pixelsPerImage, (start + n) * pixelsPerImage);
        // One run at a time on the session: requests queue here rather than multiply memory.
        const result = queue.then(() => runBatch(slice, n));
        queue = result.catch(() => undefined);
        let out: ModelOutput;
        try {
          out = await result;
        } catch (err) {
          if (err instanceof ModelServerError) throw err;
          throw new ModelServerError('MODEL_ERROR', 'the model failed to run', { cause: err });
        }
        scores.set(out.scores, start);
        heatmaps.set(out.heatmaps, start * grid * grid);
        oodDistances.set(out.oodDistances, start);
      }
      return { scores, heatmaps, oodDistances };
    },
    close: () => session.release(),
  };
}
