/**
 * The model's pre- and post-processing around one run, shared by the endpoint (server.ts) and the
 * in-process predictor that `medimg process --infer` uses: the same PNG decoding, the same
 * reporting floor, the same heat-map box. Only the transport differs.
 */
import {
  type InferenceRequest,
  type InferenceResponse,
  type InstancePrediction,
  MODEL_INPUT_SIZE,
} from '@medimg/common/inference.ts';
import { decodeModelInput } from './decode.ts';
import { ModelServerError } from './errors.ts';
import { type LoadedModel, loadModel } from './model.ts';
import { hottestBox } from './postprocess.ts';

export interface PredictItem {
  readonly id: string;
  readonly png: Buffer;
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
  const predictions: InstancePrediction[] = items.map((item, i) => {
    const score = round(out.scores[i]!);
    return {
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
    invoke: (request) => {
      if (request.instances.length === 0)
        throw new ModelServerError('BAD_REQUEST', 'an inference request needs at least one instance');
      return predict(
        model,
        request.instances.map((i) => ({ id: i.id, png: Buffer.from(i.data, 'base64') })),
        floor,
      );
    },
    close: () => model.close(),
  };
}
