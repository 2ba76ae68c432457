import { pathToFileURL } from 'node:url';
import type { ObjectInfo, ObjectStore, PutOptions } from '@medimg/common';
import type { LinkSigner } from '../ports/link-signer.port.ts';
import type { FsObjectStore } from './fs-object-store.ts';

/**
 * The pipeline's buckets mapped to folders (`medimg process`): the processed bucket to the
 * shareable --out folder, the linkage store and the quarantined originals to the restricted one,
 * so that what may be shared is never mixed with what may not. Links are `file://` URLs.
 */
export class FolderStore implements ObjectStore, LinkSigner {
  constructor(private readonly folders: Readonly<Record<string, { store: FsObjectStore; bucket: string }>>) {}

  private target(bucket: string) {
    const t = this.folders[bucket];
    if (!t) throw new Error(`no folder for bucket ${bucket}`);
    return t;
  }

  /** The file that holds an object. */
  pathOf(bucket: string, key: string): string {
    const t = this.target(bucket);
    return t.store.pathOfObject(t.bucket, key);
  }

  async signGet(bucket: string, key: string): Promise<string> {
    return pathToFileURL(this.pathOf(bucket, key)).href;
  }

  get(bucket: string, key: string): Promise<Uint8Array> {
    const t = this.target(bucket);
    return t.store.get(t.bucket, key);
  }

  getIfExists(bucket: string, key: string): Promise<Uint8Array | undefined> {
    const t = this.target(bucket);
    return t.store.getIfExists(t.bucket, key);
  }

  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    const t = this.target(bucket);
    return t.store.put(t.bucket, key, body, options);
  }

  head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const t = this.target(bucket);
    return t.store.head(t.bucket, key);
  }

  list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const t = this.target(bucket);
    return t.store.list(t.bucket, prefix);
  }
}
