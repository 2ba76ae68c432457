/**
 * The dispatcher's records and messages (docs/decisions/014-job-dispatch-and-retries.md): the
 * ledger of a job's attempts, the messages on the dispatch queue, the stopped-task event.
 * Everything here is ids, counts and ECS vocabulary: no key of an upload, no PHI.
 */
import { z } from 'zod';

const JOB_ID = z.string().regex(/^job-[0-9a-f]{24}$/);
const JOB_SPEC_URI = z.string().regex(/^s3:\/\/[^/]+\/jobs\/job-[0-9a-f]{24}\.json$/);

export const AttemptRecordSchema = z.object({
  attempt: z.number().int().min(1),
  taskArn: z.string().optional(),
  startedAt: z.string().optional(),
  /** When the dispatcher stops the task if it still runs. */
  timeLimitAt: z.string().optional(),
  stoppedAt: z.string().optional(),
  exitCode: z.number().int().optional(),
  /** ECS stop code (EssentialContainerExited, TaskFailedToStart, SpotInterruption, UserInitiated...). */
  stopCode: z.string().optional(),
  timedOut: z.boolean().optional(),
  outcome: z.enum(['succeeded', 'failed', 'timed-out']).optional(),
});
export type AttemptRecord = z.infer<typeof AttemptRecordSchema>;

export const JobLedgerSchema = z.object({
  version: z.literal(1),
  jobId: JOB_ID,
  jobSpecUri: JOB_SPEC_URI,
  state: z.enum(['queued', 'running', 'retry-scheduled', 'succeeded', 'dead-lettered']),
  attempts: z.array(AttemptRecordSchema),
  updatedAt: z.string(),
});
export type JobLedger = z.infer<typeof JobLedgerSchema>;

export const DispatchMessageSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('start'),
    version: z.literal(1),
    jobId: JOB_ID,
    jobSpecUri: JOB_SPEC_URI,
    attempt: z.number().int().min(1),
  }),
  z.object({
    kind: z.literal('time-limit'),
    version: z.literal(1),
    jobId: JOB_ID,
    attempt: z.number().int().min(1),
    taskArn: z.string().min(1),
    deadline: z.string(),
  }),
]);
export type DispatchMessage = z.infer<typeof DispatchMessageSchema>;
export type StartMessage = Extract<DispatchMessage, { kind: 'start' }>;
export type TimeLimitMessage = Extract<DispatchMessage, { kind: 'time-limit' }>;

/** A worker task that stopped, as the dispatcher needs it (from an ECS Task State Change event). */
export interface TaskStopped {
  readonly jobId: string;
  readonly jobSpecUri: string;
  readonly attempt: number;
  readonly taskArn: string;
  /** The worker container's exit code; absent when it never ran (failed to start, pulled no image). */
  readonly exitCode?: number;
  readonly stopCode?: string;
}

/** The dead-letter record, `jobs/<jobId>.dead-letter.json` in the raw bucket. */
export interface DeadLetterRecord {
  readonly version: 1;
  readonly jobId: string;
  readonly jobSpecUri: string;
  readonly deadLetteredAt: string;
  readonly attempts: readonly Pick<AttemptRecord, 'attempt' | 'exitCode' | 'stopCode' | 'outcome'>[];
}
