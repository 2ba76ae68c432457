import { CodedError } from '@medimg/common/errors.ts';

/** Errors of the model server. `code` is stable and goes into the JSON error body; `status` is the HTTP status. */
export type ModelServerErrorCode =
  | 'BAD_JSON'
  | 'BAD_REQUEST'
  | 'BAD_IMAGE'
  | 'OUT_OF_SCOPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_CONTENT_TYPE'
  | 'NOT_ACCEPTABLE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'MODEL_NOT_LOADED'
  | 'MODEL_LOAD_FAILED'
  | 'MODEL_ERROR'
  | 'CONFIG_INVALID';

const STATUS: Record<ModelServerErrorCode, number> = {
  BAD_JSON: 400,
  BAD_REQUEST: 400,
  BAD_IMAGE: 400,
  OUT_OF_SCOPE: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_CONTENT_TYPE: 415,
  NOT_ACCEPTABLE: 406,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  MODEL_NOT_LOADED: 503,
  MODEL_LOAD_FAILED: 500,
  MODEL_ERROR: 500,
  CONFIG_INVALID: 500,
};

export class ModelServerError extends CodedError<ModelServerErrorCode> {
  override readonly name = 'ModelServerError';
  readonly status: number;

  constructor(code: ModelServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = STATUS[code];
  }
}
