/**
 * The object-store port: where the worker reads raw uploads and writes its outputs, and where the
 * trigger reads manifests and writes job specs. Implemented on S3 by @medimg/aws and on a local
 * folder by the worker's CLI adapter. No SDK here.
 */
import { CodedError } from './errors.ts';

export interface PutOptions {
  readonly contentType?: string;
  /** Write only when no object exists at the key (S3 `If-None-Match: *`). Returns false when one did. */
  readonly ifNoneMatch?: boolean;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** Without the surrounding quotes S3 puts in the `ETag` header. */
  readonly etag?: string;
  /** Absent when the bucket is not versioned. */
  readonly versionId?: string;
}

export interface ObjectStore {
  /** Throws ObjectStoreError NOT_FOUND when the object does not exist. */
  get(bucket: string, key: string): Promise<Uint8Array>;
  /** Resolves to undefined when the object does not exist. */
  getIfExists(bucket: string, key: string): Promise<Uint8Array | undefined>;
  /** Resolves to true when written, false when `ifNoneMatch` was set and the object already existed. */
  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean>;
  /** Resolves to undefined when the object does not exist. */
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
}

export type ObjectStoreErrorCode = 'NOT_FOUND' | 'ACCESS_DENIED' | 'STORE_UNAVAILABLE' | 'STORE_ERROR';

/** Adapters turn their SDK's exceptions into this. The message never holds a key. */
export class ObjectStoreError extends CodedError<ObjectStoreErrorCode> {
  override readonly name = 'ObjectStoreError';
}
