import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBounded } from '@medimg/common/testing/child.ts';
import { CORPUS_DIR, CORPUS_PRESENT } from '@medimg/common/testing/corpus.ts';
import { afterAll, describe, expect, it } from 'vitest';
import type { DataSet, DicomFile } from './dataset.ts';
import { formatTag } from './dataset.ts';
import { DicomParseError, parseDicom, transferSyntaxOf } from './parse.ts';
import { T } from './tags.ts';
import { getNumber, getString, numberElement, sequenceElement, stringElement } from './values.ts';
import { buildFileMeta, IMPLEMENTATION_CLASS_UID, writePart10 } from './writer.ts';

const CORPUS = CORPUS_DIR;
const work = join(tmpdir(), `dicomcore-writer-${process.pid}`);
mkdirSync(work, { recursive: true });
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Flattens a data set into comparable lines: tag path, VR, value bytes (hex), fragments. */
function describeDataSet(ds: DataSet, prefix = ''): string[] {
  const out: string[] = [];
  for (const el of [...ds.values()].sort((a, b) => a.tag - b.tag)) {
    const path = `${prefix}${formatTag(el.tag)}`;
    if (el.items) {
      out.push(`${path} SQ ${el.items.length}`);
      el.items.forEach((item, i) => {
        out.push(...describeDataSet(item, `${path}[${i}].`));
      });
    } else if (el.encapsulated) {
      out.push(`${path} ${el.vr} bot=${Buffer.from(el.encapsulated.basicOffsetTable).toString('hex')}`);
      el.encapsulated.fragments.forEach((f, i) => {
        out.push(`${path} frag${i} ${Buffer.from(f).toString('hex')}`);
      });
    } else {
      out.push(`${path} ${el.vr} ${Buffer.from(el.value).toString('hex')}`);
    }
  }
  return out;
}

