/**
 * The upload API on a local port (DESIGN D9): the same core as the Lambda (@medimg/upload-api),
 * its S3 adapter pointed at s3rver, SigV4 checked against the local credentials. The demo and the
 * end-to-end tests upload through it, with `medimg upload` or the same client in-process.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig } from '@medimg/aws';
import {
  createAuditLogger,
  createUploadApi,
  DEFAULT_LIMITS,
  type Limits,
  type LocalUploadApi,
  S3UploadStore,
  startLocalUploadApi,
} from '@medimg/upload-api';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalNames } from './servers.ts';

/** A second local caller, for the tests of batches that belong to someone else. */
export const OTHER_CALLER = { accessKeyId: 'OTHERSITE', secretAccessKey: 'other-site-secret' } as const;

export interface PipelineUploadApiOptions {
  /** The S3 endpoint the API signs URLs for (default s3rver's; a test may put a proxy in front). */
  readonly s3Url: string;
  readonly names: LocalNames;
  readonly limits?: Partial<Limits>;
  readonly clock?: () => Date;
  /** The API's batch ids (default: random). A test may pick one, e.g. a canary. */
  readonly newBatchId?: (now: Date) => string;
  /** The API's audit lines (default: dropped). */
  readonly audit?: (line: string) => void;
}

export async function startPipelineUploadApi(options: PipelineUploadApiOptions): Promise<LocalUploadApi> {
  const client = new S3Client({
    // As the Lambda makes it (S3UploadStore): the SDK's 3 attempts and the shared time bounds.
    ...awsClientConfig({ maxAttempts: 3 }),
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: options.s3Url,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const api = createUploadApi({
    store: new S3UploadStore({ rawBucket: options.names.rawBucket, client }),
    config: {
      rawBucket: options.names.rawBucket,
      processedBucket: options.names.processedBucket,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      maxBodyBytes: 4 * 1024 * 1024,
    },
    audit: createAuditLogger({ write: options.audit ?? (() => {}) }),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.newBatchId ? { newBatchId: options.newBatchId } : {}),
  });
  const server = await startLocalUploadApi({
    api,
    credentials: {
      [LOCAL_CREDENTIALS.accessKeyId]: LOCAL_CREDENTIALS.secretAccessKey,
      [OTHER_CALLER.accessKeyId]: OTHER_CALLER.secretAccessKey,
    },
  });
  return {
    url: server.url,
    close: async () => {
      await server.close();
      client.destroy();
    },
  };
}
