/**
 * 12-bit DCT JPEG (extended sequential, processes 2 & 4, and progressive 12-bit) on the public test files
 * of ../shared/dicom-corpus: every frame must decode to exactly the values dcmtk's `dcmdjpeg` writes.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBounded } from '@medimg/common/testing/child.ts';
import { CORPUS_DIR, CORPUS_PRESENT } from '@medimg/common/testing/corpus.ts';
import { type DicomFile, parseDicom } from '@medimg/dicom';
import { afterAll, describe, expect, it } from 'vitest';
import { describePixels, extendedOffsets } from './attributes.ts';
import { decodeJpeg12, jpegFrameHeader } from './codecs.ts';
import { decodeFrame, frameCountOf } from './decode.ts';
import { ImagingError } from './errors.ts';
import { encapsulatedFrame } from './frames.ts';
import { imageFile } from './testing.ts';

const corpus = CORPUS_DIR;
const work = mkdtempSync(join(tmpdir(), 'medimg-jpeg12-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The corpus files whose JPEG streams have 12-bit precision, with their frame header marker. */
const FILES = [
  [
    'cornerstonejs__dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm',
    0xc1,
  ],
  ['pydicom__pydicom/src/pydicom/data/test_files/JPEG-lossy.dcm', 0xc1],
  [
    'cornerstonejs__cornerstoneWADOImageLoader/testImages/CTImage.dcm_JPEGProcess6_8TransferSyntax_1.2.840.10008.1.2.4.53.dcm',
    0xc2,
  ],
  [
    'cornerstonejs__cornerstoneWADOImageLoader/testImages/CTImage.dcm_JPEGProcess10_12TransferSyntax_1.2.840.10008.1.2.4.55.dcm',
    0xc2,
  ],
] as const;

function load(path: string): DicomFile {
  const bytes = readFileSync(path);
  return parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function firstStream(file: DicomFile): Uint8Array {
  const desc = describePixels(file);
  return encapsulatedFrame(desc.element.encapsulated!, 0, desc.frameCount, 'jpeg', extendedOffsets(file));
}

/** dcmtk's decompression of `path` (uncompressed explicit VR little endian). */
function dcmdjpeg(path: string, name: string): DicomFile {
  const out = join(work, name);
  runBounded('dcmdjpeg', [path, out], { name: 'dcmdjpeg (Debian package dcmtk)', timeoutMs: 60_000 });
  expect(existsSync(out), 'dcmdjpeg wrote no file').toBe(true);
  return load(out);
}

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof ImagingError ? e.code : 'not an ImagingError';
  }
};

