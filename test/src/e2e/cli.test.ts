/**
 * `medimg process`: the worker's per-file steps on local files, with no server. Run as a user
 * runs it (the package's bin, a child process), then the report and the files it names are read.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getString, parseDicom, T } from '@medimg/dicom';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../local/task-runner.ts';

interface ReportEntry {
  index: number;
  inputId: string;
  status: 'processed' | 'quarantined' | 'failed';
  reason: string | null;
  outputs: { dicom?: string; preview?: string; thumbnail?: string; modelInput?: string };
}

describe('medimg process', () => {
  let out: string;
  let keyFile: string;
  let run: ReturnType<typeof spawnSync>;
  let entries: ReportEntry[];
  /** index -> input path, from the restricted folder's inputs.json. */
  let inputOf: Map<number, string>;
  const inputs = ['sample-dicom/studies/dx-chest', 'sample-dicom/bad'].map((p) => path.join(REPO_ROOT, p));

  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'medimg-cli-'));
    keyFile = path.join(out, 'key.hex');
    await writeFile(keyFile, 'a1'.repeat(32));
    run = spawnSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'worker/bin/medimg.js'),
        'process',
        ...inputs,
        '--out',
        path.join(out, 'result'),
        '--key-file',
        keyFile,
      ],
      { encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    );
    const report = JSON.parse(await readFile(path.join(out, 'result', 'report.json'), 'utf8')) as {
      entries: ReportEntry[];
    };
    entries = report.entries;
    const restricted = JSON.parse(
      await readFile(path.join(out, 'result-RESTRICTED-PHI', 'inputs.json'), 'utf8'),
    ) as { inputs: { index: number; input: string }[] };
    inputOf = new Map(restricted.inputs.map((i) => [i.index, i.input]));
  }, 120_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('exits 0 although some inputs were quarantined', () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(entries.some((e) => e.status === 'quarantined')).toBe(true);
  });

  it('reports one entry per input with its status and reason code', () => {
    const byName = new Map(entries.map((e) => [path.basename(inputOf.get(e.index)!), e]));
    expect(entries).toHaveLength(4);
    expect(byName.get('001.dcm')).toMatchObject({ status: 'processed', reason: null });
    expect(byName.get('ct-truncated.dcm')).toMatchObject({
      status: 'quarantined',
      reason: 'DICOM_TRUNCATED',
    });
    expect(byName.get('not-dicom.txt')).toMatchObject({ status: 'quarantined', reason: 'NOT_DICOM' });
    expect(byName.get('us-burned-in-annotation.dcm')).toMatchObject({
      status: 'quarantined',
      reason: 'BURNED_IN_ANNOTATION',
    });
  });

  it('writes the de-identified DICOM, the preview and the model input it names, under --out', async () => {
    const processed = entries.find((e) => e.status === 'processed')!;
    const [dicom, preview, modelInput] = [
      processed.outputs.dicom,
      processed.outputs.preview,
      processed.outputs.modelInput,
    ].map((f) => path.join(out, 'result', f!));
    for (const file of [dicom, preview, modelInput]) expect(file && existsSync(file), file).toBe(true);
    const original = parseDicom(new Uint8Array(await readFile(inputOf.get(processed.index)!))).dataset;
    const deidentified = parseDicom(new Uint8Array(await readFile(dicom!))).dataset;
    expect(getString(deidentified, T.PatientIdentityRemoved)).toBe('YES');
    expect(getString(deidentified, T.PatientID)).not.toBe(getString(original, T.PatientID));
    expect(dicom).not.toContain(getString(original, T.SOPInstanceUID));
    const input = await sharp(modelInput!).metadata();
    expect([input.width, input.height, input.channels]).toEqual([128, 128, 1]);
  });

  it('names inputs by index and keyed hash, never by path, in report.json', async () => {
    const report = await readFile(path.join(out, 'result', 'report.json'), 'utf8');
    for (const entry of entries) expect(entry.inputId).toMatch(/^in-[0-9a-f]{20}$/);
    for (const input of inputOf.values()) {
      expect(report).not.toContain(path.basename(input));
      expect(report).not.toContain(path.dirname(input));
    }
  });

  it('keeps linkage records and quarantined originals in the restricted folder only, and prints both folders', async () => {
    const restricted = path.join(out, 'result-RESTRICTED-PHI');
    const quarantined = entries.filter((e) => e.status === 'quarantined');
    for (const e of quarantined) {
      expect(existsSync(path.join(restricted, 'originals/quarantine/job-local', `${e.inputId}.json`))).toBe(
        true,
      );
      expect(existsSync(path.join(out, 'result/quarantine/job-local', `${e.inputId}.json`))).toBe(true);
      expect(existsSync(path.join(out, 'result/quarantine/job-local', `${e.inputId}.dcm`))).toBe(false);
    }
    expect(existsSync(path.join(out, 'result', 'linkage'))).toBe(false);
    expect(existsSync(path.join(restricted, 'linkage'))).toBe(true);
    expect(run.stderr).toContain(`shareable (de-identified only): ${path.join(out, 'result')}`);
    expect(run.stderr).toContain(`RESTRICTED (patient data, do not share): ${restricted}`);
  });

  it('refuses a restricted folder inside the output folder, with a usage error', () => {
    const r = spawnSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'worker/bin/medimg.js'),
        'process',
        inputs[0]!,
        '--out',
        path.join(out, 'x'),
        '--restricted',
        path.join(out, 'x', 'restricted'),
        '--key-file',
        keyFile,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--restricted must be a folder apart from --out');
  });

  it('refuses an unknown profile, naming the ones there are', () => {
    const r = spawnSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'worker/bin/medimg.js'),
        'process',
        inputs[0]!,
        '--out',
        path.join(out, 'y'),
        '--profile',
        'hipaa',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--profile must be one of research, safe-harbor');
  });
});
