/** A real S3 server (s3rver) on a free port, with an SDK client and the S3 adapter pointed at it (test support). */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { S3RawStore } from '../adapters/s3-raw-store.ts';

export interface LocalS3 {
  readonly server: S3rver;
  readonly client: S3Client;
  readonly store: S3RawStore;
  readonly bucket: string;
  put(key: string, body: Uint8Array | string, metadata?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalS3(bucket = 'raw'): Promise<LocalS3> {
  const root = join(tmpdir(), 'trigger');
  await mkdir(root, { recursive: true });
  const directory = await mkdtemp(join(root, 's3-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    server,
    client,
    store: new S3RawStore({ client }),
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
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
