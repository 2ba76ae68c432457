/**
 * Upload batching through the real emulators (s3rver events -> fauxqs SQS -> the trigger handler ->
 * the local task runner -> the worker): one task per upload batch, a handful for loose objects,
 * none for a duplicated event, and keys with spaces, '+' and non-ASCII characters found.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { type JobSpec, rawKeys } from '@medimg/common';
import { buildFileMeta, getString, parseDicom, stringElement, T, writePart10 } from '@medimg/dicom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../local/pipeline.ts';
import { awsEncodeKey } from '../local/s3-event-bridge.ts';
import { REPO_ROOT, taskProblems } from '../local/task-runner.ts';
import { listFiles, newBatchId, uploadBatch } from '../local/uploader.ts';

const MR_SERIES = path.join(REPO_ROOT, 'sample-dicom/studies/mr-head');

/**
 * A copy of a sample with its own study, series and instance UIDs, so that every uploaded file is
 * a distinct object (as in a real upload) rather than the same instance written many times over.
 */
function distinctCopy(source: Uint8Array, study: string, series: string, instance: string): Uint8Array {
  const file = parseDicom(source);
  const dataset = new Map(file.dataset);
  const suffixed = (t: number, suffix: string) => `${getString(file.dataset, t)}.${suffix}`;
  const sop = suffixed(T.SOPInstanceUID, instance);
  dataset.set(
    T.StudyInstanceUID,
    stringElement(T.StudyInstanceUID, 'UI', suffixed(T.StudyInstanceUID, study)),
  );
  dataset.set(
    T.SeriesInstanceUID,
    stringElement(T.SeriesInstanceUID, 'UI', suffixed(T.SeriesInstanceUID, series)),
  );
  dataset.set(T.SOPInstanceUID, stringElement(T.SOPInstanceUID, 'UI', sop));
  const meta = buildFileMeta({
    sopClassUid: getString(file.dataset, T.SOPClassUID)!,
    sopInstanceUid: sop,
    transferSyntaxUid: file.transferSyntax.uid,
  });
  return writePart10({ ...file, meta, dataset });
}

