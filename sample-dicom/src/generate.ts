/**
 * Generates the sample studies in sample-dicom/: synthetic images with FAKE patient data, written
 * with the project's own DICOM writer. Deterministic: the same seed gives byte-identical files.
 *
 *   npx tsx sample-dicom/src/generate.ts        (or: npm run samples)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildFileMeta,
  type CharacterSet,
  type DataElement,
  type DataSet,
  formatDS,
  numberElement,
  sequenceElement,
  stringElement,
  T,
  type Tag,
  writePart10,
} from '@medimg/dicom';
import { ctChestSlice, dxChest, mrHeadSlice, type SphereLesion, usSector } from './phantoms.ts';
import { type Rng, rng, seedOf, uidOf } from './random.ts';

export const SEED = 20240314;
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
const DX_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.1';
const US_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.6.1';

/** One output file, path relative to sample-dicom/. */
export interface SampleFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** Where the CT nodule is, for the README and for tests of the pipeline. */
export const CT_STUDY = {
  folder: 'studies/ct-chest',
  series: '1-axial-chest',
  slices: 48,
  sliceSpacingMm: 2.5,
  topZMm: 57.5,
  nodule: { centerMm: [-80, -15, 0], radiusMm: 9, value: 30 } satisfies SphereLesion,
} as const;

class Builder {
  readonly ds: DataSet = new Map();
  constructor(private readonly charset?: CharacterSet) {
    if (charset && charset.terms.length > 0) this.str(T.SpecificCharacterSet, 'CS', [...charset.terms]);
  }
  put(el: DataElement): this {
    this.ds.set(el.tag, el);
    return this;
  }
  str(t: Tag, vr: string, value: string | readonly string[]): this {
    return this.put(stringElement(t, vr, value, this.charset));
  }
  ds_(t: Tag, values: readonly number[]): this {
    return this.str(t, 'DS', values.map(formatDS));
  }
  us(t: Tag, ...values: number[]): this {
    return this.put(numberElement(t, 'US', values, 'little'));
  }
  seq(t: Tag, items: readonly DataSet[]): this {
    return this.put(sequenceElement(t, items));
  }
}

interface Person {
  readonly name: string;
  readonly id: string;
  readonly birthDate: string;
  readonly sex: 'M' | 'F' | 'O';
  readonly age: string;
  readonly size?: number;
  readonly weight?: number;
}

interface Site {
  readonly institution: string;
  readonly address: string;
  readonly station: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serial: string;
  readonly software: string;
}

interface StudyInfo {
  readonly key: string;
  readonly patient: Person;
  readonly site: Site;
  readonly charset?: CharacterSet;
  readonly accession: string;
  readonly studyId: string;
  readonly date: string;
  readonly time: string;
  readonly description: string;
  readonly referring: string;
  readonly performing: string;
  readonly operator: string;
  readonly procedure: readonly [code: string, scheme: string, meaning: string];
}

function code(value: string, scheme: string, meaning: string, charset?: CharacterSet): DataSet {
  return new Builder(undefined)
    .put(stringElement(T.CodeValue, 'SH', value, charset))
    .put(stringElement(T.CodingSchemeDesignator, 'SH', scheme, charset))
    .put(stringElement(T.CodeMeaning, 'LO', meaning, charset)).ds;
}

