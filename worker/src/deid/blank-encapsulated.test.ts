/**
 * Blanking burned-in text in compressed pixel data. Test files are made from the project's own
 * samples (sample-dicom/) with dcmtk's and GDCM's converters, as the conformance suite does: the
 * sample is marked Burned In Annotation = YES with dcmodify (the US sample already is), compressed
 * (RLE, JPEG lossless, JPEG-LS, JPEG 2000, JPEG baseline), de-identified under policy 'blank', and
 * blanked. Two public corpus files add colour cases the samples lack: a multi-frame JPEG baseline
 * YBR_FULL ultrasound and an RLE PALETTE COLOR ultrasound. Needs dcmtk, libgdcm-tools, dicom3tools.
 */

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBounded } from '@medimg/common/testing/child.ts';
import { CORPUS_DIR, CORPUS_PRESENT } from '@medimg/common/testing/corpus.ts';
import {
  type DicomFile,
  EXPLICIT_VR_LITTLE_ENDIAN,
  getNumber,
  getString,
  parseDicom,
  stringElement,
  T,
  writePart10,
} from '@medimg/dicom';
import { afterAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../adapters/fs-object-store.ts';
import { decodeFrame, frameCountOf } from '../imaging/decode.ts';
import { processFile } from '../pipeline/process-file.ts';
import { blankEncapsulated } from './blank-encapsulated.ts';
import { DeidError, deidentify } from './deidentify.ts';
import { type BlankRegion, parseDeidOptions } from './options.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');
const SAMPLES = path.join(ROOT, 'sample-dicom');
const CORPUS = CORPUS_DIR;
const KEY = new Uint8Array(32).fill(0x2a);
const tmp = mkdtempSync(path.join(tmpdir(), 'deid-blank-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** One region inside the image, one that runs off its right and bottom edges (clipped). */
const REGIONS: readonly BlankRegion[] = [
  { x: 4, y: 2, width: 40, height: 12 },
  { x: 200, y: 200, width: 1000, height: 1000 },
];
const OPTIONS = parseDeidOptions({
  burnedInPolicy: 'blank',
  blankRegions: ['US', 'CT', 'DX', 'MR'].map((modality) => ({
    modality,
    regions: REGIONS.map((r) => ({ ...r })),
  })),
});

const tool = (cmd: string, args: readonly string[]): void => {
  runBounded(cmd, args, { name: cmd, timeoutMs: 60_000 });
};

const readDicom = (file: string): DicomFile => {
  const b = readFileSync(file);
  return parseDicom(new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
};

/** Copy of a sample with Burned In Annotation = YES, compressed by `make`. */
function compressed(
  sample: string,
  name: string,
  make: (input: string, output: string) => readonly [string, readonly string[]],
): string {
  const marked = path.join(tmp, `${name}-marked.dcm`);
  copyFileSync(sample, marked);
  tool('dcmodify', ['-nb', '-i', '(0028,0301)=YES', marked]);
  const out = path.join(tmp, `${name}.dcm`);
  const [cmd, args] = make(marked, out);
  tool(cmd, args);
  return out;
}

/** dciodvfy error lines, UIDs normalised. */
function iodErrors(file: string): Set<string> {
  // dciodvfy exits non-zero when it finds errors, and crashes on some inputs: its lines are what
  // is compared, whatever its ending.
  const r = runBounded('dciodvfy', [file], {
    name: 'dciodvfy',
    timeoutMs: 60_000,
    exit: 'any',
    signalOk: true,
    encoding: 'latin1',
  });
  return new Set(
    `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('Error'))
      .map((l) => l.replace(/\b\d+(\.\d+)+\b/g, 'UID')),
  );
}

/** Palette images are compared on their indexes, everything else on decodeFrame's output. */
const asIndexes = (file: DicomFile): DicomFile =>
  getString(file.dataset, T.PhotometricInterpretation) === 'PALETTE COLOR'
    ? {
        ...file,
        dataset: new Map(file.dataset).set(
          T.PhotometricInterpretation,
          stringElement(T.PhotometricInterpretation, 'CS', 'MONOCHROME2'),
        ),
      }
    : file;

const inRegion = (x: number, y: number): boolean =>
  REGIONS.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);

/** De-identifies + blanks; checks every pixel against the decoded source; returns the written file. */
async function blankAndCompare(
  input: string,
  lossless?: string,
): Promise<{ out: DicomFile; written: string; source: DicomFile }> {
  const source = readDicom(input);
  // A lossless source decodes to the original native sample's values: check that first, so the
  // comparison below is against the original pixels, not only against our own decoder.
  const original = lossless ? readDicom(lossless) : undefined;
  expect(source.transferSyntax.encapsulated).toBe(true);
  const r = deidentify(source, { key: KEY, options: OPTIONS });
  expect(r.blankingPending).toBe(true);
  expect(r.methodCodes).toContain('113101');
  const out = await blankEncapsulated(r.file, r.needsBlanking ?? []);

  expect(out.transferSyntax.uid).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
  expect(getString(out.meta, T.TransferSyntaxUID)).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
  const pixel = out.dataset.get(T.PixelData)!;
  expect(pixel.encapsulated).toBeUndefined();
  expect(pixel.value.length % 2).toBe(0);
  const bitsAllocated = getNumber(out.dataset, T.BitsAllocated, 'little')!;
  expect(pixel.vr).toBe(bitsAllocated > 8 ? 'OW' : 'OB');

  const frames = frameCountOf(source);
  expect(frameCountOf(out)).toBe(frames);
  let blanked = 0;
  let kept = 0;
  for (let f = 0; f < frames; f++) {
    const before = await decodeFrame(asIndexes(source), f);
    const after = await decodeFrame(asIndexes(out), f);
    if (original) expect((await decodeFrame(original, f)).pixels).toEqual(before.pixels);
    expect([after.rows, after.columns, after.samplesPerPixel]).toEqual([
      before.rows,
      before.columns,
      before.samplesPerPixel,
    ]);
    expect(after.signed).toBe(before.signed);
    const spp = after.samplesPerPixel;
    const mismatches: string[] = [];
    for (let y = 0; y < after.rows; y++) {
      for (let x = 0; x < after.columns; x++) {
        for (let s = 0; s < spp; s++) {
          const i = (y * after.columns + x) * spp + s;
          const want = inRegion(x, y) ? 0 : before.pixels[i];
          if (after.pixels[i] !== want && mismatches.length < 5) mismatches.push(`f${f} (${x},${y},${s})`);
          if (inRegion(x, y)) blanked++;
          else kept++;
        }
      }
    }
    expect(mismatches).toEqual([]);
  }
  expect(blanked).toBeGreaterThan(0);
  expect(kept).toBeGreaterThan(0);

  const written = path.join(tmp, `out-${path.basename(input)}`);
  writeFileSync(written, writePart10(out));
  const dump = runBounded('dcmdump', ['-q', written], {
    name: 'dcmdump',
    timeoutMs: 60_000,
    exit: 'any',
    encoding: 'latin1',
  });
  expect(`${dump.stdout}${dump.stderr}`.split('\n').filter((l) => l.startsWith('E:'))).toEqual([]);
  expect(dump.status).toBe(0);
  const added = [...iodErrors(written)].filter((l) => !iodErrors(input).has(l));
  expect(added).toEqual([]);
  // The written file reads back as what was blanked.
  const reread = readDicom(written);
  expect([...reread.dataset.get(T.PixelData)!.value]).toEqual([...pixel.value]);
  return { out, written, source };
}

const US = path.join(SAMPLES, 'bad/us-burned-in-annotation.dcm');
const CT = path.join(SAMPLES, 'studies/ct-chest/1-axial-chest/001.dcm');
const DX = path.join(SAMPLES, 'studies/dx-chest/1-chest-pa/001.dcm');
const MR = path.join(SAMPLES, 'studies/mr-head/3-t1-se-axial/001.dcm');

describe('blanking compressed pixel data', { timeout: 120_000 }, () => {
  it.each([
    ['RLE, 8-bit US', US, 'us-rle', (i: string, o: string) => ['dcmcrle', [i, o]] as const],
    ['RLE, signed 16-bit CT', CT, 'ct-rle', (i: string, o: string) => ['dcmcrle', [i, o]] as const],
    [
      'JPEG lossless, signed 16-bit CT',
      CT,
      'ct-jpll',
      (i: string, o: string) => ['dcmcjpeg', ['+el', i, o]] as const,
    ],
    ['JPEG lossless SV1, DX', DX, 'dx-jpll', (i: string, o: string) => ['dcmcjpeg', ['+e1', i, o]] as const],
    ['JPEG-LS lossless, MR', MR, 'mr-jls', (i: string, o: string) => ['dcmcjpls', ['+el', i, o]] as const],
    [
      'JPEG-LS lossless, 8-bit US',
      US,
      'us-jls',
      (i: string, o: string) => ['dcmcjpls', ['+el', i, o]] as const,
    ],
    [
      'JPEG 2000 lossless, signed 16-bit CT',
      CT,
      'ct-j2k',
      (i: string, o: string) => ['gdcmconv', ['--j2k', i, o]] as const,
    ],
    [
      'JPEG 2000 lossless, 8-bit US',
      US,
      'us-j2k',
      (i: string, o: string) => ['gdcmconv', ['--j2k', i, o]] as const,
    ],
  ])(
    '%s: native output, regions zero, every other pixel exactly as decoded',
    async (_name, sample, name, make) => {
      const input = compressed(sample, name, make);
      const { out, source } = await blankAndCompare(input, sample);
      // The Image Pixel module describes the native data; the rest is as the source said.
      for (const t of [T.SamplesPerPixel, T.BitsAllocated, T.BitsStored, T.PixelRepresentation]) {
        expect(getNumber(out.dataset, t, 'little')).toBe(getNumber(source.dataset, t, 'little'));
      }
      expect(getNumber(out.dataset, T.HighBit, 'little')).toBe(
        getNumber(out.dataset, T.BitsStored, 'little')! - 1,
      );
      expect(getString(out.dataset, T.PhotometricInterpretation)).toBe(
        getString(source.dataset, T.PhotometricInterpretation),
      );
      expect(getString(out.dataset, T.BurnedInAnnotation)).toBe('YES');
    },
  );

  it('keeps Lossy Image Compression 01 for a lossy JPEG baseline source', async () => {
    const input = compressed(US, 'us-jpeg', (i, o) => ['dcmcjpeg', ['+eb', i, o]]);
    expect(getString(readDicom(input).dataset, T.LossyImageCompression)).toBe('01');
    const { out } = await blankAndCompare(input);
    expect(getString(out.dataset, T.LossyImageCompression)).toBe('01');
  });

  it.skipIf(!CORPUS_PRESENT)(
    're-encodes multi-frame YBR_FULL JPEG baseline colour as RGB, planar configuration 0',
    async () => {
      const input = path.join(
        CORPUS,
        'cornerstonejs__dicomParser/testImages/encapsulated/multi-frame/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm',
      );
      const { out } = await blankAndCompare(input);
      expect(getString(out.dataset, T.PhotometricInterpretation)).toBe('RGB');
      expect(getNumber(out.dataset, T.SamplesPerPixel, 'little')).toBe(3);
      expect(getNumber(out.dataset, T.PlanarConfiguration, 'little')).toBe(0);
      expect(getNumber(out.dataset, T.BitsStored, 'little')).toBe(8);
      expect(Number(getString(out.dataset, T.NumberOfFrames))).toBe(8);
    },
  );

  it.skipIf(!CORPUS_PRESENT)('keeps PALETTE COLOR indexes and palette exactly (RLE)', async () => {
    const input = path.join(
      CORPUS,
      'cornerstonejs__cornerstoneWADOImageLoader/testImages/no-pixel-spacing.dcm',
    );
    const { out, source } = await blankAndCompare(input);
    expect(getString(out.dataset, T.PhotometricInterpretation)).toBe('PALETTE COLOR');
    const palette = (t: number) => [...(out.dataset.get(t)?.value ?? [])];
    for (const t of [0x00281201, 0x00281202, 0x00281203]) {
      expect(palette(t)).toEqual([...(source.dataset.get(t)?.value ?? [])]);
    }
  });

  it('refuses with BURNED_IN_ANNOTATION, never an unblanked image, when a fragment is corrupt', async () => {
    for (const [name, make] of [
      ['bad-rle', (i: string, o: string) => ['dcmcrle', [i, o]] as const],
      ['bad-j2k', (i: string, o: string) => ['gdcmconv', ['--j2k', i, o]] as const],
      ['bad-jls', (i: string, o: string) => ['dcmcjpls', ['+el', i, o]] as const],
    ] as const) {
      const source = readDicom(compressed(US, name, make));
      const r = deidentify(source, { key: KEY, options: OPTIONS });
      const pixel = r.file.dataset.get(T.PixelData)!;
      const fragment = pixel.encapsulated!.fragments[0]!;
      // Keep the stream's first bytes (so it still looks like its kind), garble the rest.
      const garbled = fragment.slice(0, Math.min(64, fragment.length));
      for (let i = 16; i < garbled.length; i++) garbled[i] = (i * 151) & 0xff;
      const broken: DicomFile = {
        ...r.file,
        dataset: new Map(r.file.dataset).set(T.PixelData, {
          ...pixel,
          encapsulated: { basicOffsetTable: new Uint8Array(0), fragments: [garbled] },
        }),
      };
      const error = await blankEncapsulated(broken, r.needsBlanking ?? []).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(DeidError);
      expect((error as DeidError).code).toBe('BURNED_IN_ANNOTATION');
      expect(['PIXEL_DECODE_FAILED', 'PIXEL_DATA_TRUNCATED']).toContain((error as DeidError).reason);
    }
  });

  it('in the per-file pipeline, stores a blanked native instance and quarantines an undecodable one', async () => {
    const store = new FsObjectStore(path.join(tmp, 'store'));
    const good = readFileSync(compressed(US, 'pipe-rle', (i, o) => ['dcmcrle', [i, o]]));
    const source = parseDicom(new Uint8Array(good));
    const pixel = source.dataset.get(T.PixelData)!;
    const corrupt = writePart10({
      ...source,
      dataset: new Map(source.dataset).set(T.PixelData, {
        ...pixel,
        encapsulated: { basicOffsetTable: new Uint8Array(0), fragments: [new Uint8Array(64).fill(0x5a)] },
      }),
    });
    await store.put('raw', 'incoming/b/good.dcm', new Uint8Array(good));
    await store.put('raw', 'incoming/b/corrupt.dcm', corrupt);
    const ctx = {
      jobId: 'job-blank',
      rawBucket: 'raw',
      processedBucket: 'processed',
      linkageBucket: 'linkage',
      store,
      deid: { key: KEY, options: OPTIONS },
      maxObjectBytes: 64 * 1024 * 1024,
      onStep: () => {},
    };
    const ok = await processFile({ index: 0, key: 'incoming/b/good.dcm', size: good.length }, ctx);
    if (ok.status !== 'processed') throw new Error(`expected processed, got ${JSON.stringify(ok)}`);
    const stored = parseDicom(await store.get('processed', ok.instance.keys.instance));
    expect(stored.transferSyntax.uid).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    const frame = await decodeFrame(stored, 0);
    expect(frame.pixels[2 * frame.columns + 4]).toBe(0); // inside the first region
    const bad = await processFile({ index: 1, key: 'incoming/b/corrupt.dcm', size: corrupt.length }, ctx);
    expect(bad).toEqual({ status: 'quarantined', reason: 'BURNED_IN_ANNOTATION', step: 'deidentify' });
    expect(await store.list('processed', 'studies/')).toHaveLength(4); // the good one: .dcm + 3 PNGs
  });

  it('refuses without regions, and refuses native pixel data (deidentify blanks that itself)', async () => {
    const source = readDicom(compressed(US, 'us-rle-noregion', (i, o) => ['dcmcrle', [i, o]]));
    const r = deidentify(source, { key: KEY, options: OPTIONS });
    await expect(blankEncapsulated(r.file, [])).rejects.toMatchObject({
      code: 'BURNED_IN_ANNOTATION',
      reason: 'NO_BLANK_RULE',
    });
    const native = deidentify(readDicom(US), { key: KEY, options: OPTIONS });
    expect(native.blankingPending).toBeUndefined();
    await expect(blankEncapsulated(native.file, REGIONS)).rejects.toMatchObject({
      code: 'BURNED_IN_ANNOTATION',
      reason: 'NOT_ENCAPSULATED',
    });
  });
});
