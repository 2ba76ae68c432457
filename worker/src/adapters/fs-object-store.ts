import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ObjectInfo, type ObjectStore, ObjectStoreError, type PutOptions } from '@medimg/common';
import type { LinkSigner } from '../ports/link-signer.port.ts';

/**
 * A folder per bucket on the local disk: the store of `medimg process`, which needs no server.
 * Keys are validated so that none escapes its bucket folder.
 */
export class FsObjectStore implements ObjectStore, LinkSigner {
  /**
   * Folders this store made or found (a study's series folder holds four files per instance: one
   * mkdir for them all, not one per file; a file of 300 slices makes 1,200 writes).
   */
  private readonly folders = new Set<string>();

  constructor(private readonly root: string) {}

  private pathOf(bucket: string, key: string): string {
    const base = path.resolve(this.root, bucket);
    const full = path.resolve(base, key);
    if (!full.startsWith(base + path.sep))
      throw new ObjectStoreError('STORE_ERROR', 'key escapes its bucket');
    return full;
  }

  /** The file's own path on this machine (a local link does not expire). */
  pathOfObject(bucket: string, key: string): string {
    return this.pathOf(bucket, key);
  }

  /** A `file://` URL: links in local notifications point at the files themselves. */
  async signGet(bucket: string, key: string): Promise<string> {
    return pathToFileURL(this.pathOf(bucket, key)).href;
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    const found = await this.getIfExists(bucket, key);
    if (!found) throw new ObjectStoreError('NOT_FOUND', 'get: no such object');
    return found;
  }

  async getIfExists(bucket: string, key: string): Promise<Uint8Array | undefined> {
    try {
      const b = await readFile(this.pathOf(bucket, key));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ObjectStoreError('STORE_ERROR', 'get: read failed', { cause: error });
    }
  }

  async put(
    bucket: string,
    key: string,
    body: Uint8Array | string,
    options: PutOptions = {},
  ): Promise<boolean> {
    const file = this.pathOf(bucket, key);
    const dir = path.dirname(file);
    const flag = options.ifNoneMatch ? 'wx' : 'w';
    if (!this.folders.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.folders.add(dir);
    }
    try {
      try {
        await writeFile(file, body, { flag });
      } catch (error) {
        // The folder was removed since it was made here: made again, written once more.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await mkdir(dir, { recursive: true });
        await writeFile(file, body, { flag });
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new ObjectStoreError('STORE_ERROR', 'put: write failed', { cause: error });
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.pathOf(bucket, key));
      return s.isFile() ? { key, size: s.size } : undefined;
    } catch {
      return undefined;
    }
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const base = path.resolve(this.root, bucket);
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else {
          const key = path.relative(base, full).split(path.sep).join('/');
          if (key.startsWith(prefix)) out.push({ key, size: (await stat(full)).size });
        }
      }
    };
    await walk(base);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
}
