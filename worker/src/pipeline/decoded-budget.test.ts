/**
 * Memory-safe inflation (issue 11): deflated data sets are bounded by a budget that counts DECODED
 * bytes. A deflate bomb (a few MB that inflate to 1 GiB of zeros in Pixel Data) is quarantined with
 * DECODED_SIZE_LIMIT, and the process that met it stays within the budget: measured as the peak
 * resident memory of a child process that runs `medimg process` on it (default budget 256 MiB).
 *
 * The bomb is built by streaming: a small explicit-VR data set, then a Pixel Data header that
 * announces N bytes, then N zero bytes, all through one raw deflate stream; the File Meta says
 * Deflated Explicit VR Little Endian.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDeflateRaw } from 'node:zlib';
import {
  type DataSet,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  type DicomParseError,
  parseDicom,
  stringElement,
  T,
  writePart10,
} from '@medimg/dicom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInChild } from '../cli/testing.ts';
import { DEFAULT_MAX_DECODED_BYTES } from './process-file.ts';

const MiB = 1024 * 1024;

const EXPLICIT_LE = {
  uid: '1.2.840.10008.1.2.1',
  explicitVr: true,
  byteOrder: 'little' as const,
  deflated: false,
  encapsulated: false,
};
const DEFLATED = { ...EXPLICIT_LE, uid: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, deflated: true };

function header(): DataSet {
  return new Map([
    [T.SOPClassUID, stringElement(T.SOPClassUID, 'UI', '1.2.840.10008.5.1.4.1.1.7')],
    [T.SOPInstanceUID, stringElement(T.SOPInstanceUID, 'UI', '1.2.826.0.1.3680043.99997.1.1')],
    [T.StudyInstanceUID, stringElement(T.StudyInstanceUID, 'UI', '1.2.826.0.1.3680043.99997.1')],
    [T.SeriesInstanceUID, stringElement(T.SeriesInstanceUID, 'UI', '1.2.826.0.1.3680043.99997.1.0')],
    [T.Modality, stringElement(T.Modality, 'CS', 'OT')],
  ]);
}

/** Bytes of a Part 10 file after its File Meta (group length at offset 140, after 'DICM'). */
const metaEnd = (part10: Uint8Array): number =>
  144 + new DataView(part10.buffer, part10.byteOffset).getUint32(140, true);

/** A deflated Part 10 file whose data set inflates to about `inflatedBytes`. */
async function deflateBomb(inflatedBytes: number): Promise<Uint8Array> {
  const plain = writePart10({ meta: new Map(), dataset: header(), transferSyntax: EXPLICIT_LE });
  const deflatedFile = writePart10({ meta: new Map(), dataset: header(), transferSyntax: DEFLATED });
  const prefix = deflatedFile.subarray(0, metaEnd(deflatedFile));
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt16LE(0x7fe0, 0);
  pixelHeader.writeUInt16LE(0x0010, 2);
  pixelHeader.write('OB', 4, 'latin1');
  pixelHeader.writeUInt32LE(inflatedBytes, 8);
  const deflate = createDeflateRaw({ level: 1 });
  const chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => deflate.on('end', resolve));
  deflate.write(plain.subarray(metaEnd(plain)));
  deflate.write(pixelHeader);
  const zeros = Buffer.alloc(16 * MiB);
  for (let left = inflatedBytes; left > 0; left -= zeros.length) {
    if (!deflate.write(zeros.subarray(0, Math.min(left, zeros.length))))
      await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await ended;
  return Buffer.concat([prefix, ...chunks]);
}

describe('decoded-size budget', () => {
  it('refuses a data set that inflates past the budget with DECODED_SIZE_LIMIT, before inflating it whole', async () => {
    const bomb = await deflateBomb(8 * MiB);
    expect(bomb.length).toBeLessThan(MiB);
    expect(() => parseDicom(bomb, { maxInflatedBytes: 4 * MiB })).toThrow(
      expect.objectContaining({ name: 'DicomParseError', code: 'DECODED_SIZE_LIMIT' }) as DicomParseError,
    );
    // Within the budget, the same file parses: the budget is what refuses it.
    expect(parseDicom(bomb, { maxInflatedBytes: 16 * MiB }).dataset.get(T.PixelData)?.value.length).toBe(
      8 * MiB,
    );
  });

  describe('a 1 GiB deflate bomb through medimg process, in a child process', () => {
    let work: string;
    let result: { code: number; maxRssMiB: number };
    let report: { entries: { status: string; reason: string | null }[] };

    beforeAll(async () => {
      work = await mkdtemp(path.join(os.tmpdir(), 'medimg-bomb-'));
      const bomb = await deflateBomb(1024 * MiB);
      await writeFile(path.join(work, 'bomb.dcm'), bomb);
      await writeFile(path.join(work, 'key.hex'), 'c3'.repeat(32));
      // Bounded: a child that never exits fails this test instead of blocking the whole run.
      result = await runCliInChild(
        work,
        [
          'process',
          path.join(work, 'bomb.dcm'),
          '--out',
          path.join(work, 'out'),
          '--key-file',
          path.join(work, 'key.hex'),
        ],
        { name: 'the CLI child', timeoutMs: 100_000 },
      );
      report = JSON.parse(await readFile(path.join(work, 'out', 'report.json'), 'utf8')) as typeof report;
    }, 120_000);

    afterAll(async () => {
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('quarantines the bomb with its own reason code and exits 0', () => {
      expect(result.code).toBe(0);
      expect(report.entries).toEqual([
        expect.objectContaining({ status: 'quarantined', reason: 'DECODED_SIZE_LIMIT' }),
      ]);
    });

    it('peaks well under the inflated size: within the budget plus the runtime', () => {
      // Node, tsx, sharp and the codecs take about 150-250 MiB before any input; 1 GiB inflated
      // would show as more than 1 GiB.
      expect(result.maxRssMiB).toBeLessThan(DEFAULT_MAX_DECODED_BYTES / MiB + 400);
      expect(result.maxRssMiB).toBeLessThan(1024);
    });
  });
});
