import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from './fs-object-store.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

async function store(): Promise<{ root: string; store: FsObjectStore }> {
  const root = await mkdtemp(path.join(tmpdir(), 'medimg-fs-store-'));
  roots.push(root);
  return { root, store: new FsObjectStore(root) };
}

describe('FsObjectStore', () => {
  it('writes objects under their bucket folder, several to one folder', async () => {
    const { root, store: s } = await store();

    await s.put('processed', 'studies/a/series/b/1.dcm', 'one');
    await s.put('processed', 'studies/a/series/b/1.png', 'two');

    expect(await readFile(path.join(root, 'processed/studies/a/series/b/1.dcm'), 'utf8')).toBe('one');
    expect(new TextDecoder().decode(await s.get('processed', 'studies/a/series/b/1.png'))).toBe('two');
  });

  it('makes a folder again when it was removed after its first write', async () => {
    const { root, store: s } = await store();
    await s.put('processed', 'studies/a/x.json', '1');
    await rm(path.join(root, 'processed/studies'), { recursive: true });

    expect(await s.put('processed', 'studies/a/y.json', '2')).toBe(true);
    expect(await readFile(path.join(root, 'processed/studies/a/y.json'), 'utf8')).toBe('2');
  });

  it('writes once with ifNoneMatch and refuses a key that escapes its bucket', async () => {
    const { store: s } = await store();

    expect(await s.put('b', 'k', 'first', { ifNoneMatch: true })).toBe(true);
    expect(await s.put('b', 'k', 'second', { ifNoneMatch: true })).toBe(false);
    expect(new TextDecoder().decode(await s.get('b', 'k'))).toBe('first');
    await expect(s.put('b', '../other/k', 'x')).rejects.toThrow('key escapes its bucket');
  });
});
