import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { type LocalS3, startLocalS3 } from '@medimg/aws/testing';
import { type JobSpec, JobSpecSchema, MANIFEST_WRITER_METADATA, rawKeys } from '@medimg/common';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcsTaskRunner } from './adapters/ecs-task-runner.ts';
import { mapLimit } from './concurrency.ts';
import { triggerConfig } from './config.ts';
import { jobStartedKey } from './jobs.ts';
import { createLogger } from './logger.ts';
import { chunk, fixtureBody, s3NotificationBody, snsWrappedBody, sqsEvent } from './testing/events.ts';
import { RecordingTaskRunner } from './testing/fake-runner.ts';
import { createHandler, type SqsBatchHandler } from './trigger.ts';

let s3: LocalS3;
let runner: RecordingTaskRunner;
let logLines: string[];
let handle: SqsBatchHandler;

function makeHandler(overrides: Partial<Parameters<typeof triggerConfig>[0]> = {}): SqsBatchHandler {
  return createHandler({
    store: s3.store,
    runner,
    config: triggerConfig({ rawBucket: 'raw', ...overrides }),
    logger: createLogger({ level: 'debug', write: (line) => logLines.push(line) }),
  });
}

beforeEach(async () => {
  s3 = await startLocalS3('raw');
  runner = new RecordingTaskRunner();
  logLines = [];
  handle = makeHandler();
});

afterEach(async () => {
  await s3.close();
});

/** Uploads `count` files of distinct sizes under `incoming/<folder>/`; returns their keys and sizes. */
async function uploadFiles(folder: string, count: number, name = (i: number) => `series-1/img-${i}.dcm`) {
  const files = Array.from({ length: count }, (_, i) => ({
    key: `incoming/${folder}/${name(i)}`,
    body: `DICM-${folder}-${i}-${'x'.repeat(i % 7)}`,
  }));
  await mapLimit(files, 16, (f) => s3.put(f.key, f.body));
  return files.map((f) => ({ key: f.key, size: Buffer.byteLength(f.body) }));
}

/** What the upload API writes when it creates a batch (the trigger only checks that it exists). */
async function writeBatchRecord(batchId: string) {
  await s3.put(rawKeys.batchRecord(batchId), JSON.stringify({ version: 1, batchId }));
}

/**
 * Writes `incoming/<batchId>/manifest.json` listing the files (names relative to the batch folder),
 * as the upload API does (its writer metadata), unless `byApi` is false (a hand-written manifest).
 */
async function writeManifest(
  batchId: string,
  files: readonly { key: string; size: number }[],
  { byApi = true }: { byApi?: boolean } = {},
) {
  const prefix = `incoming/${batchId}/`;
  const manifest = {
    version: 1,
    batchId,
    completedAt: '2025-03-14T10:15:30.000Z',
    files: files.map((f) => ({ name: f.key.slice(prefix.length), size: f.size })),
  };
  if (byApi) await writeBatchRecord(batchId);
  await s3.put(
    rawKeys.manifest(batchId),
    JSON.stringify(manifest),
    byApi ? { [MANIFEST_WRITER_METADATA.key]: MANIFEST_WRITER_METADATA.value } : undefined,
  );
  return rawKeys.manifest(batchId);
}

async function readSpecs(): Promise<JobSpec[]> {
  const listed = await s3.list('jobs/');
  const specs = listed.filter((o) => /^jobs\/job-[0-9a-f]{24}\.json$/.test(o.key));
  return Promise.all(
    specs.map(async (o) => {
      const bytes = await s3.store.getIfExists('raw', o.key);
      return JobSpecSchema.parse(JSON.parse(Buffer.from(bytes!).toString('utf8')));
    }),
  );
}

async function deliver(events: SQSEvent[], h: SqsBatchHandler = handle): Promise<string[]> {
  const failures: string[] = [];
  for (const e of events) {
    const res = await h(e);
    failures.push(...res.batchItemFailures.map((f) => f.itemIdentifier));
  }
  return failures;
}

