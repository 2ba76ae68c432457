import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { LinkSigner } from '../ports/link-signer.port.ts';
import {
  type ObjectInfo,
  type ObjectStore,
  ObjectStoreError,
  type PutOptions,
} from '../ports/object-store.port.ts';

/** Standard retry strategy with a bounded budget: transient 5xx, throttling and timeouts are retried. */
export const S3_CLIENT_DEFAULTS: S3ClientConfig = { maxAttempts: 5, retryMode: 'standard' };

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

function toStoreError(operation: string, error: unknown): ObjectStoreError {
  const status = statusOf(error);
  if (isNotFound(error))
    return new ObjectStoreError('NOT_FOUND', `${operation}: no such object`, { cause: error });
  if (status === 403)
    return new ObjectStoreError('ACCESS_DENIED', `${operation}: access denied`, { cause: error });
  if (status === undefined || status >= 500 || status === 429)
    return new ObjectStoreError('STORE_UNAVAILABLE', `${operation}: storage unavailable`, { cause: error });
  return new ObjectStoreError('STORE_ERROR', `${operation}: storage error ${status}`, { cause: error });
}

/** S3 (or any S3-compatible server with an endpoint override) behind the ObjectStore port. */
export class S3ObjectStore implements ObjectStore, LinkSigner {
  private readonly client: S3Client;

  constructor(options: { client?: S3Client } = {}) {
    this.client = options.client ?? new S3Client(S3_CLIENT_DEFAULTS);
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new ObjectStoreError('STORE_ERROR', 'get: empty body');
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof ObjectStoreError) throw error;
      throw toStoreError('get', error);
    }
  }

  async getIfExists(bucket: string, key: string): Promise<Uint8Array | undefined> {
    try {
      return await this.get(bucket, key);
    } catch (error) {
      if (error instanceof ObjectStoreError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  async put(
    bucket: string,
    key: string,
    body: Uint8Array | string,
    options: PutOptions = {},
  ): Promise<boolean> {
    // Some S3-compatible servers ignore If-None-Match: look first, then let S3 enforce it where it can.
    if (options.ifNoneMatch && (await this.head(bucket, key))) return false;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          Metadata: options.metadata,
          IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
        }),
      );
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (options.ifNoneMatch && (status === 412 || status === 409)) return false;
      throw toStoreError('put', error);
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, etag: out.ETag };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toStoreError('head', error);
    }
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of out.Contents ?? []) {
          if (o.Key) found.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag });
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw toStoreError('list', error);
    }
    return found;
  }

  signGet(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }
}
