import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type ObjectInfo, type ObjectStore, ObjectStoreError, type PutOptions } from '@medimg/common';
import { awsClientConfig } from './client-config.ts';
import { classifyAwsError } from './errors.ts';

/**
 * Standard retry strategy with a bounded budget (transient 5xx, throttling and timeouts are
 * retried) and the shared HTTP time bounds (client-config.ts).
 */
export const S3_CLIENT_DEFAULTS: S3ClientConfig = awsClientConfig();

/**
 * A missing object, not a missing bucket: NoSuchBucket is a deployment error and must not read
 * as "not there yet" (a trigger would wait forever for a manifest in a bucket that does not exist).
 * A HEAD answers a bare 404 either way (no body, so no error code): only GET can tell them apart.
 */
function isNotFound(error: unknown): boolean {
  const { name, status } = classifyAwsError(error);
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}

/** The one mapping from an S3 failure to the port's error. The message names the operation and the SDK error name only. */
export function toObjectStoreError(operation: string, error: unknown): ObjectStoreError {
  const c = classifyAwsError(error);
  if (isNotFound(error))
    return new ObjectStoreError('NOT_FOUND', `${operation}: no such object`, { cause: error });
  if (c.status === 403)
    return new ObjectStoreError('ACCESS_DENIED', `${operation}: access denied (${c.name})`, { cause: error });
  if (c.retryable || c.status === undefined)
    return new ObjectStoreError('STORE_UNAVAILABLE', `${operation}: storage unavailable (${c.name})`, {
      cause: error,
    });
  return new ObjectStoreError('STORE_ERROR', `${operation}: storage error ${c.status} (${c.name})`, {
    cause: error,
  });
}

const unquote = (etag: string | undefined): string | undefined => etag?.replace(/^"|"$/g, '');

export interface S3ObjectStoreOptions {
  /** An S3 client to use (tests, the demo's local endpoint); one is made from `clientConfig` otherwise. */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
}

/** S3 (or any S3-compatible server with an endpoint override) behind the ObjectStore port. */
export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;

  constructor(options: S3ObjectStoreOptions = {}) {
    this.#client = options.client ?? new S3Client({ ...S3_CLIENT_DEFAULTS, ...options.clientConfig });
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new ObjectStoreError('STORE_ERROR', 'get: empty body');
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof ObjectStoreError) throw error;
      throw toObjectStoreError('get', error);
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

  /**
   * With `ifNoneMatch`, `If-None-Match: *` makes S3 refuse to overwrite (412, or 409 on a concurrent
   * conditional write). Some S3-compatible servers (s3rver) ignore the header, so a HEAD goes first:
   * it closes most of the window there and saves a request on AWS when the object exists.
   */
  async put(
    bucket: string,
    key: string,
    body: Uint8Array | string,
    options: PutOptions = {},
  ): Promise<boolean> {
    if (options.ifNoneMatch && (await this.head(bucket, key))) return false;
    try {
      await this.#client.send(
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
      const { status } = classifyAwsError(error);
      if (options.ifNoneMatch && (status === 412 || status === 409)) return false;
      throw toObjectStoreError('put', error);
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const etag = unquote(out.ETag);
      return {
        key,
        size: out.ContentLength ?? 0,
        ...(etag !== undefined ? { etag } : {}),
        ...(out.VersionId !== undefined && out.VersionId !== 'null' ? { versionId: out.VersionId } : {}),
        ...(out.Metadata && Object.keys(out.Metadata).length > 0 ? { metadata: out.Metadata } : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toObjectStoreError('head', error);
    }
  }

  /** A presigned GET link (the LinkSigner port of the worker). */
  signGet(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.#client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }
}
