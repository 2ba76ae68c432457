import { readFile, stat } from 'node:fs/promises';
import type { ObjectInfo, ObjectStore, PutOptions } from '@medimg/common';

/**
 * Inputs read straight from local paths (the "bucket" is ignored, the key is the path), with
 * everything written - quarantined originals above all - going to another store, so that nothing
 * is written next to the inputs. The raw store of `medimg process` and of the benchmark.
 */
export class LocalInputStore implements ObjectStore {
  constructor(private readonly writes: ObjectStore) {}

  async get(_bucket: string, file: string): Promise<Uint8Array> {
    const b = await readFile(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  getIfExists(bucket: string, file: string): Promise<Uint8Array | undefined> {
    return this.get(bucket, file).catch(() => undefined);
  }

  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    return this.writes.put(bucket, key, body, options);
  }

  async head(_bucket: string, file: string): Promise<ObjectInfo | undefined> {
    const s = await stat(file).catch(() => undefined);
    return s?.isFile() ? { key: file, size: s.size } : undefined;
  }
}
