/**
 * The handler's phases one by one, as pure functions of their input (batching.test.ts style). The
 * handler as a whole runs against a real S3 server in handler.test.ts.
 */
import type { ObjectInfo, ObjectStore } from '@medimg/common';
import { describe, expect, it } from 'vitest';
import { triggerConfig } from './config.ts';
import type { JobPlan } from './jobs.ts';
import { fixtureBody, s3NotificationBody, sqsEvent } from './testing/events.ts';
import { classifyRecords, newBatchCounts, planWork, resolveFolders, type SortedEvents } from './trigger.ts';

const config = triggerConfig({ rawBucket: 'raw' });

/** Heads answer from a fixed set of keys; a key in `broken` fails the call. */
const headOnly = (present: readonly string[], broken: readonly string[] = []): ObjectStore => ({
  head: async (_bucket, key): Promise<ObjectInfo | undefined> => {
    if (broken.includes(key)) throw Object.assign(new Error('boom'), { code: 'STORE_UNAVAILABLE' });
    return present.includes(key) ? { key, size: 1 } : undefined;
  },
  get: async () => Promise.reject(new Error('not used')),
  getIfExists: async () => Promise.reject(new Error('not used')),
  put: async () => Promise.reject(new Error('not used')),
});

describe('classifyRecords', () => {
  it('sorts object events into manifests, folder files, loose files and rejected messages', () => {
    const event = sqsEvent(
      [
        s3NotificationBody({ key: 'incoming/b-1/manifest.json' }, { key: 'incoming/b-1/a.dcm' }),
        s3NotificationBody({ key: 'incoming/export/x.dcm' }, { key: 'incoming/y.dcm' }),
        s3NotificationBody({ key: 'incoming/other.dcm', bucket: 'elsewhere' }),
        fixtureBody('s3-test-event.json'),
        'not json',
      ],
      ['m1', 'm2', 'm3', 'm4', 'm5'],
    );
    const counts = newBatchCounts(event.Records.length);

    const sorted = classifyRecords(event.Records, config, counts);

    expect([...sorted.manifests]).toEqual([['b-1', new Set(['m1'])]]);
    expect([...sorted.folderFiles]).toEqual([
      ['export', new Map([['incoming/export/x.dcm', new Set(['m2'])]])],
    ]);
    expect([...sorted.looseGroups]).toEqual([['incoming/', new Map([['incoming/y.dcm', new Set(['m2'])]])]]);
    expect(sorted.rejected).toEqual([{ messageId: 'm5', code: 'EVENT_INVALID' }]);
    expect(counts).toMatchObject({
      objectEvents: 5,
      manifests: 1,
      awaitingManifest: 1,
      otherBucket: 1,
      testEvents: 1,
      invalidRecords: 1,
    });
  });
});

describe('resolveFolders', () => {
  const sortedWith = (folder: string, keys: readonly string[]): SortedEvents => ({
    manifests: new Map(),
    folderFiles: new Map([[folder, new Map(keys.map((k, i) => [k, new Set([`m${i}`])]))]]),
    looseGroups: new Map(),
    rejected: [],
  });

  it('counts the files of a folder with a manifest as covered', async () => {
    const sorted = sortedWith('export', ['incoming/export/a.dcm', 'incoming/export/b.dcm']);
    const counts = newBatchCounts(2);

    const failures = await resolveFolders(
      sorted,
      { store: headOnly(['incoming/export/manifest.json']), bucket: 'raw', headConcurrency: 2 },
      counts,
    );

    expect(failures).toEqual([]);
    expect(counts.covered).toBe(2);
    expect(sorted.looseGroups.size).toBe(0);
  });

  it('makes the files of a folder without a manifest loose, grouped by the folder', async () => {
    const sorted = sortedWith('export', ['incoming/export/a.dcm']);

    await resolveFolders(
      sorted,
      { store: headOnly([]), bucket: 'raw', headConcurrency: 2 },
      newBatchCounts(1),
    );

    expect([...sorted.looseGroups.keys()]).toEqual(['incoming/export/']);
  });

  it('hands back the messages of a folder whose manifest check failed, with the code', async () => {
    const sorted = sortedWith('export', ['incoming/export/a.dcm', 'incoming/export/b.dcm']);

    const failures = await resolveFolders(
      sorted,
      { store: headOnly([], ['incoming/export/manifest.json']), bucket: 'raw', headConcurrency: 2 },
      newBatchCounts(2),
    );

    expect(failures).toEqual([{ messageIds: new Set(['m0', 'm1']), objects: 2, code: 'STORE_UNAVAILABLE' }]);
  });
});

describe('planWork', () => {
  it('plans one job per manifest and one per loose group, each with the messages that feed it', async () => {
    const sorted: SortedEvents = {
      manifests: new Map([['b-1', new Set(['m1'])]]),
      folderFiles: new Map(),
      looseGroups: new Map([
        [
          'incoming/',
          new Map([
            ['incoming/x.dcm', new Set(['m2'])],
            ['incoming/y.dcm', new Set(['m2', 'm3'])],
          ]),
        ],
      ]),
      rejected: [],
    };
    const asked: string[] = [];
    const plan: JobPlan = { source: 'prefix', objects: [] };
    const counts = newBatchCounts(3);

    const work = planWork(
      sorted,
      {
        manifest: async (batchId) => {
          asked.push(`manifest ${batchId}`);
          return plan;
        },
        loose: async (keys) => {
          asked.push(`loose ${keys.join(',')}`);
          return plan;
        },
      },
      counts,
    );
    for (const w of work) await w.plan();

    expect(work.map((w) => [w.source, [...w.messageIds]])).toEqual([
      ['manifest', ['m1']],
      ['prefix', ['m2', 'm3']],
    ]);
    expect(asked).toEqual(['manifest b-1', 'loose incoming/x.dcm,incoming/y.dcm']);
    expect(counts.loose).toBe(2);
  });
});
