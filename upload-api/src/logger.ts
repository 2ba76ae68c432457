/**
 * The audit trail of the upload API: one JSON line per call (CloudWatch Logs in AWS) with the
 * caller, the batch and counts. The field types admit no file name, key or free-form value.
 */
import { createJsonLogger, type Logger, type LogLevel } from '@medimg/common';

export interface AuditFields {
  /** The IAM principal ARN that signed the request (not patient data). */
  readonly caller?: string;
  readonly batchId?: string;
  readonly jobId?: string;
  readonly code?: string;
  readonly status?: number;
  readonly method?: string;
  readonly state?: string;
  readonly counts?: Readonly<Record<string, number>>;
}

export type AuditLogger = Logger<AuditFields>;

export function createAuditLogger(
  options: { readonly level?: LogLevel; readonly write?: (line: string) => void } = {},
): AuditLogger {
  return createJsonLogger<AuditFields>({ service: 'medimg-upload-api', ...options });
}
