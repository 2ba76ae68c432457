import { CodedError } from '@medimg/common';

/**
 * The upload API's errors (codes in common's ERROR_CODES registry): a stable code, the HTTP status it answers with, and details a client
 * can act on (which files). Messages never carry a file name, an object key or a caller's value.
 */
export type ApiErrorCode =
  | 'UNAUTHENTICATED'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TOO_LARGE'
  | 'BODY_INVALID'
  | 'TOO_MANY_FILES'
  | 'FILE_TOO_LARGE'
  | 'CHECKSUM_NOT_SHA256'
  | 'PARTS_INVALID'
  | 'FILE_INDEX_INVALID'
  | 'BATCH_NOT_FOUND'
  | 'BATCH_FOREIGN'
  | 'BATCH_INCOMPLETE'
  | 'BATCH_ALREADY_COMPLETED'
  | 'STORE_FAILED'
  | 'CONFIG_INVALID'
  | 'INTERNAL';

const STATUS: Readonly<Record<ApiErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TOO_LARGE: 413,
  BODY_INVALID: 400,
  TOO_MANY_FILES: 400,
  FILE_TOO_LARGE: 400,
  CHECKSUM_NOT_SHA256: 400,
  PARTS_INVALID: 400,
  FILE_INDEX_INVALID: 400,
  BATCH_NOT_FOUND: 404,
  BATCH_FOREIGN: 403,
  BATCH_INCOMPLETE: 409,
  BATCH_ALREADY_COMPLETED: 409,
  STORE_FAILED: 502,
  CONFIG_INVALID: 500,
  INTERNAL: 500,
};

export type ApiErrorDetails = {
  readonly missing?: readonly number[];
  readonly mismatched?: readonly { readonly index: number; readonly field: 'size' | 'sha256' | 'parts' }[];
  readonly index?: number;
};

export class ApiError extends CodedError<ApiErrorCode> {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly details: ApiErrorDetails;

  constructor(
    code: ApiErrorCode,
    message: string,
    details: ApiErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.status = STATUS[code];
    this.details = details;
  }
}

export function errorCode(err: unknown): string {
  if (err instanceof ApiError) return err.code;
  return 'INTERNAL';
}
