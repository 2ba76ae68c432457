/**
 * `medimg process`: the worker's per-file steps on local files, with no server. Run as a user
 * runs it (the package's bin, a child process), then the report and the files it names are read.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDicom } from '@medimg/worker/dicom/parse.ts';
import { T } from '@medimg/worker/dicom/tags.ts';
import { getString } from '@medimg/worker/dicom/values.ts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../local/task-runner.ts';

interface ReportEntry {
  input: string;
  status: 'processed' | 'quarantined' | 'failed';
  reason: string | null;
  textCheck?: { checked: boolean; textBoxes: number; phiMatches: number; action: string };
  outputs: { dicom?: string; preview?: string; thumbnail?: string; modelInput?: string };
}

describe('medimg process', () => {
  let out: string;
  let keyFile: string;
  let run: ReturnType<typeof spawnSync>;
  let entries: ReportEntry[];
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
  }, 120_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('exits 0 although some inputs were quarantined', () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(entries.some((e) => e.status === 'quarantined')).toBe(true);
  });

  it('reports one entry per input with its status and reason code', () => {
    const byName = new Map(entries.map((e) => [path.basename(e.input), e]));
    expect(entries).toHaveLength(4);
    expect(byName.get('001.dcm')).toMatchObject({ status: 'processed', reason: null });
    expect(byName.get('ct-truncated.dcm')).toMatchObject({
      status: 'quarantined',
      reason: 'DICOM_TRUNCATED',
    });
    expect(byName.get('not-dicom.txt')).toMatchObject({ status: 'quarantined', reason: 'NOT_DICOM' });
    // Default policy quarantine: the pixels were scanned and text was found in them.
    expect(byName.get('us-burned-in-annotation.dcm')).toMatchObject({
      status: 'quarantined',
      reason: 'BURNED_IN_TEXT',
      textCheck: { checked: true, action: 'quarantined' },
    });
    expect(byName.get('us-burned-in-annotation.dcm')?.textCheck?.textBoxes).toBeGreaterThan(0);
  });

  it('writes the de-identified DICOM, the preview and the model input it names', async () => {
    const processed = entries.find((e) => e.status === 'processed')!;
    const { dicom, preview, modelInput } = processed.outputs;
    for (const file of [dicom, preview, modelInput]) expect(file && existsSync(file), file).toBe(true);
    const original = parseDicom(new Uint8Array(await readFile(processed.input))).dataset;
    const deidentified = parseDicom(new Uint8Array(await readFile(dicom!))).dataset;
    expect(getString(deidentified, T.PatientIdentityRemoved)).toBe('YES');
    expect(getString(deidentified, T.PatientID)).not.toBe(getString(original, T.PatientID));
    expect(dicom).not.toContain(getString(original, T.SOPInstanceUID));
    const input = await sharp(modelInput!).metadata();
    expect([input.width, input.height, input.channels]).toEqual([128, 128, 1]);
  });
});

describe('medimg process --burned-in redact', () => {
  let out: string;
  let run: ReturnType<typeof spawnSync>;
  let entries: ReportEntry[];

  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'medimg-cli-redact-'));
    const keyFile = path.join(out, 'key.hex');
    await writeFile(keyFile, 'b2'.repeat(32));
    run = spawnSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'worker/bin/medimg.js'),
        'process',
        path.join(REPO_ROOT, 'sample-dicom/burned-in'),
        '--out',
        path.join(out, 'result'),
        '--key-file',
        keyFile,
        '--burned-in',
        'redact',
      ],
      { encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    );
    entries = (
      JSON.parse(await readFile(path.join(out, 'result', 'report.json'), 'utf8')) as {
        entries: ReportEntry[];
      }
    ).entries;
  }, 120_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('processes both unflagged sample images with text, redacted, and says so per file on stderr', () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(entries.map((e) => [path.basename(e.input), e.status, e.textCheck?.action])).toEqual([
      ['dx-chest-text.dcm', 'processed', 'redacted'],
      ['us-liver-text.dcm', 'processed', 'redacted'],
    ]);
    for (const e of entries) expect(e.textCheck!.phiMatches).toBeGreaterThanOrEqual(3);
    expect(String(run.stderr)).toMatch(
      /processed\s+us-liver-text\.dcm, text: \d+ region\(s\), \d+ matching the header, redacted/,
    );
  });

  it('stores previews in which the text rows are blank and the anatomy is not', async () => {
    const us = entries.find((e) => e.input.endsWith('us-liver-text.dcm'))!;
    const { data, info } = await sharp(us.outputs.preview!)
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([640, 480, 1]);
    // The name and ID were drawn in the top 40 rows, the probe settings at the bottom right.
    let top = 0;
    for (let i = 0; i < 40 * info.width; i++) top = Math.max(top, data[i]!);
    expect(top).toBe(0);
    let bottomRight = 0;
    for (let y = 455; y < 472; y++)
      for (let x = 420; x < 560; x++) bottomRight = Math.max(bottomRight, data[y * info.width + x]!);
    expect(bottomRight).toBe(0);
    // The sector is still there.
    let middle = 0;
    for (let x = 300; x < 340; x++) middle += data[200 * info.width + x]!;
    expect(middle / 40).toBeGreaterThan(40);
  });

  it('leaves no header value in the report', async () => {
    const report = await readFile(path.join(out, 'result', 'report.json'), 'utf8');
    for (const value of ['MOREAU', 'Moreau', 'FAKE-US-771204', 'OKAFOR', 'Okafor', 'FAKE-DX-550318']) {
      expect(report).not.toContain(value);
    }
  });
});