/** Patient, study, series, equipment, frame of reference and SOP common attributes. */
function commonHeader(
  b: Builder,
  s: StudyInfo,
  series: {
    uid: string;
    number: number;
    description: string;
    modality: string;
    bodyPart: string;
    time: string;
  },
  sop: { classUid: string; instanceUid: string; number: number; contentTime: string },
): void {
  const p = s.patient;
  b.str(T.ImageType, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL'])
    .str(T.InstanceCreationDate, 'DA', s.date)
    .str(T.InstanceCreationTime, 'TM', sop.contentTime)
    .str(T.SOPClassUID, 'UI', sop.classUid)
    .str(T.SOPInstanceUID, 'UI', sop.instanceUid)
    .str(T.StudyDate, 'DA', s.date)
    .str(T.SeriesDate, 'DA', s.date)
    .str(T.AcquisitionDate, 'DA', s.date)
    .str(T.ContentDate, 'DA', s.date)
    .str(T.StudyTime, 'TM', s.time)
    .str(T.SeriesTime, 'TM', series.time)
    .str(T.AcquisitionTime, 'TM', series.time)
    .str(T.ContentTime, 'TM', sop.contentTime)
    .str(T.AccessionNumber, 'SH', s.accession)
    .str(T.Modality, 'CS', series.modality)
    .str(T.Manufacturer, 'LO', s.site.manufacturer)
    .str(T.InstitutionName, 'LO', s.site.institution)
    .str(T.InstitutionAddress, 'ST', s.site.address)
    .str(T.ReferringPhysicianName, 'PN', s.referring)
    .str(T.StationName, 'SH', s.site.station)
    .str(T.StudyDescription, 'LO', s.description)
    .seq(T.ProcedureCodeSequence, [code(...s.procedure, s.charset)])
    .str(T.SeriesDescription, 'LO', series.description)
    .str(T.PerformingPhysicianName, 'PN', s.performing)
    .str(T.OperatorsName, 'PN', s.operator)
    .str(T.ManufacturerModelName, 'LO', s.site.model)
    .str(T.PatientName, 'PN', p.name)
    .str(T.PatientID, 'LO', p.id)
    .str(T.PatientBirthDate, 'DA', p.birthDate)
    .str(T.PatientSex, 'CS', p.sex)
    .str(T.PatientAge, 'AS', p.age)
    .str(T.BodyPartExamined, 'CS', series.bodyPart)
    .str(T.DeviceSerialNumber, 'LO', s.site.serial)
    .str(T.SoftwareVersions, 'LO', s.site.software)
    .str(T.StudyInstanceUID, 'UI', uidOf(SEED, s.key, 'study'))
    .str(T.SeriesInstanceUID, 'UI', series.uid)
    .str(T.StudyID, 'SH', s.studyId)
    .str(T.SeriesNumber, 'IS', String(series.number))
    .str(T.AcquisitionNumber, 'IS', '1')
    .str(T.InstanceNumber, 'IS', String(sop.number))
    .str(T.BurnedInAnnotation, 'CS', 'NO');
  if (p.size !== undefined) b.ds_(T.PatientSize, [p.size]);
  if (p.weight !== undefined) b.ds_(T.PatientWeight, [p.weight]);
}

function imagePixel(
  b: Builder,
  o: { rows: number; columns: number; bitsStored: number; signed: boolean; photometric: string },
): void {
  b.us(T.SamplesPerPixel, 1)
    .str(T.PhotometricInterpretation, 'CS', o.photometric)
    .us(T.Rows, o.rows)
    .us(T.Columns, o.columns)
    .us(T.BitsAllocated, 16)
    .us(T.BitsStored, o.bitsStored)
    .us(T.HighBit, o.bitsStored - 1)
    .us(T.PixelRepresentation, o.signed ? 1 : 0);
}

function pixels16(values: Float32Array, signed: boolean, offset = 0): DataElement {
  const bytes = new Uint8Array(values.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i]! + offset);
    if (signed) view.setInt16(i * 2, Math.min(32767, Math.max(-32768, v)), true);
    else view.setUint16(i * 2, Math.min(65535, Math.max(0, v)), true);
  }
  return { tag: T.PixelData, vr: 'OW', value: bytes };
}

function part10(b: Builder, sopClassUid: string, sopInstanceUid: string): Uint8Array {
  return writePart10({
    meta: buildFileMeta({ sopClassUid, sopInstanceUid, transferSyntaxUid: EXPLICIT_VR_LE }),
    dataset: b.ds,
    transferSyntax: {
      uid: EXPLICIT_VR_LE,
      explicitVr: true,
      byteOrder: 'little',
      deflated: false,
      encapsulated: false,
    },
  });
}