describe('upload batching through the emulators', () => {
  let dataDir: string;
  let pipeline: LocalPipeline;
  let sources: Uint8Array[];
  let uploads = 0;

  const spec = (jobId: string) =>
    pipeline.getJson<JobSpec>(pipeline.servers.names.rawBucket, rawKeys.jobSpec(jobId));
  const status = (jobId: string) => pipeline.jobStatus(jobId);
  /** n distinct files in a temp folder, made from the MR series: one study per folder. */
  const folderOf = async (n: number, name: (i: number) => string) => {
    const dir = await mkdtemp(path.join(dataDir, 'upload-'));
    const study = String(++uploads);
    for (let i = 0; i < n; i++) {
      const file = path.join(dir, name(i));
      await mkdir(path.dirname(file), { recursive: true });
      const source = sources[i % sources.length]!;
      await writeFile(
        file,
        distinctCopy(source, study, String(Math.floor(i / sources.length) + 1), String(i + 1)),
      );
    }
    return dir;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'medimg-batching-'));
    sources = await Promise.all(
      (await listFiles(MR_SERIES)).map(async (f) => new Uint8Array(await readFile(f))),
    );
    // A wide batching window (AWS: 20 s), so that a slow machine's uploads still fall in a few windows.
    pipeline = await startLocalPipeline({ dataDir, batchingWindowMs: 5000 });
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts three tasks, not three hundred, for three upload batches of 100 files', async () => {
    const dirs = await Promise.all([0, 1, 2].map(() => folderOf(100, (i) => `slice-${i}.dcm`)));
    await Promise.all(
      dirs.map(async (dir) => pipeline.upload(dir, { files: await listFiles(dir), batchId: newBatchId() })),
    );
    await pipeline.settle();
    expect(pipeline.runner.tasks).toHaveLength(3);
    for (const task of pipeline.runner.tasks) {
      expect(task.exitCode, await taskProblems(task)).toBe(0);
      const record = await status(task.jobId);
      expect(record.counts).toMatchObject({ inputs: 100, processed: 100, quarantined: 0, failed: 0 });
    }
    // Counted on s3rver's disk: its ListObjectsV2 answers InternalError once a prefix holds more
    // than a thousand keys (seen with 1,100; here 1,200 objects).
    const instances = (
      await listFiles(path.join(pipeline.dirs.s3, pipeline.servers.names.processedBucket, 'studies'))
    ).filter((f) => f.endsWith('.dcm._S3rver_object'));
    expect(instances.length).toBe(300);
  }, 300_000);

  it('starts no extra task when the manifest event is delivered again', async () => {
    const before = pipeline.runner.tasks.length;
    const first = await spec(pipeline.runner.tasks[0]!.jobId);
    const manifestKey = rawKeys.manifest(first.batchId!);
    const body = {
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: pipeline.servers.names.rawBucket },
            object: { key: awsEncodeKey(manifestKey) },
          },
        },
      ],
    };
    await pipeline.servers.sqs.send(
      new SendMessageCommand({
        QueueUrl: pipeline.servers.intakeQueueUrl,
        MessageBody: JSON.stringify(body),
      }),
    );
    await pipeline.settle();
    expect(pipeline.runner.tasks).toHaveLength(before);
  }, 120_000);

  it('starts a handful of tasks for 300 loose files copied into one folder, each file processed once', async () => {
    const before = pipeline.runner.tasks.length;
    const dir = await folderOf(300, (i) => `scan-${String(i).padStart(3, '0')}.dcm`);
    const files = await listFiles(dir);
    // As `aws s3 cp --recursive` does: plain PUTs, no manifest, into a folder that is not a batch id.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < files.length) {
          const file = files[next++]!;
          await pipeline.servers.s3.send(
            new PutObjectCommand({
              Bucket: pipeline.servers.names.rawBucket,
              Key: `incoming/pacs-export/${path.basename(file)}`,
              Body: await readFile(file),
            }),
          );
        }
      }),
    );
    await pipeline.settle();
    const tasks = pipeline.runner.tasks.slice(before);
    expect(tasks.length).toBeGreaterThanOrEqual(1);
    expect(tasks.length).toBeLessThanOrEqual(5);
    const seen = new Map<string, number>();
    for (const task of tasks) {
      expect(task.exitCode, await taskProblems(task)).toBe(0);
      for (const o of (await spec(task.jobId)).objects) seen.set(o.key, (seen.get(o.key) ?? 0) + 1);
      expect((await status(task.jobId)).counts.failed).toBe(0);
    }
    expect(seen.size).toBe(300);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  }, 300_000);

  it('finds keys with spaces, "+" and non-ASCII characters', async () => {
    const before = pipeline.runner.tasks.length;
    const dir = await folderOf(
      3,
      (i) => [`Série 1/coupe ${i}.dcm`, `a+b/c+d ${i}.dcm`, `Zoë Müller/ß ${i}.dcm`][i]!,
    );
    await uploadBatch({
      s3: pipeline.servers.s3,
      bucket: pipeline.servers.names.rawBucket,
      root: dir,
      files: await listFiles(dir),
    });
    await pipeline.settle();
    const [task] = pipeline.runner.tasks.slice(before);
    expect(task?.exitCode, await taskProblems(task!)).toBe(0);
    const jobSpec = await spec(task!.jobId);
    expect(jobSpec.objects.map((o) => o.key.split('/').slice(2).join('/')).sort()).toEqual(
      ['Série 1/coupe 0.dcm', 'a+b/c+d 1.dcm', 'Zoë Müller/ß 2.dcm'].sort(),
    );
    expect((await status(task!.jobId)).counts).toMatchObject({ inputs: 3, processed: 3, failed: 0 });
  }, 120_000);
});
