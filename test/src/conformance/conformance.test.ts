/**
 * Conformance of the normalised images against dcmtk (DESIGN "Testing strategy", issue 3).
 *
 * Each source image (the generated samples in sample-dicom/studies, plus a few public test files) is
 * rewritten in every transfer syntax the installed tools can write (dcmconv, dcmcrle, dcmcjpeg, dcmcjpls,
 * gdcmconv). Each result is rendered by the project (the full-size windowed 8-bit frame) and by dcmtk
 * with the same window, and compared pixel by pixel: lossless syntaxes within 1/255, lossy ones at
 * 40 dB PSNR or better, except JPEG extended (8 and 12-bit), whose decoders match dcmtk's exactly and
 * so are held to 1/255 too. The table goes to test/.work/conformance-report.md; a syntax no tool here can
 * write is listed as 'not produced'.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDicom, T } from '@medimg/dicom';
import { jpegFrameHeader } from '@medimg/worker/imaging/codecs.ts';
import { ImagingError } from '@medimg/worker/imaging/errors.ts';
import { type DisplayFrame, renderDisplayFrame } from '@medimg/worker/imaging/render.ts';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compare,
  dcmtkRender,
  run,
  toolsAvailable,
  VARIANTS,
  type Variant,
  type WindowChoice,
} from './dcmtk.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const corpus = resolve(repoRoot, '../shared/dicom-corpus');
const samples = join(repoRoot, 'sample-dicom/studies');
const reportPath = join(repoRoot, 'test/.work/conformance-report.md');

const LOSSLESS_MAX_DIFF = 1;
/**
 * YBR_FULL to RGB: dcmtk 3.6.7 centres chroma at 127.5 instead of 128 (PS3.3 C.7.6.3.1.2) and truncates,
 * so neutral grey Y=64 Cb=Cr=128 comes out as (64, 63, 64). The project follows the standard; the two
 * differ by up to 2 levels on YBR_FULL images decoded as such.
 */
const YBR_MAX_DIFF = 2;
const LOSSY_MIN_PSNR = 40;
/** JPEG DCT transfer syntaxes (baseline, extended and the retired ones) share this prefix. */
const TS_JPEG_DCT = '1.2.840.10008.1.2.4.5';
const MAX_SAMPLE_SOURCES = 8;

/** Public test files covering what the samples may not: CT and MR (signed 16-bit, header windows),
 * 8-bit grey, RGB, YBR_FULL_422 and palette colour. */
const CORPUS_SOURCES = [
  'pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm',
  'pydicom__pydicom/src/pydicom/data/test_files/MR_small.dcm',
  'cornerstonejs__cornerstoneWADOImageLoader/testImages/CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm',
  'pydicom__pydicom/src/pydicom/data/test_files/image_dfl.dcm',
  'pydicom__pydicom/src/pydicom/data/test_files/SC_rgb_jpeg_dcmd.dcm',
  'pydicom__pydicom/src/pydicom/data/test_files/SC_ybr_full_422_uncompressed.dcm',
  'pydicom__pydicom/src/pydicom/data/test_files/examples_palette.dcm',
];

/** One DICOM file per series folder of the generated samples, when they exist. */
function sampleSources(): string[] {
  if (!existsSync(samples)) return [];
  const bySeries = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!bySeries.has(dir) && (entry.name.endsWith('.dcm') || !entry.name.includes('.')))
        bySeries.set(dir, path);
    }
  };
  walk(samples);
  return [...bySeries.values()].slice(0, MAX_SAMPLE_SOURCES);
}

interface ReportRow {
  source: string;
  variant: string;
  ts: string;
  photometric: string;
  frame: string;
  reference: string;
  result: string;
  maxDiff: string;
  psnr: string;
}

const rows: ReportRow[] = [];
const work = mkdtempSync(join(tmpdir(), 'medimg-conformance-'));

function windowChoice(frame: DisplayFrame): WindowChoice {
  const w = frame.window;
  if (frame.channels === 3 || !w) return { kind: 'none' };
  if (w.source === 'header') return { kind: 'first-header' };
  if (w.source === 'voi-lut') return { kind: 'first-voi-lut' };
  // dcmtk 3.6.7 has no LINEAR_EXACT: LINEAR with (c + 0.5, w + 1) has the same end points and slope.
  if (w.function === 'LINEAR_EXACT')
    return { kind: 'explicit', center: w.center + 0.5, width: w.width + 1, sigmoid: false };
  return { kind: 'explicit', center: w.center, width: w.width, sigmoid: w.function === 'SIGMOID' };
}