const pad3 = (n: number): string => String(n).padStart(3, '0');

/** hhmmss plus seconds, as a DICOM TM. */
function tm(base: string, plusSeconds: number): string {
  const s =
    Number(base.slice(0, 2)) * 3600 + Number(base.slice(2, 4)) * 60 + Number(base.slice(4, 6)) + plusSeconds;
  const hh = Math.floor(s / 3600) % 24;
  const mm = Math.floor(s / 60) % 60;
  const ss = s % 60;
  return `${String(hh).padStart(2, '0')}${String(mm).padStart(2, '0')}${String(ss).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------------------------

const CT_STUDY_INFO: StudyInfo = {
  key: 'ct-chest',
  patient: {
    name: 'Lefèvre^Hélène^Marie',
    id: 'FAKE-CT-004417',
    birthDate: '19580622',
    sex: 'F',
    age: '065Y',
    size: 1.64,
    weight: 61,
  },
  site: {
    institution: 'Hôpital Fictif Saint-Exemple',
    address: '12 rue Imaginaire, 75999 Nulle-Part, France',
    station: 'CTSCAN01',
    manufacturer: 'Example Medical Systems',
    model: 'Phantom CT 64',
    serial: 'SN-CT-000123',
    software: 'PhantomCT 4.2.1',
  },
  charset: { terms: ['ISO_IR 100'] },
  accession: 'ACC20240314001',
  studyId: 'CT0001',
  date: '20240314',
  time: '101500',
  description: 'CT THORAX SANS INJECTION',
  referring: 'Dubois^Étienne^^Dr.',
  performing: 'Mercier^Anaïs^^Dr.',
  operator: 'Garnier^Loïc',
  procedure: ['ZZ-CT-CHEST', '99FAKE', 'CT chest without contrast'],
};

function ctStudy(): SampleFile[] {
  const s = CT_STUDY_INFO;
  const files: SampleFile[] = [];
  const rows = 256;
  const columns = 256;
  const spacing = 1.40625;
  const seriesUid = uidOf(SEED, s.key, 'series', 1);
  const frameOfReference = uidOf(SEED, s.key, 'frame-of-reference');
  const origin = -((columns - 1) / 2) * spacing;
  for (let i = 0; i < CT_STUDY.slices; i++) {
    const n = i + 1;
    const z = CT_STUDY.topZMm - i * CT_STUDY.sliceSpacingMm;
    const hu = ctChestSlice({
      rows,
      columns,
      pixelSpacingMm: [spacing, spacing],
      zMm: z,
      sliceThicknessMm: CT_STUDY.sliceSpacingMm,
      rng: rng(seedOf(SEED, s.key, n)),
      lesion: CT_STUDY.nodule,
    });
    const sopUid = uidOf(SEED, s.key, 'sop', n);
    const b = new Builder(s.charset);
    commonHeader(
      b,
      s,
      {
        uid: seriesUid,
        number: 1,
        description: 'THORAX 2.5mm B60f',
        modality: 'CT',
        bodyPart: 'CHEST',
        time: '101712',
      },
      { classUid: CT_IMAGE_STORAGE, instanceUid: sopUid, number: n, contentTime: tm('101712', i) },
    );
    b.str(T.ScanOptions, 'CS', 'HELICAL MODE')
      .ds_(T.SliceThickness, [CT_STUDY.sliceSpacingMm])
      .ds_(T.KVP, [120])
      .ds_(T.DistanceSourceToDetector, [1040])
      .ds_(T.DistanceSourceToPatient, [570])
      .str(T.ExposureTime, 'IS', '500')
      .str(T.XRayTubeCurrent, 'IS', '180')
      .str(T.Exposure, 'IS', '90')
      .str(T.ConvolutionKernel, 'SH', 'B60f')
      .str(T.ProtocolName, 'LO', 'Thorax routine')
      .str(T.PatientPosition, 'CS', 'FFS')
      .str(T.FrameOfReferenceUID, 'UI', frameOfReference)
      .str(T.PositionReferenceIndicator, 'LO', 'SN')
      .ds_(T.ImagePositionPatient, [origin, origin, z])
      .ds_(T.ImageOrientationPatient, [1, 0, 0, 0, 1, 0])
      .ds_(T.SliceLocation, [z])
      .ds_(T.PixelSpacing, [spacing, spacing]);
    imagePixel(b, { rows, columns, bitsStored: 16, signed: true, photometric: 'MONOCHROME2' });
    b.ds_(T.WindowCenter, [-600, 40])
      .ds_(T.WindowWidth, [1500, 400])
      .str(T.WindowCenterWidthExplanation, 'LO', ['LUNG', 'MEDIASTINUM'])
      .ds_(T.RescaleIntercept, [-1024])
      .ds_(T.RescaleSlope, [1])
      .str(T.RescaleType, 'LO', 'HU')
      .str(T.LossyImageCompression, 'CS', '00')
      .put(pixels16(hu, true, 1024));
    files.push({
      path: `${CT_STUDY.folder}/${CT_STUDY.series}/${pad3(n)}.dcm`,
      bytes: part10(b, CT_IMAGE_STORAGE, sopUid),
    });
  }
  return files;
}

/** Instance numbers of CT slices whose slab meets the nodule, and those through its solid core (>= 50%). */
export function ctLesionSlices(): { touching: number[]; core: number[] } {
  const { nodule } = CT_STUDY;
  const touching: number[] = [];
  const core: number[] = [];
  for (let i = 0; i < CT_STUDY.slices; i++) {
    const z = CT_STUDY.topZMm - i * CT_STUDY.sliceSpacingMm;
    const lo = Math.max(nodule.centerMm[2] - nodule.radiusMm, z - CT_STUDY.sliceSpacingMm / 2);
    const hi = Math.min(nodule.centerMm[2] + nodule.radiusMm, z + CT_STUDY.sliceSpacingMm / 2);
    if (hi > lo) touching.push(i + 1);
    if (hi - lo >= CT_STUDY.sliceSpacingMm / 2) core.push(i + 1);
  }
  return { touching, core };
}

const MR_STUDY_INFO: StudyInfo = {
  key: 'mr-head',
  patient: {
    name: 'Müller-Østergaard^Zoë^Renée',
    id: 'FAKE-MR-208851',
    birthDate: '19790203',
    sex: 'F',
    age: '045Y',
    size: 1.71,
    weight: 66,
  },
  site: {
    institution: 'Universitätsklinikum Beispielstadt',
    address: 'Musterstraße 1, 99999 Beispielstadt, Deutschland',
    station: 'MRT3T02',
    manufacturer: 'Example Medical Systems',
    model: 'Phantom MR 3T',
    serial: 'SN-MR-004567',
    software: 'PhantomMR VE11',
  },
  charset: { terms: ['ISO_IR 192'] },
  accession: 'ACC20240315007',
  studyId: 'MR0007',
  date: '20240315',
  time: '084500',
  description: 'MRT Schädel nativ',
  referring: 'Schäfer^Jürgen^^Dr. med.',
  performing: 'Øberg^Åsa^^Dr.',
  operator: 'Nußbaum^Björn',
  procedure: ['ZZ-MR-HEAD', '99FAKE', 'MR head without contrast'],
};

function mrStudy(): SampleFile[] {
  const s = MR_STUDY_INFO;
  const files: SampleFile[] = [];
  const rows = 256;
  const columns = 256;
  const spacing = 0.9375;
  const slices = 20;
  const thickness = 5;
  const gap = 6;
  const seriesUid = uidOf(SEED, s.key, 'series', 1);
  const frameOfReference = uidOf(SEED, s.key, 'frame-of-reference');
  const origin = -((columns - 1) / 2) * spacing;
  for (let i = 0; i < slices; i++) {
    const n = i + 1;
    const z = -45 + i * gap;
    const image = mrHeadSlice({
      rows,
      columns,
      pixelSpacingMm: [spacing, spacing],
      level: (i + 0.5) / slices,
      zMm: z,
      sliceThicknessMm: thickness,
      rng: rng(seedOf(SEED, s.key, n)),
    });
    const sopUid = uidOf(SEED, s.key, 'sop', n);
    const b = new Builder(s.charset);
    commonHeader(
      b,
      s,
      {
        uid: seriesUid,
        number: 3,
        description: 't1_se_tra',
        modality: 'MR',
        bodyPart: 'HEAD',
        time: '085102',
      },
      { classUid: MR_IMAGE_STORAGE, instanceUid: sopUid, number: n, contentTime: tm('085102', 4 * i) },
    );
    b.str(T.ImageType, 'CS', ['ORIGINAL', 'PRIMARY', 'OTHER'])
      .str(T.ScanningSequence, 'CS', 'SE')
      .str(T.SequenceVariant, 'CS', ['SK', 'SP'])
      .str(T.ScanOptions, 'CS', 'PFP')
      .str(T.MRAcquisitionType, 'CS', '2D')
      .ds_(T.SliceThickness, [thickness])
      .ds_(T.RepetitionTime, [550])
      .ds_(T.EchoTime, [12])
      .ds_(T.MagneticFieldStrength, [3])
      .ds_(T.SpacingBetweenSlices, [gap])
      .str(T.EchoTrainLength, 'IS', '1')
      .str(T.ProtocolName, 'LO', 't1_se_tra')
      .str(T.PatientPosition, 'CS', 'HFS')
      .str(T.FrameOfReferenceUID, 'UI', frameOfReference)
      .str(T.PositionReferenceIndicator, 'LO', '')
      .ds_(T.ImagePositionPatient, [origin, origin, z])
      .ds_(T.ImageOrientationPatient, [1, 0, 0, 0, 1, 0])
      .ds_(T.SliceLocation, [z])
      .ds_(T.PixelSpacing, [spacing, spacing]);
    b.put(stringElement(tag18(0x0018, 0x0086), 'IS', '1')) // Echo Numbers
      .put(stringElement(tag18(0x0018, 0x0024), 'SH', 'se2d1')); // Sequence Name
    imagePixel(b, { rows, columns, bitsStored: 12, signed: false, photometric: 'MONOCHROME2' });
    b.ds_(T.WindowCenter, [900])
      .ds_(T.WindowWidth, [1800])
      .str(T.LossyImageCompression, 'CS', '00')
      .put(pixels16(image, false));
    files.push({
      path: `studies/mr-head/3-t1-se-axial/${pad3(n)}.dcm`,
      bytes: part10(b, MR_IMAGE_STORAGE, sopUid),
    });
  }
  return files;
}

const tag18 = (g: number, e: number): Tag => ((g << 16) | e) >>> 0;

const DX_STUDY_INFO: StudyInfo = {
  key: 'dx-chest',
  patient: { name: 'Doe^Jonathan^Q', id: 'FAKE-DX-771203', birthDate: '19660911', sex: 'M', age: '057Y' },
  site: {
    institution: 'Example County General Hospital',
    address: '400 Placeholder Ave, Springfield, XX 00000, USA',
    station: 'DXROOM3',
    manufacturer: 'Example Medical Systems',
    model: 'Phantom DR 1000',
    serial: 'SN-DX-778899',
    software: 'PhantomDR 2.0',
  },
  accession: 'ACC20240316042',
  studyId: 'DX0042',
  date: '20240316',
  time: '143000',
  description: 'XR CHEST PA',
  referring: 'Smith^Alice^^Dr.',
  performing: 'Nguyen^Peter^^Dr.',
  operator: 'Brown^Kim',
  procedure: ['ZZ-XR-CHEST-PA', '99FAKE', 'XR chest PA'],
};

function dxStudy(): SampleFile[] {
  const s = DX_STUDY_INFO;
  const rows = 640;
  const columns = 512;
  const spacing = 0.7;
  const image = dxChest({
    rows,
    columns,
    pixelSpacingMm: [spacing, spacing],
    rng: rng(seedOf(SEED, s.key, 1)),
  });
  const seriesUid = uidOf(SEED, s.key, 'series', 1);
  const sopUid = uidOf(SEED, s.key, 'sop', 1);
  const b = new Builder(undefined);
  commonHeader(
    b,
    s,
    { uid: seriesUid, number: 1, description: 'CHEST PA', modality: 'DX', bodyPart: 'CHEST', time: '143210' },
    { classUid: DX_FOR_PRESENTATION, instanceUid: sopUid, number: 1, contentTime: '143210' },
  );
  b.str(T.ImageType, 'CS', ['ORIGINAL', 'PRIMARY'])
    .str(tag18(0x0008, 0x0068), 'CS', 'FOR PRESENTATION') // Presentation Intent Type
    .ds_(T.KVP, [125])
    .str(T.ExposureTime, 'IS', '8')
    .str(T.XRayTubeCurrent, 'IS', '320')
    .str(T.Exposure, 'IS', '3')
    .ds_(T.DistanceSourceToDetector, [1800])
    .ds_(T.ImagerPixelSpacing, [spacing, spacing])
    .ds_(T.PixelSpacing, [spacing, spacing])
    .str(T.ViewPosition, 'CS', 'PA')
    .str(tag18(0x0018, 0x7004), 'CS', 'SCINTILLATOR') // Detector Type
    .str(T.PatientOrientation, 'CS', ['L', 'F'])
    .str(T.ImageLaterality, 'CS', 'U')
    .str(tag18(0x0018, 0x1508), 'CS', 'NONE') // Positioner Type
    .seq(tag18(0x0040, 0x0555), []) // Acquisition Context Sequence (type 2, empty)
    .seq(tag18(0x0008, 0x2218), [code('51185008', 'SCT', 'Thorax')]) // Anatomic Region Sequence
    .seq(tag18(0x0054, 0x0220), [code('399348003', 'SCT', 'postero-anterior')]); // View Code Sequence
  imagePixel(b, { rows, columns, bitsStored: 12, signed: false, photometric: 'MONOCHROME2' });
  b.str(T.PixelIntensityRelationship, 'CS', 'LOG')
    .us(T.PixelIntensityRelationshipSign, 1)
    .ds_(T.WindowCenter, [1800])
    .ds_(T.WindowWidth, [3200])
    .ds_(T.RescaleIntercept, [0])
    .ds_(T.RescaleSlope, [1])
    .str(T.RescaleType, 'LO', 'US')
    .str(T.LossyImageCompression, 'CS', '00')
    .str(T.PresentationLUTShape, 'CS', 'IDENTITY')
    .put(pixels16(image, false));
  return [{ path: 'studies/dx-chest/1-chest-pa/001.dcm', bytes: part10(b, DX_FOR_PRESENTATION, sopUid) }];
}

// ---------------------------------------------------------------------------------------------
// Deliberately bad inputs for the demo

/** A 5x7 pseudo-glyph per character, so the burned-in band looks like a line of text. */
function burnText(pixels: Uint8Array, columns: number, x0: number, y0: number, text: string, r: Rng): void {
  let x = x0;
  for (const ch of text) {
    if (ch !== ' ') {
      const glyph = rng(seedOf('glyph', ch.charCodeAt(0)));
      for (let gy = 0; gy < 7; gy++) {
        for (let gx = 0; gx < 5; gx++) {
          if (glyph.next() < 0.55) pixels[(y0 + gy) * columns + x + gx] = 235 + Math.floor(r.next() * 20);
        }
      }
    }
    x += 6;
  }
}

function usBurnedIn(): SampleFile {
  const s: StudyInfo = {
    key: 'us-abdomen',
    patient: { name: 'Roe^Janet', id: 'FAKE-US-550912', birthDate: '19910430', sex: 'F', age: '032Y' },
    site: DX_STUDY_INFO.site,
    accession: 'ACC20240317005',
    studyId: 'US0005',
    date: '20240317',
    time: '091500',
    description: 'US ABDOMEN LIMITED',
    referring: 'Smith^Alice^^Dr.',
    performing: 'Nguyen^Peter^^Dr.',
    operator: 'Brown^Kim',
    procedure: ['ZZ-US-ABD', '99FAKE', 'US abdomen limited'],
  };
  const rows = 240;
  const columns = 320;
  const r = rng(seedOf(SEED, s.key, 1));
  const image = usSector({ rows, columns, pixelSpacingMm: [0.3, 0.3], rng: r });
  const pixels = Uint8Array.from(image, (v) => Math.round(v));
  burnText(pixels, columns, 4, 4, 'ROE JANET  FAKE-US-550912', r);
  burnText(pixels, columns, 4, 14, '2024-03-17 09:16', r);
  const seriesUid = uidOf(SEED, s.key, 'series', 1);
  const sopUid = uidOf(SEED, s.key, 'sop', 1);
  const b = new Builder(undefined);
  commonHeader(
    b,
    s,
    {
      uid: seriesUid,
      number: 1,
      description: 'ABDOMEN',
      modality: 'US',
      bodyPart: 'ABDOMEN',
      time: '091600',
    },
    { classUid: US_IMAGE_STORAGE, instanceUid: sopUid, number: 1, contentTime: '091612' },
  );
  b.str(T.ImageType, 'CS', ['ORIGINAL', 'PRIMARY', 'ABDOMINAL'])
    .str(T.BurnedInAnnotation, 'CS', 'YES')
    .str(T.PatientOrientation, 'CS', '')
    .us(T.SamplesPerPixel, 1)
    .str(T.PhotometricInterpretation, 'CS', 'MONOCHROME2')
    .us(T.Rows, rows)
    .us(T.Columns, columns)
    .us(T.BitsAllocated, 8)
    .us(T.BitsStored, 8)
    .us(T.HighBit, 7)
    .us(T.PixelRepresentation, 0)
    .str(T.LossyImageCompression, 'CS', '00')
    .put({ tag: T.PixelData, vr: 'OB', value: pixels });
  return { path: 'bad/us-burned-in-annotation.dcm', bytes: part10(b, US_IMAGE_STORAGE, sopUid) };
}

const NOT_DICOM_TEXT = `This is a plain text file, not a DICOM file.
It is part of the medimg-pipeline sample data (sample-dicom/bad/) so that the demo can show how
an upload that is not DICOM ends up in quarantine with the reason code NOT_DICOM.
`;

/** Generates every sample file in memory. */
export function generateSamples(): SampleFile[] {
  const ct = ctStudy();
  const firstCt = ct[0]!.bytes;
  const bad: SampleFile[] = [
    // Cut inside the pixel data of the first CT slice.
    { path: 'bad/ct-truncated.dcm', bytes: firstCt.slice(0, Math.floor(firstCt.length * 0.6)) },
    { path: 'bad/not-dicom.txt', bytes: new TextEncoder().encode(NOT_DICOM_TEXT) },
    usBurnedIn(),
  ];
  return [...ct, ...mrStudy(), ...dxStudy(), ...bad];
}

/** Writes the samples under `root` (sample-dicom/ by default), replacing studies/ and bad/. */
export function writeSamples(root: string): SampleFile[] {
  const files = generateSamples();
  rmSync(join(root, 'studies'), { recursive: true, force: true });
  rmSync(join(root, 'bad'), { recursive: true, force: true });
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.bytes);
  }
  return files;
}

export const SAMPLE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = writeSamples(SAMPLE_ROOT);
  const total = files.reduce((n, f) => n + f.bytes.length, 0);
  const { touching, core } = ctLesionSlices();
  console.log(`wrote ${files.length} files, ${(total / 1e6).toFixed(1)} MB, under ${SAMPLE_ROOT}`);
  console.log(`CT nodule: slices ${touching.join(',')} (solid core on ${core.join(',')})`);
}
