/**
 * The inference contract between the worker and the model endpoint (DESIGN D5).
 * See models/README.md for the prose version; this file is the single source of truth for both sides.
 */

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
