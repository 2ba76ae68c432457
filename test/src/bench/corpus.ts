/**
 * The bench's corpora, generated deterministically (same options, byte-identical files) with the
 * project's own DICOM writer, FAKE patient data only:
 *   - ct-300: a 300-slice 512x512 16-bit CT series, explicit VR little endian (about 157 MB);
 *   - ct-300-jpegls: the same series in JPEG-LS lossless (made from ct-300 with DCMTK's dcmcjpls);
 *   - mf-100: one 100-frame 512x512 16-bit multi-frame object (about 52 MB);
 *   - cr-1000: 1,000 small 256x256 CR images (about 131 KB each);
 *   - large (only with --large): 1,000 slices of 1024x1024 16-bit CT (about 2.1 GB).
 * They are cached under a folder (default: <tmp>/medimg-bench-corpus) and made again only when
 * their stamp (the generator version and the options) differs.
 */

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runBounded } from '@medimg/common/testing/child.ts';
import { mulberry32 } from '@medimg/common/testing/random.ts';
import {
  buildFileMeta,
  type DataElement,
  type DataSet,
  EXPLICIT_VR_LITTLE_ENDIAN,
  formatDS,
  numberElement,
  stringElement,
  T,
  type Tag,
  writePart10,
} from '@medimg/dicom';

const GENERATOR_VERSION = 1;
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';
const NM_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.20';
const ROOT_UID = '2.25.';

/** A UID under 2.25 made from the parts (deterministic, unique per parts). */
function uid(...parts: (string | number)[]): string {
  let h = 1469598103934665603n;
  for (const ch of parts.join('/')) {
    h ^= BigInt(ch.codePointAt(0) ?? 0);
    h = (h * 1099511628211n) & ((1n << 120n) - 1n);
  }
  return `${ROOT_UID}${h}`;
}

/**
 * A CT-like slice in stored values (HU + 1024): air, an elliptic body with a fat rim, two lungs,
 * a spine, and noise. Cheap to make, yet with enough structure that PNG and JPEG-LS do real work.
 */
export function ctSlice(rows: number, columns: number, z: number, seed: number): Uint16Array {
  const out = new Uint16Array(rows * columns);
  const rand = mulberry32(seed);
  const cy = rows / 2;
  const cx = columns / 2;
  const lungScale = 1 - Math.abs(z - 0.5) * 1.2;
  for (let y = 0; y < rows; y++) {
    const ny = (y - cy) / (rows * 0.36);
    for (let x = 0; x < columns; x++) {
      const nx = (x - cx) / (columns * 0.46);
      const r = nx * nx + ny * ny;
      let hu = -1000;
      if (r < 1) {
        hu = r > 0.8 ? -90 : 40;
        const lx = Math.abs(nx) - 0.45;
        const lr = (lx * lx) / 0.09 + (ny * ny) / 0.45;
        if (lr < lungScale) hu = -850;
        const sx = nx;
        const sy = ny - 0.6;
        if (sx * sx + sy * sy < 0.012) hu = 700;
      }
      const noise = (rand() - 0.5) * 40;
      out[y * columns + x] = Math.max(0, Math.min(4095, Math.round(hu + 1024 + noise)));
    }
  }
  return out;
}

function pixelElement(values: Uint16Array): DataElement {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { tag: T.PixelData, vr: 'OW', value: new Uint8Array(bytes) };
}

class Builder {
  readonly ds: DataSet = new Map();
  str(t: Tag, vr: string, value: string | readonly string[]): this {
    this.ds.set(t, stringElement(t, vr, value));
    return this;
  }
  dsv(t: Tag, values: readonly number[]): this {
    return this.str(t, 'DS', values.map(formatDS));
  }
  us(t: Tag, ...values: number[]): this {
    this.ds.set(t, numberElement(t, 'US', values, 'little'));
    return this;
  }
  put(el: DataElement): this {
    this.ds.set(el.tag, el);
    return this;
  }
}

