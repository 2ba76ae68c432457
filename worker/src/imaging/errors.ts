/**
 * The imaging module's one error type. Messages never carry DICOM values (they may hold PHI):
 * they name what failed and the stable `code` says why.
 */
import { CodedError } from '@medimg/common';

export type ImagingErrorCode =
  | 'NO_PIXEL_DATA'
  | 'UNSUPPORTED_TRANSFER_SYNTAX'
  | 'UNSUPPORTED_PIXEL_FORMAT'
  | 'PIXEL_DATA_TRUNCATED'
  | 'PIXEL_DECODE_FAILED';

export class ImagingError extends CodedError<ImagingErrorCode> {
  override readonly name = 'ImagingError';
}

export const isImagingError = (e: unknown): e is ImagingError => e instanceof ImagingError;

/** Wraps anything a codec throws (strings, numbers, WASM aborts) into PIXEL_DECODE_FAILED. */
export function wrapDecodeError(e: unknown, what: string): ImagingError {
  if (e instanceof ImagingError) return e;
  // Keep the original as `cause` (for debugging), but never put its text in our message.
  return new ImagingError('PIXEL_DECODE_FAILED', `${what}: the codec could not decode the frame`, {
    cause: e instanceof Error ? e : new Error(typeof e === 'string' ? e : `non-Error thrown (${typeof e})`),
  });
}