/** A deterministic shuffle (the order S3 events arrive in is not the upload order). */
function shuffle<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('manifest batches', () => {
  it('starts exactly one task per manifest for three batches of 100 files delivered in mixed SQS batches', async () => {
    const batches = ['b-2025a', 'b-2025b', 'b-2025c'];
    const bodies: string[] = [];
    const uploaded = new Map<string, { key: string; size: number }[]>();
    for (const batchId of batches) {
      const files = await uploadFiles(batchId, 100);
      uploaded.set(batchId, files);
      const manifestKey = await writeManifest(batchId, files);
      bodies.push(...files.map((f) => s3NotificationBody({ key: f.key, size: f.size })));
      bodies.push(s3NotificationBody({ key: manifestKey }));
    }
    const events = chunk(shuffle(bodies), 10).map((c) => sqsEvent(c));

    const failures = await deliver(events);

    expect(failures).toEqual([]);
    expect(events.length).toBeGreaterThan(3);
    expect(runner.calls).toHaveLength(3);
    const specs = await readSpecs();
    expect(specs.map((s) => s.batchId).sort()).toEqual(batches);
    for (const spec of specs) {
      expect(spec.source).toBe('manifest');
      const expected = uploaded.get(spec.batchId!)!;
      expect(spec.objects.map((o) => [o.key, o.size]).sort()).toEqual(
        expected.map((f) => [f.key, f.size]).sort(),
      );
      expect(spec.objects.every((o) => typeof o.etag === 'string' && o.etag.length > 0)).toBe(true);
      expect(runner.calls).toContainEqual({
        jobId: spec.jobId,
        jobSpecUri: `s3://raw/jobs/${spec.jobId}.json`,
      });
      expect(await s3.store.head('raw', jobStartedKey(spec.jobId))).toBeDefined();
    }
  });

  it('starts nothing for the files of a managed batch before its manifest arrives', async () => {
    await writeBatchRecord('b-early');
    const files = await uploadFiles('b-early', 5);

    const failures = await deliver([
      sqsEvent(files.map((f) => s3NotificationBody({ key: f.key, size: f.size }))),
    ]);

    expect(failures).toEqual([]);
    expect(runner.calls).toHaveLength(0);
    expect(await readSpecs()).toEqual([]);
  });

  it('starts nothing for a manifest the upload API did not write, and keeps its files on the loose path', async () => {
    const files = await uploadFiles('study-x', 4);
    const manifestKey = await writeManifest('study-x', files, { byApi: false });

    const failures = await deliver([
      sqsEvent([s3NotificationBody({ key: manifestKey })]),
      sqsEvent(files.map((f) => s3NotificationBody({ key: f.key, size: f.size }))),
    ]);

    expect(failures).toEqual([]);
    expect(runner.calls).toHaveLength(1);
    const [spec] = await readSpecs();
    expect(spec).toMatchObject({ source: 'prefix' });
    expect(spec?.objects.map((o) => o.key).sort()).toEqual(files.map((f) => f.key).sort());
    expect(logLines.some((l) => JSON.parse(l).code === 'MANIFEST_UNMANAGED')).toBe(true);
  });

  it('ignores a hand-written manifest in a batch-id folder, even one that looks managed', async () => {
    const files = await uploadFiles('b-by-hand', 2);
    const manifestKey = await writeManifest('b-by-hand', files, { byApi: false });

    const failures = await deliver([sqsEvent([s3NotificationBody({ key: manifestKey })])]);

    expect(failures).toEqual([]);
    expect(runner.calls).toHaveLength(0);
  });

  it('treats files in a batch-id folder the upload API never issued as loose', async () => {
    const files = await uploadFiles('b-copied-by-hand', 3);

    await deliver([sqsEvent(files.map((f) => s3NotificationBody({ key: f.key, size: f.size })))]);

    expect(runner.calls).toHaveLength(1);
    const [spec] = await readSpecs();
    expect(spec).toMatchObject({ source: 'prefix' });
    expect(spec?.objects).toHaveLength(3);
  });

  it('starts no second task when the same manifest event is delivered again', async () => {
    const files = await uploadFiles('b-twice', 3);
    const body = s3NotificationBody({ key: await writeManifest('b-twice', files) });

    await deliver([sqsEvent([body])]);
    const failures = await deliver([sqsEvent([body]), sqsEvent([body, body])]);

    expect(failures).toEqual([]);
    expect(runner.calls).toHaveLength(1);
    expect(await readSpecs()).toHaveLength(1);
  });

  it('fails only the message whose manifest lists a missing file', async () => {
    const good = await uploadFiles('b-good', 2);
    const partial = await uploadFiles('b-partial', 2);
    const listed = [...partial, { key: 'incoming/b-partial/series-1/never-uploaded.dcm', size: 10 }];
    const event = sqsEvent(
      [
        s3NotificationBody({ key: await writeManifest('b-good', good) }),
        s3NotificationBody({ key: await writeManifest('b-partial', listed) }),
      ],
      ['msg-good', 'msg-partial'],
    );

    const res = await handle(event);

    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'msg-partial' }]);
    expect(runner.calls).toHaveLength(1);
    expect((await readSpecs()).map((s) => s.batchId)).toEqual(['b-good']);
    expect(logLines.some((l) => JSON.parse(l).code === 'BATCH_INCOMPLETE')).toBe(true);
  });

  it('fails the message whose manifest announces another size than the stored file', async () => {
    const files = await uploadFiles('b-size', 2);
    const manifestKey = await writeManifest('b-size', [
      files[0]!,
      { ...files[1]!, size: files[1]!.size + 1 },
    ]);

    const res = await handle(sqsEvent([s3NotificationBody({ key: manifestKey })], ['msg-size']));

    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'msg-size' }]);
    expect(runner.calls).toHaveLength(0);
  });

  it('fails the message whose manifest is not valid', async () => {
    await s3.put(
      'incoming/b-bad/manifest.json',
      JSON.stringify({ version: 1, batchId: 'b-other', files: [] }),
      { [MANIFEST_WRITER_METADATA.key]: MANIFEST_WRITER_METADATA.value },
    );

    const res = await handle(
      sqsEvent([s3NotificationBody({ key: 'incoming/b-bad/manifest.json' })], ['msg-bad']),
    );

    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'msg-bad' }]);
    expect(logLines.some((l) => JSON.parse(l).code === 'MANIFEST_INVALID')).toBe(true);
  });
});

