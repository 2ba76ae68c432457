import type { InferenceRequest, InferenceResponse, ModelMetadata } from '@medimg/common';
import { type InferenceClient, InferenceError } from '../ports/inference.port.ts';

/** The model running in this process (@medimg/models' in-process predictor: same contract as the endpoint). */
export interface Predictor {
  describe(): ModelMetadata;
  invoke(request: InferenceRequest): Promise<InferenceResponse>;
  close(): Promise<void>;
}

/**
 * InferenceClient over the reference model in this process (`medimg process --infer`): the request
 * and the answer are those of the endpoint, and @medimg/models does the same PNG decoding, reporting
 * floor and heat-map box as its server. Errors become InferenceError('MODEL_ERROR').
 */
export class InProcessInferenceClient implements InferenceClient {
  constructor(private readonly predictor: Predictor) {}

  async describe(): Promise<ModelMetadata> {
    return this.predictor.describe();
  }

  async invoke(request: InferenceRequest): Promise<InferenceResponse> {
    try {
      return await this.predictor.invoke(request);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new InferenceError(
        'MODEL_ERROR',
        `the in-process model failed (${typeof code === 'string' ? code : 'error'})`,
        { cause: error },
      );
    }
  }

  close(): Promise<void> {
    return this.predictor.close();
  }
}

/** Loads the model from `modelDir` (model.json and its ONNX file); onnxruntime is loaded only now. */
export async function loadInProcessInference(modelDir: string): Promise<InProcessInferenceClient> {
  const { loadInProcessPredictor } = await import('@medimg/models/predict.ts');
  return new InProcessInferenceClient(await loadInProcessPredictor(modelDir));
}