interface Header {
  readonly study: string;
  readonly series: string;
  readonly sopClass: string;
  readonly sop: string;
  readonly modality: string;
  readonly number: number;
  readonly rows: number;
  readonly columns: number;
}

/** The identifying header of every corpus file (FAKE values): what de-identification has to handle. */
function header(h: Header): Builder {
  return new Builder()
    .str(T.SpecificCharacterSet, 'CS', 'ISO_IR 100')
    .str(T.ImageType, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL'])
    .str(T.SOPClassUID, 'UI', h.sopClass)
    .str(T.SOPInstanceUID, 'UI', h.sop)
    .str(T.StudyDate, 'DA', '20240314')
    .str(T.SeriesDate, 'DA', '20240314')
    .str(T.ContentDate, 'DA', '20240314')
    .str(T.StudyTime, 'TM', '101500')
    .str(T.ContentTime, 'TM', '101712')
    .str(T.AccessionNumber, 'SH', 'BENCH0001')
    .str(T.Modality, 'CS', h.modality)
    .str(T.Manufacturer, 'LO', 'Example Medical Systems')
    .str(T.InstitutionName, 'LO', 'Hôpital Fictif du Banc')
    .str(T.ReferringPhysicianName, 'PN', 'Dubois^Étienne^^Dr.')
    .str(T.StationName, 'SH', 'BENCH01')
    .str(T.StudyDescription, 'LO', 'BENCH STUDY')
    .str(T.SeriesDescription, 'LO', 'BENCH SERIES')
    .str(T.OperatorsName, 'PN', 'Garnier^Loïc')
    .str(T.PatientName, 'PN', 'Banc^Fictif')
    .str(T.PatientID, 'LO', 'FAKE-BENCH-0001')
    .str(T.PatientBirthDate, 'DA', '19580622')
    .str(T.PatientSex, 'CS', 'F')
    .str(T.PatientAge, 'AS', '065Y')
    .str(T.StudyInstanceUID, 'UI', h.study)
    .str(T.SeriesInstanceUID, 'UI', h.series)
    .str(T.StudyID, 'SH', 'B0001')
    .str(T.SeriesNumber, 'IS', '1')
    .str(T.InstanceNumber, 'IS', String(h.number))
    .str(T.BurnedInAnnotation, 'CS', 'NO')
    .us(T.SamplesPerPixel, 1)
    .str(T.PhotometricInterpretation, 'CS', 'MONOCHROME2')
    .us(T.Rows, h.rows)
    .us(T.Columns, h.columns)
    .us(T.BitsAllocated, 16)
    .us(T.BitsStored, 12)
    .us(T.HighBit, 11)
    .us(T.PixelRepresentation, 0);
}

function part10(b: Builder, sopClassUid: string, sopInstanceUid: string): Uint8Array {
  return writePart10({
    meta: buildFileMeta({ sopClassUid, sopInstanceUid, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }),
    dataset: b.ds,
    transferSyntax: {
      uid: EXPLICIT_VR_LITTLE_ENDIAN,
      explicitVr: true,
      byteOrder: 'little',
      deflated: false,
      encapsulated: false,
    },
  });
}

/** One slice of a CT series, as Part 10 bytes. `distinct` bounds how many pixel planes are made. */
export function ctFile(
  name: string,
  n: number,
  o: { slices: number; rows: number; columns: number; distinct?: number },
): Uint8Array {
  const plane = o.distinct ? (n - 1) % o.distinct : n - 1;
  const pixels = ctSlice(o.rows, o.columns, plane / Math.max(1, (o.distinct ?? o.slices) - 1), plane + 1);
  const sop = uid('bench', name, 'sop', n);
  const z = -n * 0.5;
  const b = header({
    study: uid('bench', name, 'study'),
    series: uid('bench', name, 'series'),
    sopClass: CT_IMAGE_STORAGE,
    sop,
    modality: 'CT',
    number: n,
    rows: o.rows,
    columns: o.columns,
  })
    .str(T.FrameOfReferenceUID, 'UI', uid('bench', name, 'for'))
    .dsv(T.SliceThickness, [0.5])
    .dsv(T.ImagePositionPatient, [-180, -180, z])
    .dsv(T.ImageOrientationPatient, [1, 0, 0, 0, 1, 0])
    .dsv(T.PixelSpacing, [0.703125, 0.703125])
    .dsv(T.WindowCenter, [40])
    .dsv(T.WindowWidth, [400])
    .dsv(T.RescaleIntercept, [-1024])
    .dsv(T.RescaleSlope, [1])
    .str(T.RescaleType, 'LO', 'HU')
    .put(pixelElement(pixels));
  return part10(b, CT_IMAGE_STORAGE, sop);
}

/**
 * A multi-frame object of `frames` CT-like frames, as NM Image Storage (a multi-frame 16-bit grey
 * class; Secondary Capture would be quarantined, as it is presumed to carry burned-in text).
 */
export function multiFrameFile(frames: number, rows: number, columns: number): Uint8Array {
  const all = new Uint16Array(frames * rows * columns);
  for (let f = 0; f < frames; f++)
    all.set(ctSlice(rows, columns, f / Math.max(1, frames - 1), f + 1), f * rows * columns);
  const sop = uid('bench', 'mf', 'sop');
  const b = header({
    study: uid('bench', 'mf', 'study'),
    series: uid('bench', 'mf', 'series'),
    sopClass: NM_IMAGE_STORAGE,
    sop,
    modality: 'NM',
    number: 1,
    rows,
    columns,
  })
    .str(T.NumberOfFrames, 'IS', String(frames))
    .put({ tag: T.FrameIncrementPointer, vr: 'AT', value: new Uint8Array([0x54, 0x00, 0x80, 0x00]) })
    .dsv(T.RescaleIntercept, [-1024])
    .dsv(T.RescaleSlope, [1])
    .str(T.RescaleType, 'LO', 'HU')
    .dsv(T.WindowCenter, [40])
    .dsv(T.WindowWidth, [400])
    .put(pixelElement(all));
  return part10(b, NM_IMAGE_STORAGE, sop);
}

/** A small CR image: a smooth gradient with a bright disc and noise, 12 bits stored. */
export function crFile(n: number, rows: number, columns: number): Uint8Array {
  const rand = mulberry32(n);
  const px = new Uint16Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const dx = x - columns / 2;
      const dy = y - rows / 2;
      const disc = dx * dx + dy * dy < (rows * rows) / 16 ? 1200 : 0;
      px[y * columns + x] = Math.min(4095, Math.round(800 + (y * 1500) / rows + disc + rand() * 60));
    }
  }
  const sop = uid('bench', 'cr', 'sop', n);
  const b = header({
    study: uid('bench', 'cr', 'study', Math.floor((n - 1) / 4)),
    series: uid('bench', 'cr', 'series', Math.floor((n - 1) / 4)),
    sopClass: CR_IMAGE_STORAGE,
    sop,
    modality: 'CR',
    number: n,
    rows,
    columns,
  })
    .str(T.BodyPartExamined, 'CS', 'CHEST')
    .dsv(T.WindowCenter, [2048])
    .dsv(T.WindowWidth, [4096])
    .put(pixelElement(px));
  return part10(b, CR_IMAGE_STORAGE, sop);
}