describe('loose objects', () => {
  it('groups 300 loose files of one folder into one job per SQS batch, each file in exactly one spec', async () => {
    const files = await uploadFiles('pacs-export', 300);
    const events = chunk(
      files.map((f) => s3NotificationBody({ key: f.key, size: f.size })),
      10,
    ).map((c) => sqsEvent(c));

    const failures = await deliver(events);

    expect(failures).toEqual([]);
    expect(runner.calls.length).toBeGreaterThan(0);
    expect(runner.calls.length).toBeLessThanOrEqual(events.length);
    const specs = await readSpecs();
    expect(specs).toHaveLength(runner.calls.length);
    const seen = specs.flatMap((s) => s.objects.map((o) => o.key));
    expect(seen.sort()).toEqual(files.map((f) => f.key).sort());
    expect(new Set(seen).size).toBe(300);
    expect(specs.every((s) => s.source === 'prefix' && s.batchId === undefined)).toBe(true);
  });

  it('starts one job per folder when a batching window hands over 100 records at a time', async () => {
    const files = await uploadFiles('pacs-export', 300);
    const events = chunk(
      files.map((f) => s3NotificationBody({ key: f.key, size: f.size })),
      100,
    ).map((c) => sqsEvent(c));

    await deliver(events);

    expect(runner.calls).toHaveLength(3);
  });

  it('makes one job per folder within one SQS batch, and one for files right under incoming/', async () => {
    const a = await uploadFiles('folder-a', 3);
    const b = await uploadFiles('folder-b', 2);
    await s3.put('incoming/lonely.dcm', 'DICM');
    const bodies = [...a, ...b].map((f) => s3NotificationBody({ key: f.key, size: f.size }));
    bodies.push(s3NotificationBody({ key: 'incoming/lonely.dcm', size: 4 }));

    await deliver([sqsEvent(bodies)]);

    const sizes = (await readSpecs()).map((s) => s.objects.length).sort();
    expect(sizes).toEqual([1, 2, 3]);
  });

  it('starts no second task when the same SQS batch of loose events is delivered again', async () => {
    const files = await uploadFiles('again', 10);
    const event = sqsEvent(files.map((f) => s3NotificationBody({ key: f.key, size: f.size })));

    await deliver([event]);
    const failures = await deliver([event]);

    expect(failures).toEqual([]);
    expect(runner.calls).toHaveLength(1);
  });

  it('finds a key with spaces, "+" and non-ASCII characters from the real event encoding', async () => {
    const key = 'incoming/loose study/CT scan+1 été.dcm';
    await s3.put(key, 'DICM-encoded');

    const res = await handle(sqsEvent([fixtureBody('s3-object-created.json')]));

    expect(res.batchItemFailures).toEqual([]);
    const [spec] = await readSpecs();
    expect(spec?.objects).toEqual([expect.objectContaining({ key, size: 12 })]);
  });

  it('finds the key from an event s3rver itself emitted when key decoding is off', async () => {
    const emitted: unknown[] = [];
    s3.server.onEvent((e: unknown) => emitted.push(e));
    const key = 'incoming/loose study/CT scan+1 été.dcm';
    await s3.put(key, 'DICM-local');

    const bodies = emitted.map((e) => JSON.stringify(e));

    const res = await makeHandler({ keysUrlEncoded: false })(sqsEvent(bodies));

    expect(bodies).toHaveLength(1);
    expect(res.batchItemFailures).toEqual([]);
    const [spec] = await readSpecs();
    expect(spec?.objects.map((o) => o.key)).toEqual([key]);
  });

  it('starts nothing for a loose object deleted before its event is handled', async () => {
    const res = await handle(sqsEvent([s3NotificationBody({ key: 'incoming/gone/a.dcm', size: 3 })]));

    expect(res.batchItemFailures).toEqual([]);
    expect(runner.calls).toHaveLength(0);
  });
});