/** dcmdump's E:/W: lines, or a line saying dcmdump failed. */
function dcmdumpIssues(path: string): string[] {
  // Bounded (well under a second per file): a dcmdump that never ends fails the test by name.
  const r = runBounded('dcmdump', ['-q', path], {
    name: 'dcmdump',
    timeoutMs: 30_000,
    exit: 'any',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text = r.status === 0 ? r.stdout : `E: dcmdump failed\n${r.stdout}${r.stderr}`;
  return text.split('\n').filter((l) => /^[EW]:/.test(l));
}

function sample(ts: string): DicomFile {
  const dataset: DataSet = new Map();
  const order = transferSyntaxOf(ts).byteOrder;
  const put = (el: ReturnType<typeof stringElement>): void => void dataset.set(el.tag, el);
  put(stringElement(T.SOPClassUID, 'UI', '1.2.840.10008.5.1.4.1.1.7'));
  put(stringElement(T.SOPInstanceUID, 'UI', '2.25.1234'));
  put(stringElement(T.SpecificCharacterSet, 'CS', 'ISO_IR 100'));
  put(stringElement(T.PatientName, 'PN', 'Müller^Jürgen', { terms: ['ISO_IR 100'] }));
  put(numberElement(T.Rows, 'US', [2], order));
  put(numberElement(T.Columns, 'US', [2], order));
  put(
    sequenceElement(T.ReferencedImageSequence, [
      new Map([[T.ReferencedSOPInstanceUID, stringElement(T.ReferencedSOPInstanceUID, 'UI', '2.25.99')]]),
      new Map(),
    ]),
  );
  put({ tag: T.PixelData, vr: 'OW', value: Uint8Array.of(1, 0, 2, 0, 3, 0, 4, 0) });
  return {
    meta: buildFileMeta({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.7',
      sopInstanceUid: '2.25.1234',
      transferSyntaxUid: ts,
    }),
    dataset,
    transferSyntax: transferSyntaxOf(ts),
  };
}

describe('writePart10', () => {
  for (const ts of [
    '1.2.840.10008.1.2',
    '1.2.840.10008.1.2.1',
    '1.2.840.10008.1.2.2',
    '1.2.840.10008.1.2.1.99',
  ]) {
    it(`writes a file that parses back to the same elements in ${ts}`, () => {
      const file = sample(ts);
      const bytes = writePart10(file);
      expect(String.fromCharCode(...bytes.subarray(128, 132))).toBe('DICM');
      expect(bytes.subarray(0, 128).every((b) => b === 0)).toBe(true);
      const back = parseDicom(bytes);
      expect(back.transferSyntax.uid).toBe(ts);
      expect(describeDataSet(back.dataset)).toEqual(describeDataSet(file.dataset));
      expect(getString(back.dataset, T.PatientName)).toBe('Müller^Jürgen');
      expect(getNumber(back.dataset, T.Rows, back.transferSyntax.byteOrder)).toBe(2);
      const path = join(work, `sample-${ts}.dcm`);
      writeFileSync(path, bytes);
      expect(dcmdumpIssues(path)).toEqual([]);
    });
  }

  it('recomputes the meta group length and names the implementation', () => {
    const bytes = writePart10(sample('1.2.840.10008.1.2.1'));
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const groupLength = view.getUint32(132 + 8, true);
    const back = parseDicom(bytes);
    // the data set starts right after the group: its first tag is (0008,0005)
    expect(view.getUint16(132 + 12 + groupLength, true)).toBe(0x0008);
    expect(getString(back.meta, T.ImplementationClassUID)).toBe(IMPLEMENTATION_CLASS_UID);
    expect(IMPLEMENTATION_CLASS_UID).toMatch(/^2\.25\.\d+$/);
  });

  it('adds File Meta Information to a data set that had none', () => {
    const { dataset, transferSyntax } = sample('1.2.840.10008.1.2');
    const back = parseDicom(writePart10({ meta: new Map(), dataset, transferSyntax }));
    expect(getString(back.meta, T.MediaStorageSOPInstanceUID)).toBe('2.25.1234');
    expect(getString(back.meta, T.TransferSyntaxUID)).toBe('1.2.840.10008.1.2');
  });
});

describe.skipIf(!CORPUS_PRESENT)('corpus round trip', () => {
  const manifest = join(CORPUS, 'manifest.tsv');
  it('has the public corpus at MEDIMG_CORPUS (default ../shared/dicom-corpus)', () => {
    expect(existsSync(manifest), `missing ${manifest}`).toBe(true);
  });
  const paths = existsSync(manifest)
    ? readFileSync(manifest, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split('\t')[0]!)
    : [];

  it('parses, writes and re-parses every corpus file to the same elements, or fails with a code', () => {
    const failures: string[] = [];
    let roundTripped = 0;
    paths.forEach((rel, i) => {
      const input = readFileSync(join(CORPUS, rel));
      let file: DicomFile;
      try {
        file = parseDicom(input);
      } catch (error) {
        if (!(error instanceof DicomParseError)) failures.push(`${rel}: parse threw ${String(error)}`);
        return;
      }
      try {
        const out = join(work, `corpus-${i}.dcm`);
        writeFileSync(out, writePart10(file));
        const back = parseDicom(readFileSync(out));
        const a = describeDataSet(file.dataset);
        const b = describeDataSet(back.dataset);
        if (a.join('\n') !== b.join('\n')) {
          const diff = a.findIndex((line, k) => line !== b[k]);
          failures.push(`${rel}: data set differs at line ${diff}`);
        }
        const inputPath = join(CORPUS, rel);
        const before = new Set(dcmdumpIssues(inputPath).map((l) => l.replace(/\d+/g, '#')));
        const errors = dcmdumpIssues(out).filter(
          (l) => l.startsWith('E:') || !before.has(l.replace(/\d+/g, '#')),
        );
        if (errors.length > 0) failures.push(`${rel}: dcmdump on the written file: ${errors[0]}`);
        roundTripped += 1;
      } catch (error) {
        failures.push(`${rel}: round trip threw ${String(error)}`);
      }
    });
    if (failures.length > 0) console.log(failures.join('\n'));
    expect(failures).toEqual([]);
    expect(roundTripped).toBeGreaterThan(paths.length - 8);
  });

  it('fails truncated and corrupted corpus files with a code and never hangs', () => {
    const failures: string[] = [];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (const rel of paths) {
      const input = new Uint8Array(readFileSync(join(CORPUS, rel)));
      const variants = [input.subarray(0, Math.floor(input.length / 2)), input.subarray(0, 200 + rnd(400))];
      const mutated = input.slice();
      for (let k = 0; k < 20; k++) mutated[rnd(Math.min(mutated.length, 4000))] = rnd(256);
      variants.push(mutated);
      for (const v of variants) {
        try {
          parseDicom(v);
        } catch (error) {
          if (!(error instanceof DicomParseError)) failures.push(`${rel}: ${String(error)}`);
        }
      }
    }
    if (failures.length > 0) console.log(failures.join('\n'));
    expect(failures).toEqual([]);
  });
});
