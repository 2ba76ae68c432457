/**
 * PHI canary through the WHOLE pipeline (the de-identification issue's "nothing leaks" proof).
 *
 * Three CT slices of sample-dicom (the lesion slice 024, its neighbours 023 and 025) are turned
 * into canary objects of one canary patient and study (worker/src/deid/testing/canary-fixture.ts):
 * every attribute of PS3.15 Table E.1-1, at the top level and three sequence levels deep, private
 * tags, curves, overlays and the input File Meta hold a distinct canary, while the image pixel
 * module comes from the real slice so the worker renders it and the model infers on it. Their
 * folder and file names are canaries too. Slice 025 also says BurnedInAnnotation YES, so it takes
 * the quarantine path.
 *
 * They are uploaded as one batch through presigned URLs; the trigger Lambda, the real worker, the
 * model server, SNS and the mailbox run as in `npm run demo`, with a critical threshold of 0 so a
 * notification is sent whatever the current model scores. Then every byte the pipeline wrote
 * outside the raw and linkage buckets is scanned for every canary: processed-bucket keys and
 * bodies (DICOM, PNG, JSON, s3rver's metadata files), the worker's, trigger's and model server's
 * logs, every email, and the job record. Only the canaries the default options keep by design
 * (Retain Patient Characteristics, Retain Device Identity, Modified Dates keeping times) may be
 * found, and only inside the de-identified DICOM bodies: exactly that set, in each of them.
 *
 * Excluded from the scan, by design: the raw bucket (the uploads, their keys, the job spec and the
 * quarantined originals: DESIGN D7, "any name, may contain PHI") and the restricted linkage bucket
 * (pseudonym -> original identifiers: DESIGN D3). The test asserts that the linkage store does
 * hold the original Patient ID canary, so the scan is shown to see what it looks for.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processedKeys } from '@medimg/common';
import { type DicomFile, parseDicom, stringElement, T, writePart10 } from '@medimg/dicom';
import { DEFAULT_DEID_OPTIONS } from '@medimg/worker/deid/options.ts';
import {
  type Canary,
  canaryFile,
  keptByDesign,
  pathCanary,
} from '@medimg/worker/deid/testing/canary-fixture.ts';
import type { JobStatus } from '@medimg/worker/pipeline/status.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../local/pipeline.ts';
import { REPO_ROOT } from '../local/task-runner.ts';

const SERIES = path.join(REPO_ROOT, 'sample-dicom/studies/ct-chest/1-axial-chest');

interface CanaryInput {
  readonly source: string;
  readonly relativePath: string;
  readonly instance: number;
  /** BurnedInAnnotation YES: the default policy quarantines it. */
  readonly burnedIn?: boolean;
}

const FOLDER_1 = pathCanary('PATH', 1);
const FOLDER_2 = pathCanary('PATH', 2);
const INPUTS: readonly CanaryInput[] = [
  { source: '024.dcm', relativePath: `${FOLDER_1.text}/${pathCanary('FILE', 1).text}.dcm`, instance: 1 },
  { source: '023.dcm', relativePath: `${FOLDER_1.text}/${pathCanary('FILE', 2).text}.dcm`, instance: 2 },
  {
    source: '025.dcm',
    relativePath: `${FOLDER_2.text}/${pathCanary('FILE', 3).text}.dcm`,
    instance: 3,
    burnedIn: true,
  },
];
/** The upload batch id chosen by the uploader: a patient's name in a folder name (issue 11). */
const BATCH_ID = 'b-CNRYBATCH0001Q_John_Doe';
const BATCH_CANARY: Canary = { row: 'path', name: 'batch id', vr: 'path', text: 'CNRYBATCH0001Q' };
/** Body Part Examined of the processed slices: a name typed into a code string (issue 11). */
const BODY_PART_CANARY: Canary = {
  row: 'extra',
  name: 'Body Part Examined',
  vr: 'CS',
  text: 'CNRYBODYPART1Q',
};
const PATH_CANARIES: readonly Canary[] = [
  FOLDER_1,
  FOLDER_2,
  pathCanary('FILE', 1),
  pathCanary('FILE', 2),
  pathCanary('FILE', 3),
];

/** One place the pipeline wrote to, as text to scan (latin1: one char per byte). */
interface Output {
  readonly where: string;
  readonly kind: 'dicom' | 'other';
  readonly text: string;
}

/** A canary's searchable forms: as written, URL-encoded (keys in URLs and events), lower case. */
function needles(c: Canary): string[] {
  const t = c.text!;
  return [...new Set([t, encodeURIComponent(t), t.replace(/\^/g, '%5E')].map((s) => s.toLowerCase()))];
}

function found(canaries: readonly Canary[], text: string): string[] {
  const hay = text.toLowerCase();
  return canaries.filter((c) => needles(c).some((n) => hay.includes(n))).map((c) => c.text!);
}

async function walk(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full)));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

