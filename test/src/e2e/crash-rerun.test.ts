/**
 * A task killed between the store and notify steps, then the same job run again: every output is
 * there exactly once and the clinicians get exactly one notification (issue: job lifecycle).
 */

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WORKER_ENV } from '@medimg/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../local/pipeline.ts';
import { REPO_ROOT } from '../local/task-runner.ts';
import { listFiles } from '../local/uploader.ts';

const CT_STUDY = path.join(REPO_ROOT, 'sample-dicom/studies/ct-chest');

describe('a worker killed between store and notify, then run again', () => {
  let dataDir: string;
  let pipeline: LocalPipeline;
  let files: string[];

  const processed = () => pipeline.servers.names.processedBucket;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'medimg-crash-'));
    pipeline = await startLocalPipeline({ dataDir });
    files = await listFiles(CT_STUDY);
    pipeline.runner.extraEnvironment = { [WORKER_ENV.MEDIMG_FAULT_EXIT_AFTER_STEP]: 'store' };
    await pipeline.upload(CT_STUDY, { files });
    await pipeline.settle();
  }, 300_000);

  afterAll(async () => {
    await pipeline?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('leaves the stored outputs and no notification when the task dies after the store step', async () => {
    const [task] = pipeline.runner.tasks;
    expect(task?.exitCode).toBe(137);
    const record = await pipeline.jobStatus(task!.jobId);
    expect(record.state).toBe('running');
    expect(record.steps.store.state).toBe('succeeded');
    expect(record.steps.notify.state).toBe('pending');
    expect(pipeline.mail).toHaveLength(0);
  });

  it('finds every output exactly once and sends exactly one notification after the re-run', async () => {
    const [task] = pipeline.runner.tasks;
    pipeline.runner.extraEnvironment = {};
    await pipeline.runner.runTask({ jobId: task!.jobId, jobSpecUri: task!.jobSpecUri });
    await pipeline.settle();

    expect(pipeline.runner.tasks[1]?.exitCode).toBe(0);
    const record = await pipeline.jobStatus(task!.jobId);
    expect(record.state).toBe('succeeded');
    expect(record.counts.processed).toBe(files.length);
    const instances = (await pipeline.listKeys(processed(), 'studies/')).filter((k) => k.endsWith('.dcm'));
    expect(instances).toHaveLength(files.length);
    expect(new Set(instances).size).toBe(instances.length);
    const previews = (await pipeline.listKeys(processed(), 'studies/')).filter((k) =>
      k.includes('/previews/'),
    );
    expect(previews).toHaveLength(files.length);
    expect(pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn)).toHaveLength(1);
    expect(record.notifications.published).toBe(1);
  }, 300_000);
});
