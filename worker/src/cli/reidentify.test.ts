import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getString, parseDicom, T } from '@medimg/dicom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandArgs } from './command.ts';
import { reidentifyCommand } from './commands/reidentify.ts';
import { runCli } from './main.ts';
import { type ReidentificationAudit, runReidentify } from './reidentify.ts';

const SAMPLE = fileURLToPath(
  new URL('../../../sample-dicom/studies/dx-chest/1-chest-pa/001.dcm', import.meta.url),
);

describe('medimg reidentify against a local linkage store', () => {
  let dir: string;
  let study: string;
  let original: { patientId?: string; studyUid?: string };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'medimg-reid-'));
    const keyFile = path.join(dir, 'deid.key');
    await writeFile(keyFile, randomBytes(32).toString('hex'));
    const out = path.join(dir, 'out');
    const stderr = process.stderr.write;
    process.stderr.write = () => true;
    try {
      expect(
        await runCli([
          'process',
          SAMPLE,
          '--out',
          out,
          '--restricted',
          path.join(dir, 'restricted'),
          '--key-file',
          keyFile,
        ]),
      ).toBe(0);
    } finally {
      process.stderr.write = stderr;
    }
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    study = /studies\/([^/]+)\//.exec(report.entries[0].outputs.dicom)?.[1] ?? '';
    const ds = parseDicom(new Uint8Array(await readFile(SAMPLE))).dataset;
    original = { patientId: getString(ds, T.PatientID), studyUid: getString(ds, T.StudyInstanceUID) };
  }, 60_000);

  afterAll(() => rm(dir, { recursive: true, force: true }));

  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const parsed = parseCommandArgs(reidentifyCommand, args);
    if (parsed === 'help') throw new Error('no help expected');
    const { options, positionals } = parsed as {
      options: Record<string, string | undefined>;
      positionals: string[];
    };
    const request = {
      study: positionals[0] ?? '',
      reason: options.reason ?? '',
      linkageDir: options['linkage-dir'],
      bucket: options.bucket,
    };
    const code = await runReidentify(request, {
      stdout: (t) => void out.push(t),
      stderr: (t) => void err.push(t),
      whoAmI: async () => 'local:dr-house@radiology-ws-7',
      clock: () => new Date('2026-12-01T07:00:00Z'),
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  };
  const audits = async () => {
    const auditDir = path.join(dir, 'restricted', 'audit', 'reidentify');
    const files = await readdir(auditDir).catch(() => []);
    return Promise.all(
      files.map(
        async (f) => JSON.parse(await readFile(path.join(auditDir, f), 'utf8')) as ReidentificationAudit,
      ),
    );
  };

  it('prints the original identifiers of the pseudonymous study', async () => {
    expect(study).toMatch(/^[0-9.]+$/);
    expect(original.patientId).toBeTruthy();
    expect(study).not.toBe(original.studyUid);
    const { code, stdout } = await run([
      study,
      '--linkage-dir',
      path.join(dir, 'restricted'),
      '--reason',
      'tumour board 2026-12-01',
    ]);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout);
    expect(printed.records).toEqual([
      expect.objectContaining({
        pseudonymousStudyUid: study,
        originalPatientId: original.patientId,
        originalStudyUid: original.studyUid,
      }),
    ]);
  });

  it('records who asked, why and when, before reading', async () => {
    const before = (await audits()).length;
    await run([study, '--linkage-dir', path.join(dir, 'restricted'), '--reason', 'ticket INC-4711']);
    const records = await audits();
    expect(records).toHaveLength(before + 1);
    expect(records).toContainEqual(
      expect.objectContaining({
        requestedBy: 'local:dr-house@radiology-ws-7',
        reason: 'ticket INC-4711',
        study,
        requestedAt: '2026-12-01T07:00:00.000Z',
        store: 'local',
      }),
    );
  });

  it('records the request even when the study is unknown, and says so', async () => {
    const before = (await audits()).length;
    const { code, stderr, stdout } = await run([
      '2.25.1',
      '--linkage-dir',
      path.join(dir, 'restricted'),
      '--reason',
      'typo check',
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('no linkage record for study 2.25.1');
    expect(await audits()).toHaveLength(before + 1);
  });

  it('refuses to run without a reason, and reads nothing', async () => {
    const before = (await audits()).length;
    const err: string[] = [];
    const code = await runCli(['reidentify', study, '--linkage-dir', path.join(dir, 'restricted')], {
      stdout: () => {},
      stderr: (t) => void err.push(t),
      env: {},
    });
    expect(code).toBe(64);
    expect(err.join('')).toContain('--reason is required');
    expect(await audits()).toHaveLength(before);
  });
});
