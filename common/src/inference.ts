/**
 * The inference contract between the worker and the model endpoint (DESIGN D5).
 * See models/README.md for the prose version; this file is the single source of truth for both sides:
 * the model server validates requests with `InferenceRequestSchema`, the worker's SageMaker adapter
 * validates answers with `InferenceResponseSchema`.
 */
import { z } from 'zod';

/** Model input: 8-bit greyscale PNG, MODEL_INPUT_SIZE x MODEL_INPUT_SIZE, windowed image resized with
 * its aspect ratio kept (`fit: contain`) on a black background. The model scales pixels to [0, 1]. */
export const MODEL_INPUT_SIZE = 128;

/** SageMaker payload limits (bytes): real-time endpoints 6 MB, serverless 4 MB. */
export const PAYLOAD_LIMIT_REALTIME = 6 * 1024 * 1024;
export const PAYLOAD_LIMIT_SERVERLESS = 4 * 1024 * 1024;

export const INFERENCE_CONTENT_TYPE = 'application/json';

export interface InferenceInstance {
  /** Opaque id chosen by the caller (a de-identified SOP Instance UID, or an index). */
  readonly id: string;
  /** Base64 of the model-input PNG. */
  readonly data: string;
}

export interface InferenceRequest {
  readonly instances: readonly InferenceInstance[];
}

/** A box in model-input coordinates normalised to [0, 1]: x, y of the top-left corner, width, height. */
export interface FindingBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface ModelFinding {
  readonly label: string;
  /** Probability in [0, 1]. */
  readonly score: number;
  readonly box?: FindingBox;
}

export interface InstancePrediction {
  readonly id: string;
  /** One score per label the model knows, whether or not it is a finding. */
  readonly scores: Readonly<Record<string, number>>;
  /** Labels scoring at or above the model's own reporting floor (not the clinical threshold). */
  readonly findings: readonly ModelFinding[];
}

export interface ModelIdentity {
  readonly name: string;
  readonly version: string;
}

export interface InferenceResponse {
  readonly model: ModelIdentity;
  readonly predictions: readonly InstancePrediction[];
  readonly timing: { readonly inferenceMs: number };
}

export interface InferenceErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** Longest instance id the server accepts. */
export const INSTANCE_ID_MAX = 256;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const InferenceInstanceSchema: z.ZodType<InferenceInstance> = z.object({
  id: z.string().min(1).max(INSTANCE_ID_MAX),
  data: z.string().regex(BASE64),
});

export const InferenceRequestSchema: z.ZodType<InferenceRequest> = z.object({
  instances: z.array(InferenceInstanceSchema).min(1),
});

const unit = () => z.number().min(0).max(1);

export const InferenceResponseSchema: z.ZodType<InferenceResponse> = z.object({
  model: z.object({ name: z.string().min(1), version: z.string().min(1) }),
  predictions: z.array(
    z.object({
      id: z.string(),
      scores: z.record(z.string(), unit()),
      findings: z.array(
        z.object({
          label: z.string().min(1),
          score: unit(),
          box: z.object({ x: unit(), y: unit(), width: unit(), height: unit() }).optional(),
        }),
      ),
    }),
  ),
  timing: z.object({ inferenceMs: z.number().min(0) }),
});
