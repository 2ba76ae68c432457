/** Where the worker reads raw uploads and writes its outputs. Implemented by S3 and by a local folder. */
export interface PutOptions {
  readonly contentType?: string;
  /** Write only when no object exists at the key (S3 `If-None-Match: *`). Returns false when one did. */
  readonly ifNoneMatch?: boolean;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
}

export interface ObjectStore {
  get(bucket: string, key: string): Promise<Uint8Array>;
  /** Resolves to undefined when the object does not exist. */
  getIfExists(bucket: string, key: string): Promise<Uint8Array | undefined>;
  /** Resolves to true when written, false when `ifNoneMatch` was set and the object already existed. */
  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean>;
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  list(bucket: string, prefix: string): Promise<ObjectInfo[]>;
}

export type ObjectStoreErrorCode = 'NOT_FOUND' | 'ACCESS_DENIED' | 'STORE_UNAVAILABLE' | 'STORE_ERROR';

/** Adapters turn their SDK's exceptions into this. The message never holds a key. */
export class ObjectStoreError extends Error {
  override readonly name = 'ObjectStoreError';
  constructor(
    readonly code: ObjectStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
