/**
 * The upload API's one port: the buckets. The S3 adapter (adapters/s3-upload-store.ts) implements it
 * for AWS and for s3rver; the handler core never imports the AWS SDK.
 */
import type { PresignedRequest } from './contract.ts';

export interface StoredObject {
  readonly size: number;
  /** Without quotes. */
  readonly etag?: string;
  readonly versionId?: string;
  /**
   * `x-amz-checksum-sha256` as S3 stored it (base64; `<base64>-<parts>` for a multipart upload), or
   * undefined where the server keeps no checksum (s3rver).
   */
  readonly sha256?: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface PresignInput {
  readonly key: string;
  readonly size: number;
  /** Base64 SHA-256 of the body; signed into the request, so S3 refuses any other body. */
  readonly sha256Base64: string;
  readonly expiresInSeconds: number;
  /** Signing time (the handler's clock). */
  readonly signingDate: Date;
}

export interface UploadStore {
  presignPut(input: PresignInput): Promise<PresignedRequest>;
  presignPart(
    input: PresignInput & { readonly uploadId: string; readonly partNumber: number },
  ): Promise<PresignedRequest>;
  /** Starts a multipart upload with SHA-256 part checksums; resolves to its upload id. */
  createMultipart(key: string): Promise<string>;
  /**
   * Completes a multipart upload. Resolves to false when S3 refuses the part list (a part missing,
   * an ETag or checksum that does not match: InvalidPart, InvalidPartOrder, NoSuchUpload).
   */
  completeMultipart(input: {
    readonly key: string;
    readonly uploadId: string;
    readonly parts: readonly {
      readonly partNumber: number;
      readonly etag: string;
      readonly sha256Base64: string;
    }[];
  }): Promise<boolean>;
  /** Resolves to undefined when the object does not exist. */
  head(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** Streams the object and returns its SHA-256 in hex. */
  sha256Hex(bucket: string, key: string): Promise<string>;
  /** Resolves to undefined when the object does not exist. */
  getJson(bucket: string, key: string): Promise<unknown>;
  /**
   * Writes JSON. With `ifAbsent`, writes only when no object is at the key and resolves to false
   * when one was.
   */
  putJson(
    bucket: string,
    key: string,
    value: unknown,
    options?: { readonly ifAbsent?: boolean; readonly metadata?: Readonly<Record<string, string>> },
  ): Promise<boolean>;
  presignGet(bucket: string, key: string, expiresInSeconds: number, signingDate: Date): Promise<string>;
}