describe.skipIf(!CORPUS_PRESENT)('12-bit JPEG against dcmdjpeg', () => {
  for (const [path, marker] of FILES) {
    const name = path.split('/').pop()!;
    it(`decodes every frame of ${name} exactly as dcmtk does`, { timeout: 120_000 }, async () => {
      const source = join(corpus, path);
      expect(existsSync(source), `the corpus file ${source} is missing`).toBe(true);
      const file = load(source);
      const header = jpegFrameHeader(firstStream(file));
      expect(header).toMatchObject({ marker, precision: 12, components: 1 });

      const reference = dcmdjpeg(source, name);
      expect(reference.transferSyntax.encapsulated).toBe(false);
      const frames = frameCountOf(file);
      expect(frameCountOf(reference)).toBe(frames);
      for (let f = 0; f < frames; f++) {
        const ours = await decodeFrame(file, f);
        const theirs = await decodeFrame(reference, f);
        expect(ours.rows).toBe(theirs.rows);
        expect(ours.columns).toBe(theirs.columns);
        expect(ours.bitsStored).toBe(12);
        let differing = 0;
        for (let i = 0; i < theirs.pixels.length; i++) if (ours.pixels[i] !== theirs.pixels[i]) differing++;
        expect(differing, `frame ${f + 1}: pixels that differ from dcmdjpeg`).toBe(0);
        // A real image, not a flat one: the comparison above means something.
        expect(new Set(ours.pixels).size).toBeGreaterThan(100);
      }
    });
  }

  it('decodes a 12-bit stream labelled JPEG baseline (1.2.840.10008.1.2.4.50) by its own precision', async () => {
    const source = load(join(corpus, FILES[1][0]));
    const stream = firstStream(source);
    const desc = describePixels(source);
    const mislabelled = imageFile({
      rows: desc.rows,
      columns: desc.columns,
      bitsAllocated: 16,
      bitsStored: 12,
      transferSyntax: '1.2.840.10008.1.2.4.50',
      pixels: { basicOffsetTable: new Uint8Array(0), fragments: [stream] },
    });
    const expected = await decodeFrame(source, 0);
    expect(Array.from((await decodeFrame(mislabelled, 0)).pixels)).toEqual(Array.from(expected.pixels));
  });

  it('sign-extends the decoded samples when Pixel Representation is 1', async () => {
    const source = load(join(corpus, FILES[0][0]));
    const desc = describePixels(source);
    const spec = {
      rows: desc.rows,
      columns: desc.columns,
      bitsAllocated: 16,
      bitsStored: 12,
      transferSyntax: '1.2.840.10008.1.2.4.51',
      pixels: { basicOffsetTable: new Uint8Array(0), fragments: [firstStream(source)] },
    };
    const unsigned = (await decodeFrame(imageFile(spec), 0)).pixels;
    const signed = (await decodeFrame(imageFile({ ...spec, signed: true }), 0)).pixels;
    let high = 0;
    let wrong = 0;
    for (let i = 0; i < unsigned.length; i++) {
      const u = unsigned[i]!;
      if (signed[i] !== (u >= 2048 ? u - 4096 : u)) wrong++;
      if (u >= 2048) high++;
    }
    expect(wrong).toBe(0);
    expect(high).toBeGreaterThan(0);
  });
});

describe.skipIf(!CORPUS_PRESENT)('decodeJpeg12 errors', () => {
  it('fails with PIXEL_DECODE_FAILED on a cut or corrupt stream, and decodes the next good one', async () => {
    const stream = firstStream(load(join(corpus, FILES[1][0])));
    const header = jpegFrameHeader(stream)!;
    // Everything up to and including the frame header, then garbage: the tables are missing.
    const sofAt = stream.findIndex((b, i) => b === 0xff && stream[i + 1] === 0xc1);
    const corrupt = new Uint8Array(sofAt + 40).fill(0x5a);
    corrupt.set(stream.subarray(0, sofAt + 13));
    expect(await codeOf(decodeJpeg12(corrupt))).toBe('PIXEL_DECODE_FAILED');
    expect(await codeOf(decodeJpeg12(Uint8Array.from([1, 2, 3])))).toBe('PIXEL_DECODE_FAILED');
    const good = await decodeJpeg12(stream);
    expect([good.width, good.height, good.bitsPerSample]).toEqual([header.width, header.height, 12]);
    expect(good.samples.length).toBe(header.width * header.height);
  });

  it('fails with UNSUPPORTED_PIXEL_FORMAT for 12-bit colour', async () => {
    // SOI, SOF1 precision 12, 8x8, three components, EOI.
    const colour = Uint8Array.from([
      0xff, 0xd8, 0xff, 0xc1, 0, 17, 12, 0, 8, 0, 8, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9,
    ]);
    expect(await codeOf(decodeJpeg12(colour))).toBe('UNSUPPORTED_PIXEL_FORMAT');
  });
});

describe('jpegFrameHeader', () => {
  it('reads the SOFn fields after skipping other segments, and nothing without SOI', () => {
    const app0 = [0xff, 0xe0, 0, 4, 0, 0];
    const sof = [0xff, 0xc2, 0, 11, 12, 0x01, 0x02, 0x03, 0x04, 1, 1, 0x11, 0];
    const bytes = Uint8Array.from([0xff, 0xd8, ...app0, ...sof, 0xff, 0xd9]);
    expect(jpegFrameHeader(bytes)).toEqual({
      marker: 0xc2,
      precision: 12,
      height: 0x0102,
      width: 0x0304,
      components: 1,
    });
    expect(jpegFrameHeader(bytes.subarray(2))).toBeUndefined();
    expect(jpegFrameHeader(bytes.subarray(0, 12))).toBeUndefined();
  });
});
