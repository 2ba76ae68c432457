/**
 * One error shape for every module: a `CodedError` carries a stable `code` from one registry,
 * `ERROR_CODES`, and a message that never holds a value of the data (no PHI, no key, no file name).
 * Each module narrows the code to its own subset (`CodedError<'NOT_DICOM' | ...>`), so a typo or an
 * undocumented code is a compile error. `REASON_CODES` (outcomes.ts), the codes a file can end with,
 * is the part of the registry that reaches the job record and the clinician-facing report.
 */
import { REASON_CODES } from './outcomes.ts';

export const ERROR_CODES = {
  ...REASON_CODES,
  // DICOM library (dicom/)
  DICOM_WRITE_FAILED: 'A data set could not be encoded as a Part 10 file.',
  CHARSET_UNENCODABLE: 'A character cannot be represented in the data set character set.',
  // object store (common/src/object-store.ts, @medimg/aws)
  NOT_FOUND: 'No such object (or no such path on the model server).',
  ACCESS_DENIED: 'The store refused access.',
  STORE_UNAVAILABLE: 'The store was unreachable, throttled or failing through every retry.',
  STORE_ERROR: 'The store refused the request.',
  // worker configuration and de-identification key
  CONFIG_INVALID: 'A configuration variable is missing or invalid (exit 78).',
  DEID_KEY_MISSING: 'No de-identification key is configured.',
  DEID_KEY_INVALID: 'The de-identification key is too short, malformed, or not allowed here.',
  DEID_KEY_UNREADABLE: 'The de-identification key could not be read.',
  // inference (worker <-> model endpoint)
  ENDPOINT_UNAVAILABLE: 'The model endpoint stayed unreachable, throttled or failing, or does not exist.',
  ENDPOINT_TIMEOUT: 'The model endpoint did not answer in time, through every retry.',
  PAYLOAD_TOO_LARGE: 'One instance alone is over the payload limit, or the endpoint refused the size.',
  BAD_RESPONSE: 'The model endpoint answered with a body that does not follow the contract.',
  MODEL_ERROR: 'The model container refused the request or failed on it.',
  // notification
  NOTIFY_FAILED: 'A notification could not be published.',
  // trigger Lambda
  EVENT_INVALID: 'An SQS message is not an S3 event notification.',
  MANIFEST_MISSING: 'The batch manifest does not exist.',
  MANIFEST_INVALID: 'The batch manifest is not valid.',
  BATCH_INCOMPLETE: 'A file the manifest lists is missing or has another size.',
  TASK_LAUNCH_THROTTLED: 'ECS RunTask stayed throttled through every attempt.',
  TASK_LAUNCH_CAPACITY: 'ECS had no capacity through every attempt.',
  TASK_LAUNCH_SERVICE_ERROR: 'ECS answered with server errors through every attempt.',
  TASK_LAUNCH_REJECTED: 'ECS refused the RunTask request.',
  TASK_LAUNCH_NO_TASK: 'ECS answered with neither a task nor a failure.',
  // upload API (upload-api/, HTTP error bodies; BATCH_INCOMPLETE, CONFIG_INVALID, METHOD_NOT_ALLOWED above)
  UNAUTHENTICATED: 'The request carries no verified caller identity.',
  ROUTE_NOT_FOUND: 'The API has no such route.',
  REQUEST_TOO_LARGE: 'The request body is over the API limit.',
  BODY_INVALID: 'The request body is not JSON or not the shape of the route.',
  TOO_MANY_FILES: 'A batch announces more files than the API allows.',
  FILE_TOO_LARGE: 'An announced file is over the size limit.',
  CHECKSUM_NOT_SHA256: 'An announced checksum is not a SHA-256 in hexadecimal.',
  PARTS_INVALID: 'Part checksums or part ETags do not match the multipart layout.',
  FILE_INDEX_INVALID: 'The batch has no file with this index.',
  BATCH_NOT_FOUND: 'No such upload batch.',
  BATCH_FOREIGN: 'The upload batch belongs to another caller.',
  BATCH_ALREADY_COMPLETED: 'The upload batch is already complete.',
  STORE_FAILED: 'The upload API could not read or write the buckets.',
  INTERNAL: 'The upload API failed unexpectedly.',
  // model server (HTTP error bodies)
  BAD_JSON: 'The request body is not JSON.',
  BAD_REQUEST: 'The request does not follow the inference contract.',
  BAD_IMAGE: 'An instance is not a model-input PNG.',
  OUT_OF_SCOPE: "An instance lacks scope attributes or falls outside the model's declared scope.",
  UNSUPPORTED_CONTENT_TYPE: 'The request content type is not supported.',
  NOT_ACCEPTABLE: 'The requested response type is not supported.',
  METHOD_NOT_ALLOWED: 'The HTTP method is not allowed on this path.',
  REQUEST_TIMEOUT: 'The request body did not arrive in time.',
  MODEL_NOT_LOADED: 'The model is not loaded yet.',
  MODEL_LOAD_FAILED: 'The model could not be loaded.',
  // anything else
  UNEXPECTED: 'An error without a stable code; see the logs by error type.',
} as const satisfies Record<string, string>;
export type ErrorCode = keyof typeof ERROR_CODES;

export class CodedError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

const CODE_SHAPE = /^[A-Z][A-Z0-9_]{1,63}$/;

/**
 * The stable code of anything thrown, for logs, job records and failure accounting: a CodedError's
 * code, or the code of another error when it has the shape of one (Node's `ENOENT`, an SDK's
 * `ECONNRESET`), else `fallback`. Never the message.
 */
export function codeOf(error: unknown, fallback: string = 'UNEXPECTED'): string {
  if (error instanceof CodedError) return error.code;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CODE_SHAPE.test(code) ? code : fallback;
}

export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
