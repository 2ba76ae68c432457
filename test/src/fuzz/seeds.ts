/**
 * Seed files for the fuzzer: the generated sample studies, the public corpus (../shared/dicom-corpus,
 * when present) and a few built here (an HTJ2K image, encoded with the OpenJPH encoder, since no
 * public file uses it). Every seed gets PHI markers in the attributes a hospital's files carry
 * identity in (names, ids, institution, descriptions, a private tag) before it is mutated, so the
 * harness can look for them in everything the pipeline writes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { DataSet, DicomFile } from '@medimg/dicom';
import {
  numberElement,
  parseDicom,
  stringElement,
  T,
  tag,
  transferSyntaxOf,
  writePart10,
} from '@medimg/dicom';
import { REPO_ROOT } from '../local/task-runner.ts';

const require = createRequire(import.meta.url);

/** The text every marker starts with; found anywhere in a processed output, it is a leak. */
export const PHI_MARKER = 'FZPHI';

export interface Seed {
  readonly name: string;
  /** Transfer syntax UID of the seed. */
  readonly ts: string;
  readonly bytes: Uint8Array;
}

export const CORPUS_DIR = path.resolve(REPO_ROOT, '../shared/dicom-corpus');

const MARKED: readonly [number, string, string][] = [
  [T.PatientName, 'PN', `${PHI_MARKER}^NAME`],
  [T.PatientID, 'LO', `${PHI_MARKER}ID`],
  [T.InstitutionName, 'LO', `${PHI_MARKER} INSTITUTION`],
  [T.ReferringPhysicianName, 'PN', `${PHI_MARKER}^REFERRER`],
  [T.StudyDescription, 'LO', `CHEST ${PHI_MARKER} STUDY`],
  [T.OperatorsName, 'PN', `${PHI_MARKER}^OPERATOR`],
  [T.AccessionNumber, 'SH', `${PHI_MARKER}ACC`],
  [T.OtherPatientNames, 'PN', `${PHI_MARKER}^OTHER`],
  [tag(0x0009, 0x0010), 'LO', 'FUZZ CREATOR'],
  [tag(0x0009, 0x1001), 'LO', `${PHI_MARKER} PRIVATE`],
];

/** Writes the PHI markers into a parsed file (top level and one sequence item) and re-encodes it. */
export function markFile(file: DicomFile): Uint8Array {
  const dataset: DataSet = new Map(file.dataset);
  for (const [t, vr, text] of MARKED) dataset.set(t, stringElement(t, vr, text));
  const item: DataSet = new Map([
    [T.PatientName, stringElement(T.PatientName, 'PN', `${PHI_MARKER}^NESTED`)],
  ]);
  dataset.set(tag(0x0008, 0x1250), {
    tag: tag(0x0008, 0x1250),
    vr: 'SQ',
    value: new Uint8Array(0),
    items: [item],
  });
  return writePart10({ ...file, dataset, meta: new Map() });
}

function tryMark(name: string, bytes: Uint8Array): Seed | undefined {
  try {
    const file = parseDicom(bytes);
    return { name, ts: file.transferSyntax.uid, bytes: markFile(file) };
  } catch {
    return undefined;
  }
}

function listDcm(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** An HTJ2K image (transfer syntax 1.2.840.10008.1.2.4.201), 32 x 32, 12 bits. */
async function htj2kSeed(): Promise<Seed | undefined> {
  const openjph = await require('@cornerstonejs/codec-openjph')({ print() {}, printErr() {} });
  const encoder = new openjph.HTJ2KEncoder();
  const width = 32;
  const height = 32;
  const samples = new Uint16Array(width * height).map((_, i) => (i * 131) % 4096);
  encoder
    .getDecodedBuffer({
      width,
      height,
      bitsPerSample: 12,
      componentCount: 1,
      isSigned: false,
      isUsingColorTransform: false,
    })
    .set(new Uint8Array(samples.buffer));
  encoder.encode();
  const encoded: Uint8Array = encoder.getEncodedBuffer().slice();
  encoder.delete();
  const uid = '1.2.840.10008.1.2.4.201';
  const ts = transferSyntaxOf(uid);
  const ds: DataSet = new Map();
  const put = (el: ReturnType<typeof stringElement>): void => void ds.set(el.tag, el);
  put(stringElement(T.SOPClassUID, 'UI', '1.2.840.10008.5.1.4.1.1.7'));
  put(stringElement(T.SOPInstanceUID, 'UI', '1.2.826.0.1.3680043.99919.1.1.1'));
  put(stringElement(T.StudyInstanceUID, 'UI', '1.2.826.0.1.3680043.99919.1'));
  put(stringElement(T.SeriesInstanceUID, 'UI', '1.2.826.0.1.3680043.99919.1.1'));
  put(stringElement(T.Modality, 'CS', 'OT'));
  put(numberElement(T.SamplesPerPixel, 'US', [1], 'little'));
  put(stringElement(T.PhotometricInterpretation, 'CS', 'MONOCHROME2'));
  put(numberElement(T.Rows, 'US', [height], 'little'));
  put(numberElement(T.Columns, 'US', [width], 'little'));
  put(numberElement(T.BitsAllocated, 'US', [16], 'little'));
  put(numberElement(T.BitsStored, 'US', [12], 'little'));
  put(numberElement(T.HighBit, 'US', [11], 'little'));
  put(numberElement(T.PixelRepresentation, 'US', [0], 'little'));
  ds.set(T.PixelData, {
    tag: T.PixelData,
    vr: 'OB',
    value: new Uint8Array(0),
    encapsulated: { basicOffsetTable: new Uint8Array(0), fragments: [encoded] },
  });
  return tryMark('built/htj2k.dcm', writePart10({ meta: new Map(), dataset: ds, transferSyntax: ts }));
}

export interface SeedOptions {
  /** Include the public corpus (default: when the folder exists). */
  readonly corpus?: boolean;
  /** Sample files taken per generated study (default 2). */
  readonly samplesPerStudy?: number;
}

/** Loads and marks every seed, sorted by name so that a seed number means the same file every run. */
export async function loadSeeds(options: SeedOptions = {}): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const studies = path.join(REPO_ROOT, 'sample-dicom/studies');
  for (const study of readdirSync(studies).sort()) {
    const files = listDcm(path.join(studies, study)).slice(0, options.samplesPerStudy ?? 2);
    for (const f of files) {
      const seed = tryMark(`samples/${path.relative(studies, f)}`, new Uint8Array(readFileSync(f)));
      if (seed) seeds.push(seed);
    }
  }
  const bad = path.join(REPO_ROOT, 'sample-dicom/bad/us-burned-in-annotation.dcm');
  const burned = tryMark('samples/bad/us-burned-in-annotation.dcm', new Uint8Array(readFileSync(bad)));
  if (burned) seeds.push(burned);
  const useCorpus = options.corpus ?? existsSync(path.join(CORPUS_DIR, 'manifest.tsv'));
  if (useCorpus) {
    for (const f of listDcm(CORPUS_DIR)) {
      if (f.endsWith('.tsv') || f.endsWith('.md')) continue;
      const seed = tryMark(`corpus/${path.relative(CORPUS_DIR, f)}`, new Uint8Array(readFileSync(f)));
      if (seed) seeds.push(seed);
    }
  }
  const ht = await htj2kSeed();
  if (ht) seeds.push(ht);
  return seeds.sort((a, b) => a.name.localeCompare(b.name));
}
