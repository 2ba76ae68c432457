/**
 * Test support: a real S3 server (s3rver, raw and processed buckets) and the upload API on a local
 * port in front of it, with two signed callers.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3rver } from '@medimg/aws/testing';
import { S3UploadStore } from '../adapters/s3-upload-store.ts';
import { createUploadApi } from '../api.ts';
import { UploadApiClient } from '../client/api-client.ts';
import { DEFAULT_LIMITS, type Limits } from '../contract.ts';
import { startLocalUploadApi } from '../local-server.ts';
import { createAuditLogger } from '../logger.ts';

export const CALLER = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/** The environment of a `medimg` child process that signs its API calls as CALLER. */
export function callerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: CALLER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CALLER.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

export const OTHER = { accessKeyId: 'OTHERSITE', secretAccessKey: 'other-secret' } as const;

export interface LocalApi {
  readonly url: string;
  readonly s3: S3Client;
  readonly client: UploadApiClient;
  readonly other: UploadApiClient;
  readonly audit: string[];
  readonly raw: string;
  readonly processed: string;
  /** Sets the API's clock (default: the real one). */
  setClock(clock: (() => Date) | undefined): void;
  getText(bucket: string, key: string): Promise<string>;
  getBytes(bucket: string, key: string): Promise<Uint8Array>;
  head(bucket: string, key: string): Promise<{ metadata: Record<string, string> } | undefined>;
  put(bucket: string, key: string, body: string): Promise<void>;
  close(): Promise<void>;
}

export interface LocalApiOptions {
  /** Puts something (a proxy) between the API and s3rver: gets s3rver's URL, gives the one to use. */
  readonly s3Via?: (s3rverUrl: string) => Promise<string>;
}

export async function startLocalApi(
  limits: Partial<Limits> = {},
  options: LocalApiOptions = {},
): Promise<LocalApi> {
  const root = join(tmpdir(), 'upload-api');
  await mkdir(root, { recursive: true });
  const directory = await mkdtemp(join(root, 's3-'));
  const raw = 'raw';
  const processed = 'processed';
  const server = await startS3rver({ directory, buckets: [raw, processed] });
  const s3 = new S3Client({
    // Presigned URLs name this endpoint: a proxy here sees the uploader's PUTs.
    endpoint: options.s3Via ? await options.s3Via(server.url) : server.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: CALLER,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  let clock: (() => Date) | undefined;
  const audit: string[] = [];
  const api = createUploadApi({
    store: new S3UploadStore({ rawBucket: raw, client: s3 }),
    config: {
      rawBucket: raw,
      processedBucket: processed,
      limits: { ...DEFAULT_LIMITS, ...limits },
      maxBodyBytes: 64 * 1024,
    },
    audit: createAuditLogger({ write: (line) => audit.push(line) }),
    clock: () => (clock ? clock() : new Date()),
  });
  const local = await startLocalUploadApi({
    api,
    credentials: { [CALLER.accessKeyId]: CALLER.secretAccessKey, [OTHER.accessKeyId]: OTHER.secretAccessKey },
  });
  return {
    url: local.url,
    s3,
    client: new UploadApiClient({ url: local.url, region: 'us-east-1', credentials: CALLER, attempts: 1 }),
    other: new UploadApiClient({ url: local.url, region: 'us-east-1', credentials: OTHER, attempts: 1 }),
    audit,
    raw,
    processed,
    setClock: (c) => {
      clock = c;
    },
    getText: async (bucket, key) => {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    },
    getBytes: async (bucket, key) => {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    },
    head: async (bucket, key) => {
      try {
        const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { metadata: out.Metadata ?? {} };
      } catch {
        return undefined;
      }
    },
    put: async (bucket, key, body) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    close: async () => {
      await local.close();
      s3.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
