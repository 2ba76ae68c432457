/**
 * `medimg`, run as a user runs it: the built binary (worker/bin/medimg.js -> dist/medimg.js, plain
 * JavaScript) in a child process; then the report, the files it names and the HTML report in
 * headless Chromium are checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REASON_CODES } from '@medimg/common';
import { type BoundedRun, runBounded, runBoundedAsync } from '@medimg/common/testing/child.ts';
import { getString, parseDicom, T } from '@medimg/dicom';
import { ARTIFACTS_DIR, type ModelServer, startModelServer } from '@medimg/models';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInChromium } from '../local/browser.ts';
import { REPO_ROOT } from '../local/task-runner.ts';

interface ReportEntry {
  index: number;
  inputId: string;
  status: 'processed' | 'quarantined' | 'failed';
  reason: string | null;
  study?: string;
  textCheck?: { checked: boolean; textBoxes: number; phiMatches: number; action: string };
  outputs: { dicom?: string; preview?: string; thumbnail?: string; modelInput?: string };
}

interface CriticalEntry {
  label: string;
  score: number;
  threshold: number;
  study: string;
  series: string;
  preview: string;
}

interface Report {
  jobId: string;
  state: string;
  inference: { state: string };
  critical: CriticalEntry[];
  results: string[];
  entries: ReportEntry[];
}

const BIN = path.join(REPO_ROOT, 'worker/bin/medimg.js');
/** The reference model's calibrated critical threshold (model.json), which the CLI applies by default. */
const CALIBRATED = (
  JSON.parse(readFileSync(path.join(ARTIFACTS_DIR, 'model.json'), 'utf8')) as {
    criticalThresholds: Record<string, number>;
  }
).criticalThresholds.suspicious_lesion!;
const sample = (p: string) => path.join(REPO_ROOT, 'sample-dicom', p);

const CLI_ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/**
 * The CLI in a child process, bounded (below the test's own timeout: 50 s for the default 60 s;
 * a run over the samples takes 5 to 20 s unloaded). The test asserts the exit status.
 */
function medimg(args: readonly string[], timeoutMs = 50_000): BoundedRun {
  return runBounded(process.execPath, [BIN, ...args], {
    name: 'the medimg CLI',
    timeoutMs,
    exit: 'any',
    env: CLI_ENV,
  });
}

/** The same, without blocking this process (whose event loop serves the model server below). */
function medimgAsync(
  args: readonly string[],
  timeoutMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return runBoundedAsync(process.execPath, [BIN, ...args], {
    name: 'the medimg CLI',
    timeoutMs,
    env: CLI_ENV,
  });
}

let tmp: string;
let keyFile: string;
/** `medimg process` on the dx-chest sample study into <tmp>/<outName>, with `more` options. */
const processDxChest = (outName: string, ...more: string[]) =>
  medimg(['process', sample('studies/dx-chest'), '--out', path.join(tmp, outName), ...more]);
const readReport = async (out: string) =>
  JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report;
