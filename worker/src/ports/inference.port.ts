/** How the worker asks the model endpoint for predictions (DESIGN D5). Implemented by the SageMaker adapter. */
import {
  CodedError,
  type InferenceRequest,
  type InferenceResponse,
  type ModelMetadata,
} from '@medimg/common';

export type InferenceErrorCode =
  /** The endpoint stayed unreachable, throttled or failing (5xx) through every retry, or does not exist. */
  | 'ENDPOINT_UNAVAILABLE'
  /** No answer within the per-attempt timeout, through every retry. */
  | 'ENDPOINT_TIMEOUT'
  /** One instance alone is over the payload limit, or the endpoint refused the size. */
  | 'PAYLOAD_TOO_LARGE'
  /** The endpoint answered 2xx with a body that does not follow the contract. */
  | 'BAD_RESPONSE'
  /** The model container refused the request or failed on it (not retried). */
  | 'MODEL_ERROR';

export class InferenceError extends CodedError<InferenceErrorCode> {
  override readonly name = 'InferenceError';
  /** Attempts made before giving up (1 when the error is not retried). */
  readonly attempts: number;

  constructor(
    code: InferenceErrorCode,
    message: string,
    options: { cause?: unknown; attempts?: number } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.attempts = options.attempts ?? 1;
  }
}

export interface InferenceClient {
  /**
   * What the model declares about itself (scope rules, intended use, calibrated thresholds, measured false
   * alarm rate), served by the container. The worker selects series by its scope before inference.
   */
  describe(options?: { signal?: AbortSignal }): Promise<ModelMetadata>;
  /**
   * Predictions for every instance, in request order. Splits the request when it is over the endpoint's
   * payload limit. Rejects with InferenceError; an abort through `signal` rejects with the signal's reason.
   */
  invoke(request: InferenceRequest, options?: { signal?: AbortSignal }): Promise<InferenceResponse>;
}
