/**
 * UploadStore on S3 (AWS SDK v3), for AWS and for s3rver. Presigned PUTs and part uploads sign the
 * body's length and SHA-256 as headers (`content-length`, `x-amz-checksum-sha256`), so S3 refuses a
 * body of another length or content. SDK errors become ApiError STORE_FAILED with the SDK error as
 * cause and only the operation and error name in the message (an SDK message can name a key).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { awsClientConfig, S3ObjectStore } from '@medimg/aws';
import type { PresignedRequest } from '../contract.ts';
import { ApiError } from '../errors.ts';
import type { PresignInput, StoredObject, UploadStore } from '../ports.ts';

/** Headers signed into every upload URL and sent by the client as they are. */
const SIGNED_UPLOAD_HEADERS = new Set(['content-length', 'x-amz-checksum-sha256']);

export interface S3UploadStoreOptions {
  readonly rawBucket: string;
  /** One is made from `clientConfig` otherwise. Needs `requestChecksumCalculation: 'WHEN_REQUIRED'`. */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
}

export class S3UploadStore implements UploadStore {
  readonly #client: S3Client;
  /** The shared object-store adapter (@medimg/aws) for the plain JSON reads and writes. */
  readonly #objects: S3ObjectStore;
  readonly #rawBucket: string;

  constructor(options: S3UploadStoreOptions) {
    this.#rawBucket = options.rawBucket;
    // WHEN_REQUIRED: otherwise the SDK adds a CRC32 of an empty body to every presigned PUT.
    this.#client =
      options.client ??
      new S3Client({
        // The SDK's default 3 attempts (API Gateway stops waiting at 29 s) with the shared HTTP bounds.
        ...awsClientConfig({ maxAttempts: 3 }),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        ...options.clientConfig,
      });
    this.#objects = new S3ObjectStore({ client: this.#client });
  }

  async presignPut(input: PresignInput): Promise<PresignedRequest> {
    const command = new PutObjectCommand({
      Bucket: this.#rawBucket,
      Key: input.key,
      ContentLength: input.size,
      ChecksumSHA256: input.sha256Base64,
    });
    return this.#presignUpload((options) => getSignedUrl(this.#client, command, options), input);
  }

  async presignPart(
    input: PresignInput & { readonly uploadId: string; readonly partNumber: number },
  ): Promise<PresignedRequest> {
    const command = new UploadPartCommand({
      Bucket: this.#rawBucket,
      Key: input.key,
      UploadId: input.uploadId,
      PartNumber: input.partNumber,
      ContentLength: input.size,
      ChecksumSHA256: input.sha256Base64,
    });
    return this.#presignUpload((options) => getSignedUrl(this.#client, command, options), input);
  }

  async #presignUpload(
    sign: (options: Parameters<typeof getSignedUrl>[2]) => Promise<string>,
    input: PresignInput,
  ): Promise<PresignedRequest> {
    try {
      const url = await sign({
        expiresIn: input.expiresInSeconds,
        signingDate: input.signingDate,
        signableHeaders: SIGNED_UPLOAD_HEADERS,
        unhoistableHeaders: SIGNED_UPLOAD_HEADERS,
      });
      return {
        url,
        headers: { 'content-length': String(input.size), 'x-amz-checksum-sha256': input.sha256Base64 },
      };
    } catch (err) {
      throw storeFailed('presign', err);
    }
  }

  async createMultipart(key: string): Promise<string> {
    try {
      const out = await this.#client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.#rawBucket,
          Key: key,
          ContentType: 'application/dicom',
          ChecksumAlgorithm: ChecksumAlgorithm.SHA256,
        }),
      );
      if (!out.UploadId) throw new Error('no upload id');
      return out.UploadId;
    } catch (err) {
      throw storeFailed('create multipart upload', err);
    }
  }

  async completeMultipart(input: {
    readonly key: string;
    readonly uploadId: string;
    readonly parts: readonly {
      readonly partNumber: number;
      readonly etag: string;
      readonly sha256Base64: string;
    }[];
  }): Promise<boolean> {
    try {
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#rawBucket,
          Key: input.key,
          UploadId: input.uploadId,
          MultipartUpload: {
            Parts: input.parts.map((p) => ({
              PartNumber: p.partNumber,
              ETag: `"${p.etag.replace(/"/g, '')}"`,
              ChecksumSHA256: p.sha256Base64,
            })),
          },
        }),
      );
      return true;
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      if (['InvalidPart', 'InvalidPartOrder', 'NoSuchUpload', 'EntityTooSmall', 'BadDigest'].includes(name))
        return false;
      if (httpStatus(err) === 400) return false;
      throw storeFailed('complete multipart upload', err);
    }
  }

  async head(bucket: string, key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.#client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
      );
      const etag = out.ETag?.replace(/"/g, '');
      return {
        size: out.ContentLength ?? 0,
        ...(etag ? { etag } : {}),
        ...(out.VersionId && out.VersionId !== 'null' ? { versionId: out.VersionId } : {}),
        ...(out.ChecksumSHA256 ? { sha256: out.ChecksumSHA256 } : {}),
        metadata: out.Metadata ?? {},
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storeFailed('head', err);
    }
  }

  async sha256Hex(bucket: string, key: string): Promise<string> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const hash = createHash('sha256');
      for await (const chunk of out.Body as Readable) hash.update(chunk as Uint8Array);
      return hash.digest('hex');
    } catch (err) {
      throw storeFailed('get', err);
    }
  }

  async getJson(bucket: string, key: string): Promise<unknown> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.#objects.getIfExists(bucket, key);
    } catch (err) {
      throw storeFailed('get', err);
    }
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (cause) {
      throw new ApiError('STORE_FAILED', 'a stored record is not JSON', {}, { cause });
    }
  }

  /** `ifAbsent`: S3's `If-None-Match: *` (with a HEAD first for servers that ignore it, s3rver). */
  async putJson(
    bucket: string,
    key: string,
    value: unknown,
    options: { readonly ifAbsent?: boolean; readonly metadata?: Readonly<Record<string, string>> } = {},
  ): Promise<boolean> {
    try {
      return await this.#objects.put(bucket, key, JSON.stringify(value, null, 2), {
        contentType: 'application/json',
        ...(options.ifAbsent ? { ifNoneMatch: true } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
      });
    } catch (err) {
      throw storeFailed('put', err);
    }
  }

  async presignGet(
    bucket: string,
    key: string,
    expiresInSeconds: number,
    signingDate: Date,
  ): Promise<string> {
    try {
      return await getSignedUrl(this.#client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn: expiresInSeconds,
        signingDate,
      });
    } catch (err) {
      throw storeFailed('presign', err);
    }
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey')) return true;
  return httpStatus(err) === 404 && (err as { name?: string }).name !== 'NoSuchBucket';
}

function storeFailed(operation: string, cause: unknown): ApiError {
  const name =
    cause instanceof Error
      ? (((cause as { code?: unknown }).code as string | undefined) ?? cause.name)
      : 'unknown';
  return new ApiError('STORE_FAILED', `S3 ${operation} failed: ${name}`, {}, { cause });
}