describe('other messages', () => {
  it('ignores an s3:TestEvent, a removal, keys outside incoming/ and other buckets', async () => {
    await s3.put('jobs/whatever.json', '{}');
    const event = sqsEvent([
      fixtureBody('s3-test-event.json'),
      fixtureBody('s3-object-removed.json'),
      s3NotificationBody({ key: 'jobs/whatever.json', size: 2 }),
      s3NotificationBody({ key: 'incoming/x/a.dcm', bucket: 'another-bucket' }),
    ]);

    const res = await handle(event);

    expect(res.batchItemFailures).toEqual([]);
    expect(runner.calls).toHaveLength(0);
    expect(await readSpecs()).toEqual([]);
  });

  it('unwraps an S3 event delivered through SNS', async () => {
    await s3.put('incoming/via-sns/a.dcm', 'DICM');

    await handle(sqsEvent([snsWrappedBody(s3NotificationBody({ key: 'incoming/via-sns/a.dcm', size: 4 }))]));

    expect(runner.calls).toHaveLength(1);
  });

  it('fails only a message whose body is not an S3 event', async () => {
    await s3.put('incoming/fine/a.dcm', 'DICM');
    const event = sqsEvent(
      ['not json', '{"Records": "nope"}', s3NotificationBody({ key: 'incoming/fine/a.dcm' })],
      ['m-text', 'm-shape', 'm-fine'],
    );

    const res = await handle(event);

    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m-shape', 'm-text']);
    expect(runner.calls).toHaveLength(1);
  });
});