describe('PHI canary through the whole pipeline', () => {
  let dataDir: string;
  let pipeline: LocalPipeline;
  /** Every canary of every input, deduplicated by text, plus the path canaries. */
  let canaries: Canary[];
  /** Texts of the canaries the default options keep by design. */
  let kept: string[];
  let status: JobStatus;
  let processedKeyList: string[];
  let outputs: Output[];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'medimg-phi-canary-'));
    const uploadRoot = path.join(dataDir, 'upload');
    const byText = new Map<string, Canary>();
    const files: string[] = [];
    for (const input of INPUTS) {
      const base: DicomFile = parseDicom(new Uint8Array(await readFile(path.join(SERIES, input.source))));
      const list: Canary[] = [];
      const file = canaryFile(list, { base, instance: input.instance });
      if (input.burnedIn)
        file.dataset.set(T.BurnedInAnnotation, stringElement(T.BurnedInAnnotation, 'CS', 'YES'));
      file.dataset.set(T.BodyPartExamined, stringElement(T.BodyPartExamined, 'CS', BODY_PART_CANARY.text!));
      for (const c of list) if (c.text !== undefined && !byText.has(c.text)) byText.set(c.text, c);
      const target = path.join(uploadRoot, input.relativePath);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, writePart10(file));
      files.push(target);
    }
    for (const c of [...PATH_CANARIES, BATCH_CANARY, BODY_PART_CANARY]) byText.set(c.text!, c);
    canaries = [...byText.values()];
    kept = canaries.filter((c) => keptByDesign(DEFAULT_DEID_OPTIONS, c)).map((c) => c.text!);

    pipeline = await startLocalPipeline({
      dataDir: path.join(dataDir, 'run'),
      // Every score is critical, so the notification path (SNS -> email) runs whatever the model in
      // models/artifacts scores: this test is about leaks, not about the model's accuracy.
      workerEnvironment: { CRITICAL_THRESHOLDS: JSON.stringify({ suspicious_lesion: 0 }) },
    });
    await pipeline.upload(uploadRoot, { files, batchId: BATCH_ID });
    await pipeline.settle();

    const { processedBucket } = pipeline.servers.names;
    const jobId = pipeline.runner.tasks[0]!.jobId;
    status = JSON.parse(
      Buffer.from(await pipeline.getBytes(processedBucket, processedKeys.jobStatus(jobId))).toString('utf8'),
    ) as JobStatus;

    // What the pipeline wrote, outside the raw and linkage buckets (see the header).
    outputs = [];
    processedKeyList = await pipeline.listKeys(processedBucket);
    for (const key of processedKeyList) {
      outputs.push({ where: `processed key ${key}`, kind: 'other', text: key });
      const body = Buffer.from(await pipeline.getBytes(processedBucket, key)).toString('latin1');
      outputs.push({
        where: `processed object ${key}`,
        kind: key.endsWith('.dcm') ? 'dicom' : 'other',
        text: body,
      });
    }
    // s3rver's own files of the processed bucket (object files, metadata sidecars), by path and
    // content; the de-identified DICOM bodies are already counted above.
    const processedDir = path.join(pipeline.dirs.s3, processedBucket);
    for (const file of await walk(processedDir)) {
      const rel = path.relative(processedDir, file);
      outputs.push({ where: `s3rver path ${rel}`, kind: 'other', text: rel });
      if (/\.dcm\._S3rver_object$/.test(rel)) continue;
      outputs.push({
        where: `s3rver file ${rel}`,
        kind: 'other',
        text: (await readFile(file)).toString('latin1'),
      });
    }
    for (const dir of [pipeline.dirs.logs, pipeline.dirs.mail]) {
      for (const file of await walk(dir)) {
        const rel = path.relative(dataDir, file);
        outputs.push({ where: `path ${rel}`, kind: 'other', text: rel });
        outputs.push({
          where: `file ${rel}`,
          kind: 'other',
          text: (await readFile(file)).toString('latin1'),
        });
      }
    }
    for (const mail of pipeline.mail)
      outputs.push({ where: `mail ${mail.subject}`, kind: 'other', text: `${mail.subject}\n${mail.eml}` });
  }, 300_000);

  afterAll(async () => {
    await pipeline?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('builds canaries for every table row of every input, and some are kept by design', () => {
    expect(canaries.length).toBeGreaterThan(2 * 600);
    // Retain Patient Characteristics, Device Identity and Modified Dates (times) keep some.
    expect(kept.length).toBeGreaterThan(10);
  });

  it('processes the canary slices (not quarantined) and quarantines the burned-in one', () => {
    expect(pipeline.runner.tasks).toHaveLength(1);
    expect(pipeline.runner.tasks[0]!.exitCode).toBe(0);
    expect(status.counts).toMatchObject({ inputs: 3, processed: 2, quarantined: 1, failed: 0 });
    const byIndex = [...status.files].sort((a, b) => a.index - b.index);
    expect(byIndex.map((f) => f.status).sort()).toEqual(['processed', 'processed', 'quarantined']);
    expect(byIndex.find((f) => f.status === 'quarantined')?.reason).toBe('BURNED_IN_ANNOTATION');
    expect(processedKeyList.filter((k) => k.endsWith('.dcm'))).toHaveLength(2);
    expect(processedKeyList.filter((k) => /\/previews\/.+\.png$/.test(k))).toHaveLength(2);
    expect(status.steps.infer.state).toBe('succeeded');
  });

  it('scans a non-trivial amount of output', () => {
    const kinds = new Set(outputs.map((o) => o.where.split(' ')[0]));
    expect(kinds).toEqual(
      new Set(['processed', 's3rver', 'path', 'file', ...(pipeline.mail.length ? ['mail'] : [])]),
    );
    expect(outputs.some((o) => o.where.includes('trigger-lambda.log'))).toBe(true);
    expect(outputs.some((o) => o.where.includes('model-server.log'))).toBe(true);
    expect(outputs.some((o) => o.where.endsWith('results.json'))).toBe(true);
    expect(outputs.some((o) => o.where.endsWith(processedKeys.jobStatus(status.jobId)))).toBe(true);
  });

  it('leaves in each de-identified DICOM object exactly the canaries kept by design', () => {
    const dicom = outputs.filter((o) => o.kind === 'dicom');
    expect(dicom).toHaveLength(2);
    for (const o of dicom) expect(found(canaries, o.text).sort(), o.where).toEqual([...kept].sort());
  });

  it('leaves no canary anywhere else: keys, PNGs, JSON, job record, logs, emails', () => {
    const leaks = outputs
      .filter((o) => o.kind === 'other')
      .flatMap((o) => found(canaries, o.text).map((text) => `${o.where}: ${text}`));
    expect(leaks).toEqual([]);
  });

  it('sends one critical-finding notification for the canary study, without any canary', () => {
    const clinical = pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn);
    expect(status.notifications).toMatchObject({ published: 1, failed: 0 });
    expect(clinical).toHaveLength(1);
    const mail = clinical[0]!;
    expect(mail.subject).toMatch(/Critical finding/);
    expect(mail.eml).toContain(status.files[0]!.study!); // names the pseudonymous study
    expect(found(canaries, `${mail.subject}\n${mail.eml}`)).toEqual([]);
  });

  it('shows no body part and no batch id it cannot vouch for: email, results and job record', async () => {
    const clinical = pipeline.mail.filter((m) => m.topicArn === pipeline.servers.findingsTopicArn);
    expect(clinical[0]!.eml).toContain('Body part:      unspecified');
    expect(status.batchRef).toMatch(/^b-[0-9a-f]{20}$/);
    expect(clinical[0]!.eml).toContain(`Upload batch:   ${status.batchRef}`);
    const resultsKey = processedKeyList.find((k) => k.endsWith('results.json'))!;
    const results = JSON.parse(
      Buffer.from(await pipeline.getBytes(pipeline.servers.names.processedBucket, resultsKey)).toString(
        'utf8',
      ),
    ) as { series: { bodyPart: string | null }[] };
    expect(results.series.map((s) => s.bodyPart)).toEqual([null]);
    const everywhere = outputs.map((o) => o.text).join('\n');
    expect(found([BATCH_CANARY, BODY_PART_CANARY], everywhere)).toEqual([]);
    expect(everywhere).not.toContain('John_Doe');
  });

  it('keeps the original identifiers in the restricted linkage store (the scan sees what it looks for)', async () => {
    const { linkageBucket } = pipeline.servers.names;
    const keys = await pipeline.listKeys(linkageBucket);
    expect(keys.length).toBeGreaterThan(0);
    const patientId = canaries.find((c) => c.row === '00100020' && c.name.endsWith('@0'))!;
    const bodies = await Promise.all(
      keys.map(async (k) => Buffer.from(await pipeline.getBytes(linkageBucket, k)).toString('latin1')),
    );
    expect(bodies.some((b) => found([patientId], b).length === 1)).toBe(true);
    expect(bodies.some((b) => found([BATCH_CANARY], b).length === 1)).toBe(true);
    for (const key of keys) expect(found(canaries, key), key).toEqual([]);
  });

  it('keeps the quarantined original and its raw key in the raw bucket only', async () => {
    const { rawBucket, processedBucket } = pipeline.servers.names;
    const rawQuarantine = (await pipeline.listKeys(rawBucket)).filter((k) => k.startsWith('quarantine/'));
    expect(rawQuarantine.filter((k) => k.endsWith('.dcm'))).toHaveLength(1);
    const reasonKey = rawQuarantine.find((k) => k.endsWith('.json'))!;
    const reason = Buffer.from(await pipeline.getBytes(rawBucket, reasonKey)).toString('latin1');
    expect(found(PATH_CANARIES, reason)).toEqual([FOLDER_2.text, pathCanary('FILE', 3).text]);
    // The processed bucket gets the reason only: same job and input id, no original, no raw key.
    const processedQuarantine = processedKeyList.filter((k) => k.startsWith('quarantine/'));
    expect(processedQuarantine).toEqual([reasonKey]);
    const processedReason = Buffer.from(await pipeline.getBytes(processedBucket, reasonKey)).toString(
      'latin1',
    );
    expect(found(canaries, processedReason)).toEqual([]);
  });
});
