import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { TriggerError } from '../errors.ts';
import type { RawObjectHead, RawObjectListing, RawStore } from '../ports.ts';

export interface S3RawStoreOptions {
  /** An S3 client to use (tests, the demo's local endpoint); one is made from `clientConfig` otherwise. */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
}

/** RawStore on S3 (AWS SDK v3). SDK errors become TriggerError STORE_FAILED with the SDK error as cause. */
export class S3RawStore implements RawStore {
  readonly #client: S3Client;

  constructor(options: S3RawStoreOptions = {}) {
    this.#client = options.client ?? new S3Client(options.clientConfig ?? {});
  }

  async headObject(bucket: string, key: string): Promise<RawObjectHead | undefined> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const etag = unquote(out.ETag);
      return {
        size: out.ContentLength ?? 0,
        ...(etag !== undefined ? { etag } : {}),
        ...(out.VersionId !== undefined && out.VersionId !== 'null' ? { versionId: out.VersionId } : {}),
        ...(out.Metadata !== undefined && Object.keys(out.Metadata).length > 0
          ? { metadata: out.Metadata }
          : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storeFailed('head', err);
    }
  }

  async getObject(bucket: string, key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (out.Body === undefined) return new Uint8Array();
      return await out.Body.transformToByteArray();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storeFailed('get', err);
    }
  }

  /**
   * `If-None-Match: *` makes S3 refuse to overwrite (412, or 409 on a concurrent conditional write).
   * Some S3-compatible servers (s3rver) ignore the header, so a HEAD goes first: it narrows the
   * window there and saves a request on AWS when the object exists.
   */
  async putObjectIfAbsent(
    bucket: string,
    key: string,
    body: Uint8Array,
    contentType: string,
  ): Promise<boolean> {
    if ((await this.headObject(bucket, key)) !== undefined) return false;
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (err) {
      const status = httpStatus(err);
      if (status === 412 || status === 409) return false;
      throw storeFailed('put', err);
    }
  }

  async listObjects(bucket: string, prefix: string): Promise<RawObjectListing[]> {
    const out: RawObjectListing[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined) continue;
          const etag = unquote(o.ETag);
          out.push({ key: o.Key, size: o.Size ?? 0, ...(etag !== undefined ? { etag } : {}) });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw storeFailed('list', err);
    }
    return out;
  }
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey')) return true;
  return httpStatus(err) === 404 && (err as { name?: string }).name !== 'NoSuchBucket';
}

/** The SDK's message can name the key or bucket: keep only the operation and the error name. */
function storeFailed(operation: string, cause: unknown): TriggerError {
  const name = cause instanceof Error ? cause.name : 'unknown';
  return new TriggerError('STORE_FAILED', `S3 ${operation} failed: ${name}`, { cause });
}