describe('task start failures', () => {
  it('keeps the spec after a failed start and starts the task once on the next delivery', async () => {
    const files = await uploadFiles('b-retry', 2);
    const event = sqsEvent([s3NotificationBody({ key: await writeManifest('b-retry', files) })], ['m-1']);
    runner.failNext = 1;

    const first = await handle(event);
    const [spec] = await readSpecs();
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(await s3.store.head('raw', jobStartedKey(spec!.jobId))).toBeUndefined();

    const second = await handle(event);
    const third = await handle(event);

    expect(second.batchItemFailures).toEqual([]);
    expect(third.batchItemFailures).toEqual([]);
    expect(runner.calls.map((c) => c.jobId)).toEqual([spec!.jobId, spec!.jobId]);
    expect(logLines.some((l) => JSON.parse(l).message === 'job resumed')).toBe(true);
  });
});

describe('with the ECS adapter', () => {
  it('puts only the records of the job ECS has no capacity for into batchItemFailures', async () => {
    const client = new ECSClient({ region: 'us-east-1' });
    const ecs = mockClient(client);
    ecs
      .on(RunTaskCommand)
      .callsFake(
        async (input: { overrides?: { containerOverrides?: { environment?: { value?: string }[] }[] } }) => {
          // Decide by the job's own spec: the batch `b-nocap` never gets capacity.
          const uri = input.overrides?.containerOverrides?.[0]?.environment?.[0]?.value ?? '';
          const bytes = await s3.store.getIfExists('raw', uri.replace('s3://raw/', ''));
          const spec = JobSpecSchema.parse(JSON.parse(Buffer.from(bytes!).toString('utf8')));
          return spec.batchId === 'b-nocap'
            ? {
                tasks: [],
                failures: [
                  {
                    reason:
                      'Capacity is unavailable at this time. Please try again later or in a different availability zone',
                  },
                ],
              }
            : { tasks: [{ taskArn: `arn:aws:ecs:us-east-1:123456789012:task/medimg/${spec.jobId}` }] };
        },
      );
    const ecsRunner = new EcsTaskRunner(
      {
        clusterArn: 'medimg',
        taskDefinitionArn: 'medimg-worker:1',
        containerName: 'worker',
        subnetIds: ['subnet-0a1b2c3d'],
        securityGroupIds: ['sg-0123abcd'],
        assignPublicIp: 'DISABLED',
      },
      { client, maxAttempts: 3, sleep: async () => {} },
    );
    const h = createHandler({
      store: s3.store,
      runner: ecsRunner,
      config: triggerConfig({ rawBucket: 'raw' }),
    });
    const ok = await uploadFiles('b-ok', 2);
    const nocap = await uploadFiles('b-nocap', 2);
    const event = sqsEvent(
      [
        s3NotificationBody({ key: await writeManifest('b-ok', ok) }),
        s3NotificationBody({ key: await writeManifest('b-nocap', nocap) }),
        s3NotificationBody({ key: await writeManifest('b-nocap', nocap) }),
      ],
      ['m-ok', 'm-nocap-1', 'm-nocap-2'],
    );

    const res = await h(event);

    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m-nocap-1', 'm-nocap-2']);
    // One call for b-ok, three bounded attempts for b-nocap.
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(4);
    ecs.restore();
  });
});

describe('logs', () => {
  it('writes JSON lines with counts and job ids, never a key or a folder name', async () => {
    const files = await uploadFiles('DOE^JANE 19700101', 2, (i) => `MRN12345-${i}.dcm`);
    await handle(
      sqsEvent([
        ...files.map((f) => s3NotificationBody({ key: f.key, size: f.size })),
        s3NotificationBody({ key: 'incoming/DOE^JANE 19700101/MRN12345-missing.dcm' }),
        'not json',
      ]),
    );

    expect(runner.calls).toHaveLength(1);
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toMatch(/DOE|JANE|1970|MRN12345|incoming/);
      const entry = JSON.parse(line);
      expect(entry).toEqual(expect.objectContaining({ level: expect.any(String), time: expect.any(String) }));
    }
    const summary = logLines.map((l) => JSON.parse(l)).find((e) => e.message === 'batch handled');
    expect(summary.counts).toEqual(
      expect.objectContaining({ records: 4, loose: 3, looseGone: 1, started: 1 }),
    );
  });
});