/** index -> input path, from the restricted folder's inputs.json. */
const readInputs = async (out: string) =>
  new Map(
    (
      JSON.parse(await readFile(`${out}-RESTRICTED-PHI/inputs.json`, 'utf8')) as {
        inputs: { index: number; input: string }[];
      }
    ).inputs.map((i) => [i.index, i.input]),
  );

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'medimg-cli-'));
  keyFile = path.join(tmp, 'key.hex');
  await writeFile(keyFile, 'a1'.repeat(32));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('medimg (built binary)', () => {
  it('prints its version and its help, exit 0', () => {
    const version = medimg(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^medimg \d+\.\d+\.\d+$/m);
    const help = medimg(['process', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: medimg process <file-or-folder>... --out <dir>');
  });

  it('says what was wrong in a usage error and exits 64, with no stack trace', () => {
    const run = medimg(['process', sample('studies'), '--out', path.join(tmp, 'x'), '--frobnicate']);
    expect(run.status).toBe(64);
    expect(run.stderr).toBe(
      "medimg process: unknown option '--frobnicate'\nRun 'medimg process --help' for usage.\n",
    );
  });

  it('exits 78 on a de-identification key that is not a key, as its help says, showing neither its content nor its path', async () => {
    const bad = path.join(tmp, 'not-a-key.hex');
    await writeFile(bad, 'not hex at all');
    const run = processDxChest('k', '--key-file', bad);
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/^medimg process: de-identification key: .+\n$/);
    expect(run.stderr).not.toContain('not hex');
    expect(run.stderr).not.toContain(bad);
    expect(medimg(['process', '--help']).stdout).toMatch(
      /78 the\s+de-identification key is missing or invalid/,
    );
  });
});

describe('medimg process', () => {
  let run: BoundedRun;
  let report: Report;
  let entries: ReportEntry[];
  let inputOf: Map<number, string>;
  const out = () => path.join(tmp, 'plain');

  beforeAll(async () => {
    run = medimg(
      ['process', sample('studies/dx-chest'), sample('bad'), '--out', out(), '--key-file', keyFile],
      100_000,
    );
    report = await readReport(out());
    entries = report.entries;
    inputOf = await readInputs(out());
  }, 120_000);

  it('exits 0 although some inputs were quarantined', () => {
    expect(run.status, run.stderr).toBe(0);
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
    const [dicom, preview, modelInput] = [
      processed.outputs.dicom,
      processed.outputs.preview,
      processed.outputs.modelInput,
    ].map((f) => path.join(out(), f!));
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
    const text = await readFile(path.join(out(), 'report.json'), 'utf8');
    for (const entry of entries) expect(entry.inputId).toMatch(/^in-[0-9a-f]{20}$/);
    for (const input of inputOf.values()) {
      expect(text).not.toContain(path.basename(input));
      expect(text).not.toContain(path.dirname(input));
    }
  });

  it('keeps linkage records and quarantined originals in the restricted folder only, and prints both folders', async () => {
    const restricted = `${out()}-RESTRICTED-PHI`;
    const quarantined = entries.filter((e) => e.status === 'quarantined');
    expect(quarantined).toHaveLength(3);
    for (const e of quarantined) {
      expect(
        existsSync(path.join(restricted, 'originals/quarantine', report.jobId, `${e.inputId}.json`)),
      ).toBe(true);
      expect(existsSync(path.join(out(), 'quarantine', report.jobId, `${e.inputId}.json`))).toBe(true);
      expect(existsSync(path.join(out(), 'quarantine', report.jobId, `${e.inputId}.dcm`))).toBe(false);
    }
    expect(existsSync(path.join(out(), 'linkage'))).toBe(false);
    expect(existsSync(path.join(restricted, 'linkage'))).toBe(true);
    expect(run.stderr).toContain(`shareable (de-identified only): ${out()}`);
    expect(run.stderr).toContain(`RESTRICTED (patient data, do not share): ${restricted}`);
  });

  it('refuses a restricted folder inside the output folder, with a usage error', () => {
    const r = processDxChest('x', '--restricted', path.join(tmp, 'x', 'restricted'), '--key-file', keyFile);
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--restricted must be a folder apart from --out');
  });

  it('refuses an unknown profile, naming the ones there are', () => {
    const r = processDxChest('y', '--profile', 'hipaa');
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--profile must be one of research, safe-harbor');
  });

  it('runs no model without --infer', () => {
    expect(run.stdout).not.toContain('CRITICAL');
    expect(run.stderr).toContain('inference skipped');
  });
});

describe('medimg process --infer (the reference model in-process)', () => {
  const out = () => path.join(tmp, 'infer');
  let run: BoundedRun;
  let report: Report;

  beforeAll(async () => {
    run = medimg(
      ['process', sample('studies'), sample('bad'), '--out', out(), '--key-file', keyFile, '--infer'],
      100_000,
    );
    report = await readReport(out());
  }, 120_000);

  it('finds the CT nodule, and nothing in the normal chest radiograph and head MR', async () => {
    expect(run.status, run.stderr).toBe(0);
    expect(report.inference.state).toBe('succeeded');
    expect(report.critical).toHaveLength(1);
    const [finding] = report.critical;
    expect(finding).toMatchObject({ label: 'suspicious_lesion', threshold: CALIBRATED });
    expect(finding!.score).toBeGreaterThanOrEqual(CALIBRATED);
    const results = JSON.parse(
      await readFile(path.join(out(), 'studies', finding!.study, 'results.json'), 'utf8'),
    ) as { series: { series: string; modality: string }[] };
    expect(results.series.find((s) => s.series === finding!.series)?.modality).toBe('CT');
    expect(report.results).toHaveLength(3);
  });

  it('prints the critical finding with the preview to open', () => {
    const [finding] = report.critical;
    expect(run.stdout).toContain(
      `CRITICAL suspicious_lesion score ${finding!.score.toFixed(3)} (threshold ${CALIBRATED.toFixed(2)})`,
    );
    expect(run.stdout).toContain(`preview: ${path.join(out(), finding!.preview)}`);
  });

  it('draws the finding box on the preview it names', async () => {
    const file = path.join(out(), report.critical[0]!.preview);
    expect(file).toContain('/findings/');
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    let red = 0;
    for (let i = 0; i < data.length; i += info.channels)
      if (data[i]! > 200 && data[i + 1]! < 100 && data[i + 2]! < 100) red += 1;
    expect(info.channels).toBe(3);
    expect(red).toBeGreaterThan(50);
  });

  it('writes report.html that loads in Chromium without a console error or a request, and shows the finding', async () => {
    const browser = await openInChromium(path.join(out(), 'report.html'));
    try {
      const { page } = browser;
      expect(await page.locator('[data-count="critical"]').textContent()).toBe('1');
      const finding = page.locator('[data-finding="suspicious_lesion"]');
      await expect(finding.textContent()).resolves.toContain(report.critical[0]!.score.toFixed(3));
      // Beside the image, in words: what the model is for, how often it false-alarms, decision support.
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as a reader sees it
      const about = await finding.locator('[data-about-alert]').innerText();
      expect(about).toMatch(/Intended use: Flags a possible round lesion/);
      expect(about).toMatch(
        /Measured false alarm rate: [\d.]+ per 100 in-scope real studies \(95 % CI [\d.]+ to [\d.]+;/,
      );
      expect(about).toContain('Decision support from a reference model');
      expect(about).toMatch(/The red box marks where the model points: \w+ \w+ of the image/);
      const previewWidth = await finding
        .locator('img')
        .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
      expect(previewWidth).toBeGreaterThan(100);
      expect(await page.locator('section.study').count()).toBe(3);
      const thumbs = await page
        .locator('.thumbs img')
        .evaluateAll(
          (imgs) => imgs.filter((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0).length,
        );
      expect(thumbs).toBeGreaterThanOrEqual(3);
      expect(await page.locator('[data-set-aside]').count()).toBe(3);
      // The quarantined ultrasound's burned-in text check, as report.json has it: counts and action only.
      const scanned = report.entries.find((e) => e.reason === 'BURNED_IN_TEXT')?.textCheck;
      expect(scanned?.textBoxes).toBeGreaterThan(0);
      const textCheck = page.locator('[data-set-aside="BURNED_IN_TEXT"] [data-text-check]');
      expect(await textCheck.textContent()).toBe(
        `${scanned!.textBoxes} region(s), ${scanned!.phiMatches} matching the header: quarantined`,
      );
      expect(await page.locator('[data-set-aside] [data-text-check]').count()).toBe(1);
      // Each reason code as a person reads it: the code, and under it what it means.
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text (line break included) is what is checked
      expect(await page.locator('[data-set-aside="BURNED_IN_TEXT"] td:nth-child(5)').innerText()).toBe(
        `BURNED_IN_TEXT\n${REASON_CODES.BURNED_IN_TEXT}`,
      );
      expect(browser.problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('names no input file or original identifier in report.html', async () => {
    const html = await readFile(path.join(out(), 'report.html'), 'utf8');
    expect(html).not.toMatch(/\.dcm|not-dicom|sample-dicom/);
    const original = parseDicom(
      new Uint8Array(await readFile(sample('studies/ct-chest/1-axial-chest/001.dcm'))),
    ).dataset;
    for (const tag of [T.PatientName, T.PatientID, T.StudyInstanceUID])
      expect(html).not.toContain(getString(original, tag));
  });
});

describe('medimg process --infer --endpoint (the model server)', () => {
  let server: ModelServer;

  beforeAll(async () => {
    server = await startModelServer({ port: 0, host: '127.0.0.1', modelDir: ARTIFACTS_DIR, log: () => {} });
    await server.ready;
  });
  afterAll(async () => {
    await server.close();
  });

  it('gives the same critical finding and score as the in-process model', async () => {
    const inputs = [sample('studies/ct-chest')];
    const local = path.join(tmp, 'ct-local');
    const remote = path.join(tmp, 'ct-remote');
    const a = await medimgAsync(
      ['process', ...inputs, '--out', local, '--key-file', keyFile, '--infer'],
      100_000,
    );
    const b = await medimgAsync(
      ['process', ...inputs, '--out', remote, '--key-file', keyFile, '--infer', '--endpoint', server.url],
      100_000,
    );
    expect([a.status, b.status], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
    const [ra, rb] = [await readReport(local), await readReport(remote)];
    expect(rb.critical).toHaveLength(1);
    const strip = (c: CriticalEntry) => ({ ...c, preview: path.basename(c.preview) });
    expect(rb.critical.map(strip)).toEqual(ra.critical.map(strip));
  }, 240_000);

  it('fails the run with ENDPOINT_UNAVAILABLE, exit 1, when nothing answers there', async () => {
    const run = processDxChest('down', '--key-file', keyFile, '--endpoint', 'http://127.0.0.1:9');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('inference failed (ENDPOINT_UNAVAILABLE)');
  });
});

describe('medimg process --burned-in redact', () => {
  let out: string;
  let run: BoundedRun;
  let entries: ReportEntry[];
  const names = new Map<number, string>();
  const nameOf = (e: ReportEntry): string => names.get(e.index) ?? '';

  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'medimg-cli-redact-'));
    const keyFile = path.join(out, 'key.hex');
    await writeFile(keyFile, 'b2'.repeat(32));
    run = medimg(
      [
        'process',
        path.join(REPO_ROOT, 'sample-dicom/burned-in'),
        '--out',
        path.join(out, 'result'),
        '--key-file',
        keyFile,
        '--burned-in',
        'redact',
      ],
      100_000,
    );
    entries = (
      JSON.parse(await readFile(path.join(out, 'result', 'report.json'), 'utf8')) as {
        entries: ReportEntry[];
      }
    ).entries;
    const restricted = JSON.parse(
      await readFile(path.join(out, 'result-RESTRICTED-PHI', 'inputs.json'), 'utf8'),
    ) as { inputs: { index: number; input: string }[] };
    for (const i of restricted.inputs) names.set(i.index, path.basename(i.input));
  }, 120_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('processes both unflagged sample images with text, redacted, and says so per file on stderr', () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(entries.map((e) => [nameOf(e), e.status, e.textCheck?.action])).toEqual([
      ['dx-chest-text.dcm', 'processed', 'redacted'],
      ['us-liver-text.dcm', 'processed', 'redacted'],
    ]);
    for (const e of entries) expect(e.textCheck!.phiMatches).toBeGreaterThanOrEqual(3);
    expect(String(run.stderr)).toMatch(
      /processed\s+#1 in-[0-9a-f]{20}, text: \d+ region\(s\), \d+ matching the header, redacted/,
    );
  });

  it('stores previews in which the text rows are blank and the anatomy is not', async () => {
    const us = entries.find((e) => nameOf(e) === 'us-liver-text.dcm')!;
    const { data, info } = await sharp(path.join(out, 'result', us.outputs.preview!))
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
