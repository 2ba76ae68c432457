/** The dispatcher's ports. AWS adapters: S3 (ledger), SQS (dispatch queue), ECS (tasks), SNS (operations). */
import type { DeadLetterRecord, DispatchMessage, JobLedger } from './model.ts';

export interface LedgerStore {
  read(jobId: string): Promise<JobLedger | undefined>;
  write(ledger: JobLedger): Promise<void>;
  writeDeadLetter(record: DeadLetterRecord): Promise<void>;
}

export interface DispatchQueue {
  /** Sends a message that becomes visible after `delaySeconds` (0..900). */
  send(message: DispatchMessage, delaySeconds: number): Promise<void>;
}

export interface TaskControl {
  /** Starts one worker task for the attempt; throws a TaskLaunchError when it cannot. */
  runTask(input: { jobId: string; jobSpecUri: string; attempt: number }): Promise<{ taskArn: string }>;
  stopTask(taskArn: string, reason: string): Promise<void>;
  /** Worker tasks running or about to (desired status RUNNING), counted up to `atMost`. */
  countRunning(atMost: number): Promise<number>;
}

export interface OpsNotifier {
  publish(subject: string, message: string): Promise<void>;
}
