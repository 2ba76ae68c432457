/**
 * The model's pre- and post-processing around one run, shared by the endpoint (server.ts) and the
 * in-process predictor that `medimg process --infer` uses: the same PNG decoding, the same
 * reporting floor, the same heat-map box. Only the transport differs.
 */
import {
  checkScope,
  type InferenceRequest,
  type InferenceResponse,
  type InstanceAttributes,
  type InstancePrediction,
  MODEL_INPUT_SIZE,
  type ModelMetadata,
  SCOPE_REASONS,
} from '@medimg/common/inference.ts';
import { decodeModelInput } from './decode.ts';
import { ModelServerError } from './errors.ts';
import { type LoadedModel, loadModel } from './model.ts';
import { hottestBox } from './postprocess.ts';

export interface PredictItem {
  readonly id: string;
  readonly png: Buffer;
  readonly attributes?: InstanceAttributes;
}

/** The declared scope, enforced: every instance must carry attributes inside one of the model's rules. */
export function refuseOutOfScope(model: LoadedModel, items: readonly PredictItem[]): void {
  items.forEach((item, index) => {
    if (!item.attributes) {
      throw new ModelServerError(
        'OUT_OF_SCOPE',
        `instances[${index}] has no attributes: the model assesses only images that declare their scope`,
      );
    }
    const verdict = checkScope(model.manifest.scope, item.attributes);
    if (!verdict.inScope) {
      throw new ModelServerError(
        'OUT_OF_SCOPE',
        `instances[${index}] is outside the model's declared scope: ${verdict.reasons
          .map((r) => `${r} (${SCOPE_REASONS[r]})`)
          .join(', ')}`,
      );
    }
  });
}

/** Decode every model-input PNG, run the model, and shape the answer as the inference contract says. */
export async function predict(
  model: LoadedModel,
  items: readonly PredictItem[],
  floor: number,
): Promise<InferenceResponse> {
  const pixelsPerImage = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE;
  const pixels = new Float32Array(items.length * pixelsPerImage);
  await Promise.all(
    items.map((item, i) => decodeModelInput(item.png, pixels, i * pixelsPerImage, `instances[${i}]`)),
  );
  const started = performance.now();
  const out = await model.run(pixels, items.length);
  const inferenceMs = Math.round((performance.now() - started) * 100) / 100;
  const cells = model.grid * model.grid;
  const limit = model.manifest.ood?.limit;
  const predictions: InstancePrediction[] = items.map((item, i) => {
    const score = round(out.scores[i]!);
    const distance = out.oodDistances[i]!;
    const ood =
      limit !== undefined && Number.isFinite(distance) ? { distance: round(distance), limit } : undefined;
    // An in-scope image unlike anything the model was trained on is not assessed (decision 017).
    if (ood && ood.distance > ood.limit) {
      return { id: item.id, scores: {}, findings: [], notAssessed: 'OUT_OF_DISTRIBUTION', ood };
    }
    return {
      ...(ood ? { ood } : {}),
      id: item.id,
      scores: { [model.label]: score },
      findings:
        score >= floor
          ? [
              {
                label: model.label,
                score,
                box: hottestBox(out.heatmaps.subarray(i * cells, (i + 1) * cells), model.grid),
              },
            ]
          : [],
    };
  });
  return { model: model.identity, predictions, timing: { inferenceMs } };
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** The model answering inference requests in this process, with no server in between. */
export interface InProcessPredictor {
  readonly model: LoadedModel;
  /** The model's metadata, as the container serves it on `{"metadata":true}`. */
  describe(): ModelMetadata;
  /** The same request and answer as POST /invocations (base64 PNGs in, predictions out). */
  invoke(request: InferenceRequest): Promise<InferenceResponse>;
  close(): Promise<void>;
}

export async function loadInProcessPredictor(
  modelDir: string,
  options: { threads?: number; reportingFloor?: number } = {},
): Promise<InProcessPredictor> {
  const model = await loadModel(modelDir, { threads: options.threads ?? 1 });
  const floor = options.reportingFloor ?? model.manifest.reportingFloor;
  return {
    model,
    describe: () => model.metadata,
    invoke: async (request) => {
      if (request.instances.length === 0)
        throw new ModelServerError('BAD_REQUEST', 'an inference request needs at least one instance');
      const items = request.instances.map((i) => ({
        id: i.id,
        png: Buffer.from(i.data, 'base64'),
        ...(i.attributes ? { attributes: i.attributes } : {}),
      }));
      refuseOutOfScope(model, items);
      return predict(model, items, floor);
    },
    close: () => model.close(),
  };
}
