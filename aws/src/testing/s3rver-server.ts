/**
 * The one place that starts s3rver, the local S3 server the tests, the demo and the compose stack
 * use (test support; never in production images). s3rver ships no typings: ./s3rver.d.ts.
 */
import S3rver from 's3rver';

export interface S3rverOptions {
  /** Where s3rver keeps its objects (a user can look at them afterwards). */
  readonly directory: string;
  /** Any free port by default. */
  readonly port?: number;
  /** 127.0.0.1 by default; 0.0.0.0 under docker compose. */
  readonly address?: string;
  /** Buckets created at start (more can be created through the API). */
  readonly buckets?: readonly string[];
}

export interface RunningS3rver {
  /** http://127.0.0.1:<port>, path-style. */
  readonly url: string;
  readonly port: number;
  /** s3rver's ObjectCreated/ObjectRemoved events, as S3 event notification JSON. */
  onEvent(listener: (event: unknown) => void): void;
  close(): Promise<void>;
}

export async function startS3rver(options: S3rverOptions): Promise<RunningS3rver> {
  const server = new S3rver({
    port: options.port ?? 0,
    address: options.address ?? '127.0.0.1',
    silent: true,
    directory: options.directory,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const { port } = await server.run();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    onEvent: (listener) => {
      server.on('event', listener);
    },
    close: () => server.close(),
  };
}
