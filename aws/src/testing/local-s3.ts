/** A real S3 server (s3rver) on a free port, with an SDK client and the S3 adapter pointed at it (test support). */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo } from '@medimg/common';
import { S3ObjectStore } from '../s3-object-store.ts';
import { type RunningS3rver, startS3rver } from './s3rver-server.ts';

export interface LocalS3 {
  readonly server: RunningS3rver;
  readonly client: S3Client;
  readonly store: S3ObjectStore;
  readonly bucket: string;
  put(key: string, body: Uint8Array | string, metadata?: Record<string, string>): Promise<void>;
  /** Every object under a prefix (tests only: the production port has no listing). */
  list(prefix: string, bucket?: string): Promise<ObjectInfo[]>;
  close(): Promise<void>;
}

/** Every object under a prefix, through the SDK (test support: the production port has no listing). */
export async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      const etag = o.ETag?.replace(/^"|"$/g, '');
      out.push({ key: o.Key, size: o.Size ?? 0, ...(etag !== undefined ? { etag } : {}) });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return out;
}

export async function startLocalS3(bucket = 'raw'): Promise<LocalS3> {
  const root = join(tmpdir(), 'medimg-aws');
  await mkdir(root, { recursive: true });
  const directory = await mkdtemp(join(root, 's3-'));
  const server = await startS3rver({ directory, buckets: [bucket] });
  const client = new S3Client({
    endpoint: server.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    server,
    client,
    store: new S3ObjectStore({ client }),
    bucket,
    async put(key, body, metadata) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ...(metadata ? { Metadata: metadata } : {}),
        }),
      );
    },
    list: (prefix, b = bucket) => listObjects(client, b, prefix),
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
