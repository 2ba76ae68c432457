/**
 * The trigger's own port: the thing that starts a worker task. The raw bucket is common's
 * ObjectStore (S3 adapter in @medimg/aws). The ECS adapter implements this one for AWS; the demo
 * wires its own task runner.
 */

export interface RunTaskInput {
  readonly jobId: string;
  /** `s3://<raw bucket>/jobs/<jobId>.json`, the task's only override (JOB_SPEC_URI). */
  readonly jobSpecUri: string;
}

export interface TaskRunner {
  /** Starts one worker task for the job. Throws a TaskLaunchError when it cannot. */
  runTask(input: RunTaskInput): Promise<{ taskArn: string }>;
}
