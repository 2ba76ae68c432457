/**
 * End to end, as `npm run demo` runs it: presigned uploads of sample-dicom/, S3 events through SQS
 * to the real trigger handler, the real worker as a child process, the real model server, SNS to
 * a mailbox. Asserts on what lands in the buckets and in the mailbox.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getString, parseDicom, T } from '@medimg/dicom';
import { type JobStatus, STEP_NAMES } from '@medimg/worker/pipeline/status.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../local/pipeline.ts';
import { REPO_ROOT, taskProblems } from '../local/task-runner.ts';
import { sampleFiles as listSampleFiles } from '../local/uploader.ts';

const SAMPLES = path.join(REPO_ROOT, 'sample-dicom');

/** Identifying values of the original samples: none may appear in a processed key or an email. */
async function originalIdentifiers(files: readonly string[]): Promise<Set<string>> {
  const values = new Set<string>();
  for (const file of files) {
    let parsed: ReturnType<typeof parseDicom>;
    try {
      parsed = parseDicom(new Uint8Array(await readFile(file)));
    } catch {
      continue; // the deliberately broken samples
    }
    const ds = parsed.dataset;
    for (const t of [
      T.PatientName,
      T.PatientID,
      T.AccessionNumber,
      T.StudyInstanceUID,
      T.SeriesInstanceUID,
      T.SOPInstanceUID,
      T.PatientBirthDate,
      T.InstitutionName,
      T.ReferringPhysicianName,
    ]) {
      const v = getString(ds, t);
      if (v && v.length >= 4) values.add(v);
    }
    const name = getString(ds, T.PatientName);
    for (const part of name?.split(/[\^= ]/) ?? []) if (part.length >= 4) values.add(part);
  }
  return values;
}

describe('the pipeline end to end on local servers', () => {
  let dataDir: string;
  let pipeline: LocalPipeline;
  let sampleFiles: string[];
  let identifiers: Set<string>;
  let firstStatus: JobStatus;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'medimg-e2e-'));
    sampleFiles = await listSampleFiles(SAMPLES);
    identifiers = await originalIdentifiers(sampleFiles);
    pipeline = await startLocalPipeline({ dataDir });
    await pipeline.upload(SAMPLES, { files: sampleFiles });
    await pipeline.settle();
    const jobId = pipeline.runner.tasks[0]!.jobId;
    firstStatus = await pipeline.jobStatus(jobId);
  }, 300_000);

  afterAll(async () => {
    await pipeline?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts one task for the upload batch, not one per file', async () => {
    expect(sampleFiles.length).toBeGreaterThan(50);
    expect(pipeline.runner.tasks).toHaveLength(1);
    expect(pipeline.runner.tasks[0]!.exitCode, await taskProblems(pipeline.runner.tasks[0]!)).toBe(0);
  });

  it('ends every sample file as processed, or quarantined with a reason', () => {
    expect(firstStatus.counts.inputs).toBe(sampleFiles.length);
    expect(firstStatus.counts.failed).toBe(0);
    for (const f of firstStatus.files) {
      expect(['processed', 'quarantined']).toContain(f.status);
      if (f.status === 'quarantined') expect(f.reason).toMatch(/^[A-Z_]+$/);
    }
    expect(firstStatus.counts.processed + firstStatus.counts.quarantined).toBe(sampleFiles.length);
    expect(firstStatus.counts.quarantined).toBeGreaterThanOrEqual(3); // sample-dicom/bad/
  });

  it('runs every step of the pipeline', () => {
    for (const step of STEP_NAMES) {
      expect(firstStatus.steps[step].state, step).not.toBe('pending');
      expect(firstStatus.steps[step].state, step).not.toBe('failed');
    }
    expect(firstStatus.inference.state).toBe('succeeded');
  });

  it('keys processed objects only by de-identified UIDs: no original UID, name or ID in any key', async () => {
    expect(identifiers.size).toBeGreaterThan(10);
    const keys = await pipeline.listKeys(pipeline.servers.names.processedBucket);
    expect(keys.filter((k) => k.endsWith('.dcm')).length).toBe(firstStatus.counts.processed);
    for (const key of keys)
      for (const id of identifiers)
        expect(key.includes(id), `${key} holds an original identifier`).toBe(false);
  });

  it('sends exactly one critical notification, for the lesion study, with no PHI in it', () => {
    const clinical = pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn);
    expect(clinical).toHaveLength(1);
    const mail = clinical[0]!;
    expect(mail.subject).toMatch(/Critical finding: suspicious lesion \(CT\)/);
    for (const id of identifiers)
      expect(mail.eml.includes(id), 'the email holds an original identifier').toBe(false);
    expect(pipeline.mail.filter((m) => m.topicArn === pipeline.servers.opsTopicArn)).toHaveLength(0);
  });

  it('sends no second notification when the same scans are uploaded again', async () => {
    await pipeline.upload(SAMPLES, { files: sampleFiles });
    await pipeline.settle();
    expect(pipeline.runner.tasks).toHaveLength(2);
    expect(pipeline.runner.tasks[1]!.exitCode, await taskProblems(pipeline.runner.tasks[1]!)).toBe(0);
    const second = await pipeline.jobStatus(pipeline.runner.tasks[1]!.jobId);
    expect(second.findings.critical).toBe(1);
    expect(second.notifications).toMatchObject({ published: 0, duplicatesSkipped: 1 });
    expect(pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn)).toHaveLength(1);
  }, 300_000);
});