export type CorpusName = 'ct-300' | 'ct-300-jpegls' | 'mf-100' | 'cr-1000' | 'large';

export interface CorpusSpec {
  readonly name: CorpusName;
  readonly description: string;
  readonly files: number;
  /** Bumped when this corpus's files change, so that cached copies are made again. */
  readonly version?: number;
  /** File n (1-based) as bytes; undefined for corpora derived from another one. */
  readonly file?: (n: number) => Uint8Array;
  /** Corpus made by converting another one file by file with a command. */
  readonly derivedFrom?: {
    corpus: CorpusName;
    tool: string;
    args: (input: string, output: string) => string[];
  };
}

/** The corpora; `scale` (0..1] shrinks them for the generator's smoke test. */
export function corpusSpecs(scale = 1): Record<CorpusName, CorpusSpec> {
  const count = (n: number) => Math.max(1, Math.round(n * scale));
  const side = (n: number) => Math.max(16, Math.round(n * Math.sqrt(scale)));
  const ct = { slices: count(300), rows: side(512), columns: side(512) };
  const large = { slices: count(1000), rows: side(1024), columns: side(1024), distinct: 20 };
  return {
    'ct-300': {
      name: 'ct-300',
      description: `CT series, ${ct.slices} slices ${ct.rows}x${ct.columns} 16-bit, uncompressed`,
      files: ct.slices,
      file: (n) => ctFile('ct', n, ct),
    },
    'ct-300-jpegls': {
      name: 'ct-300-jpegls',
      description: `the same CT series in JPEG-LS lossless (dcmcjpls)`,
      files: ct.slices,
      derivedFrom: { corpus: 'ct-300', tool: 'dcmcjpls', args: (i, o) => [i, o] },
    },
    'mf-100': {
      name: 'mf-100',
      description: `one multi-frame object, ${count(100)} frames ${side(512)}x${side(512)} 16-bit`,
      files: 1,
      version: 2,
      file: () => multiFrameFile(count(100), side(512), side(512)),
    },
    'cr-1000': {
      name: 'cr-1000',
      description: `${count(1000)} small CR images ${side(256)}x${side(256)} 16-bit`,
      files: count(1000),
      file: (n) => crFile(n, side(256), side(256)),
    },
    large: {
      name: 'large',
      description: `large CT study, ${large.slices} slices ${large.rows}x${large.columns} 16-bit, uncompressed`,
      files: large.slices,
      file: (n) => ctFile('large', n, large),
    },
  };
}

