import { describe, expect, it } from 'vitest';
import { classifyKey, manifestFileKey } from './batching.ts';
import { MANAGED_BATCH_ID_PATTERN } from './config.ts';

const classify = (key: string) => classifyKey(key, MANAGED_BATCH_ID_PATTERN);

describe('classifyKey', () => {
  it('sees a batch manifest', () => {
    expect(classify('incoming/b-123/manifest.json')).toEqual({ kind: 'manifest', batchId: 'b-123' });
    expect(classify('incoming/study-x/manifest.json')).toEqual({ kind: 'manifest', batchId: 'study-x' });
  });

  it('makes files of a managed batch wait for the manifest', () => {
    expect(classify('incoming/b-123/series/1.dcm')).toEqual({ kind: 'managed-file', batchId: 'b-123' });
  });

  it('treats files of any other folder as possibly loose, grouped by that folder', () => {
    expect(classify('incoming/export 1/a/b.dcm')).toEqual({
      kind: 'folder-file',
      folder: 'export 1',
      prefix: 'incoming/export 1/',
    });
    expect(classify('incoming/b-123/a/manifest.json')).toMatchObject({ kind: 'managed-file' });
  });

  it('groups files right under incoming/ together', () => {
    expect(classify('incoming/x.dcm')).toEqual({ kind: 'root-file', prefix: 'incoming/' });
  });

  it('ignores keys outside incoming/ and folder markers', () => {
    expect(classify('jobs/job-1.json')).toEqual({ kind: 'ignored' });
    expect(classify('incoming/folder/')).toEqual({ kind: 'ignored' });
    expect(classify('incomingx/a.dcm')).toEqual({ kind: 'ignored' });
  });
});

describe('manifestFileKey', () => {
  it('places a listed name inside its batch folder', () => {
    expect(manifestFileKey('b-1', 'series 1/img.dcm')).toBe('incoming/b-1/series 1/img.dcm');
  });

  it.each(['../b-2/x.dcm', '/abs.dcm', 'a//b.dcm', './x.dcm', 'manifest.json'])('refuses %s', (name) => {
    expect(manifestFileKey('b-1', name)).toBeUndefined();
  });
});