/** Writes `variant` of `base`, renders it both ways and compares. Returns a failure text or undefined. */
async function check(sourceName: string, base: string, variant: Variant): Promise<string | undefined> {
  const row: ReportRow = {
    source: sourceName,
    variant: variant.name,
    ts: variant.ts,
    photometric: '',
    frame: '',
    reference: '',
    result: '',
    maxDiff: '',
    psnr: '',
  };
  rows.push(row);
  if (!variant.make) {
    row.result = 'not produced (no installed tool writes it)';
    return undefined;
  }
  const out = join(work, `${basename(base, '.dcm')}-${variant.name.replace(/\W+/g, '_')}.dcm`);
  const [command, args] = variant.make(base, out);
  const made = run(command, args);
  if (!made.ok || !existsSync(out)) {
    row.result = `not produced (${command} refused: ${made.output.split('\n')[0]?.slice(0, 80) ?? ''})`;
    return undefined;
  }
  const bytes = readFileSync(out);
  const file = parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (file.transferSyntax.uid !== variant.ts) {
    row.result = `not produced (${command} wrote ${file.transferSyntax.uid})`;
    return undefined;
  }
  // JPEG DCT: name the sample precision dcmcjpeg chose (12-bit for sources with more than 8 bits stored).
  const firstFragment = file.dataset.get(T.PixelData)?.encapsulated?.fragments[0];
  const header =
    variant.ts.startsWith(`${TS_JPEG_DCT}`) && firstFragment ? jpegFrameHeader(firstFragment) : undefined;
  if (header) row.variant = `${variant.name} (${header.precision}-bit)`;

  let ours: DisplayFrame;
  try {
    ours = await renderDisplayFrame(file);
  } catch (e) {
    const code = e instanceof ImagingError ? e.code : 'NOT AN ImagingError';
    row.result = `FAIL: ${code}`;
    return `${sourceName} ${variant.name}: the project failed with ${code}`;
  }
  row.photometric = ours.photometric;
  row.frame = `${ours.frameIndex + 1}/${ours.frameCount}`;

  const ref = dcmtkRender(out, variant.ts, ours.frameIndex, windowChoice(ours));
  row.reference = ref.reference;
  if (!ref.image) {
    row.result = `FAIL: reference could not render (${ref.error?.split('\n')[0]?.slice(0, 80)})`;
    return `${sourceName} ${variant.name}: the reference renderer failed`;
  }
  if (
    ref.image.width !== ours.columns ||
    ref.image.height !== ours.rows ||
    ref.image.channels !== ours.channels
  ) {
    row.result = 'FAIL: size or channels differ';
    return `${sourceName} ${variant.name}: size or channels differ from the reference`;
  }
  const { maxDiff, psnr } = compare(ours.pixels, ref.image.pixels);
  row.maxDiff = String(maxDiff);
  row.psnr = Number.isFinite(psnr) ? psnr.toFixed(1) : 'inf';
  const allowed = ours.photometric.startsWith('YBR_FULL') ? YBR_MAX_DIFF : LOSSLESS_MAX_DIFF;
  const pass = variant.lossy && !variant.exact ? psnr >= LOSSY_MIN_PSNR : maxDiff <= allowed;
  row.result = pass ? 'pass' : 'FAIL';
  if (pass) return undefined;
  return variant.lossy && !variant.exact
    ? `${sourceName} ${variant.name}: PSNR ${row.psnr} dB < ${LOSSY_MIN_PSNR}`
    : `${sourceName} ${variant.name}: max difference ${maxDiff} > ${allowed}`;
}

/** The source as uncompressed Explicit VR Little Endian, the input every converter accepts. */
function prepareBase(source: string, name: string): string {
  const base = join(work, `${name}.dcm`);
  if (run('dcmconv', ['+te', source, base]).ok) return base;
  const copy = join(work, `${name}-in.dcm`);
  copyFileSync(source, copy);
  const raw = run('gdcmconv', ['-w', copy, base]);
  if (!raw.ok) throw new Error(`cannot decompress the source ${name}: ${raw.output}`);
  return base;
}

const sources = [
  ...sampleSources().map((path) => ({ name: relative(samples, path).replace(/[\\/]/g, '_'), path })),
  ...CORPUS_SOURCES.map((p) => ({ name: basename(p).replace(/\.dcm$/, ''), path: join(corpus, p) })),
];

describe('conformance against dcmtk', () => {
  afterAll(() => {
    const table = [
      '# Conformance report',
      '',
      `Project rendering (full-size windowed 8-bit frame) against dcmtk with the same window. Lossless: max`,
      `difference <= ${LOSSLESS_MAX_DIFF}/255 (${YBR_MAX_DIFF}/255 for YBR_FULL, where dcmtk centres chroma at 127.5);`,
      `lossy: PSNR >= ${LOSSY_MIN_PSNR} dB. JPEG 2000 is decoded for the reference by GDCM (dcmtk has no decoder).`,
      '',
      '| source | variant | transfer syntax | photometric | frame | reference | result | max diff | PSNR (dB) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.source} | ${r.variant} | ${r.ts} | ${r.photometric} | ${r.frame} | ${r.reference} | ${r.result} | ${r.maxDiff} | ${r.psnr} |`,
      ),
      '',
    ].join('\n');
    mkdirSync(dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, table);
    console.log(table);
    rmSync(work, { recursive: true, force: true });
  });

  it('has dcmtk, GDCM and the source files it needs', () => {
    expect(toolsAvailable(), 'missing tools (Debian packages dcmtk, libgdcm-tools)').toEqual([]);
    const missing = CORPUS_SOURCES.filter((p) => !existsSync(join(corpus, p)));
    expect(missing, `public test files missing under ${corpus}`).toEqual([]);
  });

  for (const source of sources) {
    it(`renders ${source.name} like dcmtk in every transfer syntax`, { timeout: 600_000 }, async () => {
      const base = prepareBase(source.path, source.name);
      const failures: string[] = [];
      for (const variant of VARIANTS) {
        const failure = await check(source.name, base, variant);
        if (failure) failures.push(failure);
      }
      expect(failures).toEqual([]);
      // The uncompressed variants must always be produced and compared.
      const compared = rows.filter(
        (r) => r.source === source.name && (r.result === 'pass' || r.result.startsWith('FAIL')),
      );
      expect(compared.length).toBeGreaterThanOrEqual(4);
    });
  }

  it('compares JPEG extended with 12-bit precision (process 4) for the sources with more than 8 bits', () => {
    const twelveBit = rows.filter((r) => r.variant === 'JPEG extended (12-bit)');
    expect(twelveBit.length).toBeGreaterThanOrEqual(3);
    expect(twelveBit.filter((r) => r.result !== 'pass')).toEqual([]);
  });
});
