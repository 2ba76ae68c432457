/**
 * The trigger's ports: the raw bucket and the thing that starts a worker task. The S3 and ECS
 * adapters implement them for AWS; the demo wires the same S3 adapter to a local server and its own
 * task runner.
 */

export interface RawObjectHead {
  readonly size: number;
  /** Without the surrounding quotes S3 puts in the `ETag` header. */
  readonly etag?: string;
  readonly versionId?: string;
  /** User metadata (`x-amz-meta-*`, names without the prefix). */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface RawObjectListing {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
}

export interface RawStore {
  /** Resolves to undefined when the object does not exist. */
  headObject(bucket: string, key: string): Promise<RawObjectHead | undefined>;
  /** Resolves to undefined when the object does not exist. */
  getObject(bucket: string, key: string): Promise<Uint8Array | undefined>;
  /** Writes only when no object is at the key. Resolves to false when one already was. */
  putObjectIfAbsent(bucket: string, key: string, body: Uint8Array, contentType: string): Promise<boolean>;
  listObjects(bucket: string, prefix: string): Promise<RawObjectListing[]>;
}

export interface RunTaskInput {
  readonly jobId: string;
  /** `s3://<raw bucket>/jobs/<jobId>.json`, the task's only override (JOB_SPEC_URI). */
  readonly jobSpecUri: string;
}

export interface TaskRunner {
  /** Starts one worker task for the job. Throws a TaskLaunchError when it cannot. */
  runTask(input: RunTaskInput): Promise<{ taskArn: string }>;
}