const fileName = (n: number) => `${String(n).padStart(4, '0')}.dcm`;

/**
 * Makes (or reuses) a corpus under root/<name> (root/<name>-scale-<scale> when scaled, so that a quick
 * look does not replace the full corpus in the cache); returns its folder and its sorted files.
 */
export async function ensureCorpus(
  root: string,
  spec: CorpusSpec,
  specs: Record<CorpusName, CorpusSpec>,
  scale = 1,
): Promise<{ dir: string; files: string[]; bytes: number }> {
  const dir = path.join(root, scale === 1 ? spec.name : `${spec.name}-scale-${scale}`);
  const stampFile = path.join(dir, '.stamp');
  const stamp = JSON.stringify({
    GENERATOR_VERSION,
    name: spec.name,
    scale,
    files: spec.files,
    ...(spec.version ? { version: spec.version } : {}),
  });
  const fresh = existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp;
  if (!fresh) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    if (spec.file) {
      for (let n = 1; n <= spec.files; n++) await writeFile(path.join(dir, fileName(n)), spec.file(n));
    } else if (spec.derivedFrom) {
      const from = specs[spec.derivedFrom.corpus];
      const source = await ensureCorpus(root, from, specs, scale);
      for (const input of source.files) {
        // Bounded: one file's conversion takes well under a second.
        runBounded(
          spec.derivedFrom.tool,
          spec.derivedFrom.args(input, path.join(dir, path.basename(input))),
          {
            name: `${spec.derivedFrom.tool} on ${path.basename(input)}`,
            timeoutMs: 60_000,
          },
        );
      }
    }
    await writeFile(stampFile, stamp);
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith('.dcm')).sort();
  let bytes = 0;
  for (const f of files) bytes += (await stat(path.join(dir, f))).size;
  return { dir, files: files.map((f) => path.join(dir, f)), bytes };
}
