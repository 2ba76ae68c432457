/**
 * Safe by default (issue 11, decision 011): the allowlist outside Table E.1-1, codes, closed
 * vocabularies for values shown to people, and the Safe Harbor profile's differences from the
 * research profile. Each object is built inline; each element's comment says why it is there.
 */

import {
  characterSetOf,
  type DataElement,
  type DataSet,
  getString,
  getStrings,
  numberElement,
  sequenceElement,
  stringElement,
  T,
  type Tag,
  tag,
} from '@medimg/dicom';
import { describe, expect, it } from 'vitest';
import { composeCriticalNotification } from '../pipeline/notification.ts';
import { DUMMY_CODE } from './codes.ts';
import { type DeidResult, deidentify } from './deidentify.ts';
import { type DeidOptions, profileOptions } from './options.ts';
import { keyedBatchRef } from './pseudonyms.ts';

const KEY = new Uint8Array(32).fill(0x24);
const s = (t: Tag, vr: string, v: string | string[]): [Tag, DataElement] => [t, stringElement(t, vr, v)];
const sq = (t: Tag, items: DataSet[]): [Tag, DataElement] => [t, sequenceElement(t, items)];

const TAGS = {
  Manufacturer: tag(0x0008, 0x0070), // safe list: device (a dummy otherwise)
  ManufacturerModelName: tag(0x0008, 0x1090), // safe list: device (a dummy otherwise)
  StationName: tag(0x0008, 0x1010), // table: X/Z/D, K under Retain Device Identity
  PatientAge: tag(0x0010, 0x1010), // table: X, K under Retain Patient Characteristics
  ContactDisplayName: tag(0x0074, 0x100c), // LO, not in the table, not safe
  DocumentTitle: tag(0x0042, 0x0010), // ST, not in the table
  MadeUpLO: tag(0x0010, 0x9999), // not in the dictionary
  SliceThickness: tag(0x0018, 0x0050), // DS, kept when a number
  ConceptNameCodeSequence: tag(0x0040, 0xa043), // not in the table: walked
  CodeValue: tag(0x0008, 0x0100),
  CodingSchemeDesignator: tag(0x0008, 0x0102),
  CodeMeaning: tag(0x0008, 0x0104),
  ReferencedSeriesSequence: tag(0x0008, 0x1250), // Related Series Sequence: not in the table
} as const;

function dataSet(extra: [Tag, DataElement][] = []): DataSet {
  return new Map([
    s(T.SOPClassUID, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
    s(T.SOPInstanceUID, 'UI', '1.2.3.9.1'),
    s(T.StudyInstanceUID, 'UI', '1.2.3.9'),
    s(T.SeriesInstanceUID, 'UI', '1.2.3.9.0'),
    s(T.Modality, 'CS', 'CT'),
    s(T.PatientID, 'LO', 'MRN777'),
    s(tag(0x0010, 0x0010), 'PN', 'SMITH^JOHN'),
    s(TAGS.Manufacturer, 'LO', 'ACME MEDICAL'),
    s(TAGS.ManufacturerModelName, 'LO', 'Scanner 9000'),
    s(TAGS.StationName, 'SH', 'CT7'),
    s(TAGS.PatientAge, 'AS', '095Y'),
    s(T.BodyPartExamined, 'CS', 'CHEST'),
    ...extra,
  ]);
}

const run = (ds: DataSet, options: DeidOptions): DeidResult =>
  deidentify({ meta: new Map(), dataset: ds, transferSyntax: EXPLICIT_LE }, { key: KEY, options });
const EXPLICIT_LE = {
  uid: '1.2.840.10008.1.2.1',
  explicitVr: true,
  byteOrder: 'little' as const,
  deflated: false,
  encapsulated: false,
};
const RESEARCH = profileOptions('research');
const SAFE_HARBOR = profileOptions('safe-harbor');
const str = (r: DeidResult, t: Tag) => getString(r.file.dataset, t);

describe('attributes outside Table E.1-1', () => {
  it('removes free text, made-up tags and non-numbers in numeric strings; keeps numbers', () => {
    const r = run(
      dataSet([
        s(TAGS.ContactDisplayName, 'LO', 'Yamada Taro'),
        s(TAGS.DocumentTitle, 'ST', 'Report for John Smith'),
        s(TAGS.MadeUpLO, 'LO', 'JOHN SMITH'),
        s(TAGS.SliceThickness, 'DS', '1.25'),
        s(tag(0x0018, 0x0088), 'DS', 'SMITH'), // Spacing Between Slices: not a number
        [T.Rows, numberElement(T.Rows, 'US', [512], 'little')],
      ]),
      RESEARCH,
    );
    const kept = r.file.dataset;
    expect(kept.has(TAGS.ContactDisplayName)).toBe(false);
    expect(kept.has(TAGS.DocumentTitle)).toBe(false);
    expect(kept.has(TAGS.MadeUpLO)).toBe(false);
    expect(kept.has(tag(0x0018, 0x0088))).toBe(false);
    expect(str(r, TAGS.SliceThickness)).toBe('1.25');
    expect(kept.has(T.Rows)).toBe(true);
  });

  it('walks a sequence that is not in the table and applies the same rule inside, at depth', () => {
    const deep = new Map([s(TAGS.ContactDisplayName, 'LO', 'Dr Who'), s(TAGS.SliceThickness, 'DS', '5')]);
    const r = run(
      dataSet([
        sq(TAGS.ReferencedSeriesSequence, [
          new Map([
            sq(TAGS.ReferencedSeriesSequence, [new Map([sq(TAGS.ReferencedSeriesSequence, [deep])])]),
          ]),
        ]),
      ]),
      RESEARCH,
    );
    const item3 = r.file.dataset
      .get(TAGS.ReferencedSeriesSequence)!
      .items![0]!.get(TAGS.ReferencedSeriesSequence)!
      .items![0]!.get(TAGS.ReferencedSeriesSequence)!.items![0]!;
    expect(item3.has(TAGS.ContactDisplayName)).toBe(false);
    expect(getString(item3, TAGS.SliceThickness)).toBe('5');
  });

  it('keeps Body Part Examined only as a defined term: a name typed into it is removed', () => {
    const named = run(dataSet([s(T.BodyPartExamined, 'CS', 'SMITH JOHN')]), RESEARCH);
    expect(named.file.dataset.has(T.BodyPartExamined)).toBe(false);
    expect(named.bodyPart).toBeUndefined();
    const chest = run(dataSet(), RESEARCH);
    expect(str(chest, T.BodyPartExamined)).toBe('CHEST');
    expect(chest.bodyPart).toBe('CHEST');
  });
});

const LATIN1 = characterSetOf(new Map([s(T.SpecificCharacterSet, 'CS', 'ISO_IR 100')]));

describe('descriptors through the de-identification', () => {
  const SeriesDescription = tag(0x0008, 0x103e); // table: X, C under Clean Descriptors
  const described = (text: string, charset?: string) =>
    run(
      dataSet([
        ...(charset ? [s(T.SpecificCharacterSet, 'CS', charset)] : []),
        [SeriesDescription, stringElement(SeriesDescription, 'LO', text, charset ? LATIN1 : undefined)],
      ] as [Tag, DataElement][]),
      RESEARCH,
    );

  it('keeps a French or German description whole, negation and umlaut included', () => {
    expect(str(described('CT THORAX SANS INJECTION'), SeriesDescription)).toBe('CT THORAX SANS INJECTION');
    expect(str(described('MRT Schädel nativ', 'ISO_IR 100'), SeriesDescription)).toBe('MRT Schädel nativ');
  });

  it('removes a description whole when it names a person', () => {
    expect(str(described('CT CHEST WITHOUT CONTRAST for Dr Max Field'), SeriesDescription)).toBe('');
  });
});

describe('codes', () => {
  const code = (value: string, scheme: string, meaning: string): DataSet =>
    new Map([
      s(TAGS.CodeValue, 'SH', value),
      s(TAGS.CodingSchemeDesignator, 'SH', scheme),
      s(TAGS.CodeMeaning, 'LO', meaning),
    ]);
  const codeOf = (r: DeidResult) => {
    const item = r.file.dataset.get(TAGS.ConceptNameCodeSequence)!.items![0]!;
    return [TAGS.CodeValue, TAGS.CodingSchemeDesignator, TAGS.CodeMeaning].map((t) => getString(item, t));
  };

  it('keeps a known code and a meaning made of vocabulary words', () => {
    const r = run(
      dataSet([sq(TAGS.ConceptNameCodeSequence, [code('39607008', 'SCT', 'Lung structure')])]),
      RESEARCH,
    );
    expect(codeOf(r)).toEqual(['39607008', 'SCT', 'Lung structure']);
  });

  it('replaces the free-text meaning of a known code by the code itself', () => {
    const r = run(
      dataSet([sq(TAGS.ConceptNameCodeSequence, [code('39607008', 'SCT', 'Lung of John Smith')])]),
      RESEARCH,
    );
    expect(codeOf(r)).toEqual(['39607008', 'SCT', 'SCT 39607008']);
  });

  it('writes the standard meaning of a DCM code it knows', () => {
    const r = run(dataSet([sq(TAGS.ConceptNameCodeSequence, [code('113100', 'DCM', 'Dr Smith')])]), RESEARCH);
    expect(codeOf(r)).toEqual(['113100', 'DCM', 'Basic Application Confidentiality Profile']);
  });

  it('keeps a coding scheme item a scheme item: known designator kept, any other replaced, no code added', () => {
    const CodingSchemeIdentificationSequence = tag(0x0008, 0x0110);
    const r = run(
      dataSet([
        sq(CodingSchemeIdentificationSequence, [
          new Map([s(TAGS.CodingSchemeDesignator, 'SH', 'SCT')]),
          new Map([s(TAGS.CodingSchemeDesignator, 'SH', '99SMITH')]),
        ]),
      ]),
      RESEARCH,
    );
    const items = r.file.dataset.get(CodingSchemeIdentificationSequence)!.items!;
    expect(items.map((i) => getString(i, TAGS.CodingSchemeDesignator))).toEqual([
      'SCT',
      DUMMY_CODE.designator,
    ]);
    expect(items.some((i) => i.has(TAGS.CodeValue) || i.has(TAGS.CodeMeaning))).toBe(false);
  });

  it('replaces a private-scheme code, or a value that is not of its scheme, by a dummy code', () => {
    const dummy = [DUMMY_CODE.value, DUMMY_CODE.designator, DUMMY_CODE.meaning];
    const local = run(
      dataSet([sq(TAGS.ConceptNameCodeSequence, [code('SMITH', '99LOCAL', 'John Smith')])]),
      RESEARCH,
    );
    expect(codeOf(local)).toEqual(dummy);
    const notSct = run(
      dataSet([sq(TAGS.ConceptNameCodeSequence, [code('JSMITH', 'SCT', 'Lung')])]),
      RESEARCH,
    );
    expect(codeOf(notSct)).toEqual(dummy);
  });
});

describe('Safe Harbor profile, against the research profile', () => {
  it('aggregates ages over 89 to 090Y and keeps younger ages', () => {
    expect(str(run(dataSet(), SAFE_HARBOR), TAGS.PatientAge)).toBe('090Y');
    expect(str(run(dataSet(), RESEARCH), TAGS.PatientAge)).toBe('095Y');
    expect(str(run(dataSet([s(TAGS.PatientAge, 'AS', '089Y')]), SAFE_HARBOR), TAGS.PatientAge)).toBe('089Y');
    expect(str(run(dataSet([s(TAGS.PatientAge, 'AS', '900M')]), SAFE_HARBOR), TAGS.PatientAge)).toBe('900M');
  });

  it('drops device identity: safe-list and table device attributes get dummies or go', () => {
    const harbor = run(dataSet([s(tag(0x0018, 0x1210), 'SH', 'B30f')]), SAFE_HARBOR); // Convolution Kernel
    expect(str(harbor, TAGS.Manufacturer)).toBe('ANONYMIZED');
    expect(str(harbor, TAGS.ManufacturerModelName)).toBe('ANONYMIZED');
    expect(harbor.file.dataset.has(tag(0x0018, 0x1210))).toBe(false);
    expect(str(harbor, TAGS.StationName)).toBe('ANONYMIZED');
    const research = run(dataSet(), RESEARCH);
    expect(str(research, TAGS.Manufacturer)).toBe('ACME MEDICAL');
    expect(str(research, TAGS.ManufacturerModelName)).toBe('Scanner 9000');
    expect(str(research, TAGS.StationName)).toBe('CT7');
  });

  it('says so in the method codes: no Retain Device Identity (113109) under Safe Harbor', () => {
    const codes = (r: DeidResult) =>
      r.file.dataset.get(tag(0x0012, 0x0064))!.items!.map((i) => getString(i, TAGS.CodeValue));
    expect(codes(run(dataSet(), RESEARCH))).toContain('113109');
    expect(codes(run(dataSet(), SAFE_HARBOR))).not.toContain('113109');
    expect(getStrings(run(dataSet(), SAFE_HARBOR).file.dataset, tag(0x0012, 0x0063))).not.toContain(
      'Retain Device Identity Option',
    );
  });

  it('changes nothing else the research profile keeps: sex, dates shifted, descriptors', () => {
    expect(SAFE_HARBOR).toEqual({ ...RESEARCH, retainDeviceIdentity: false, aggregateAgesOver89: true });
  });
});

describe('values shown in a notification', () => {
  const finding = {
    study: '2.25.1',
    series: '2.25.2',
    sop: '2.25.3',
    label: 'suspicious_lesion',
    score: 0.97,
    threshold: 0.9,
    position: 1,
    imagesInSeries: 1,
    model: { name: 'ref', version: '1' },
  };

  it('shows a body part or modality only as a defined term, else "unspecified"', () => {
    const m = composeCriticalNotification(finding as never, {
      bodyPart: 'SMITH JOHN',
      modality: 'JOHN',
      jobId: 'job-1',
      detectedAt: new Date(0),
    });
    expect(m.message).toContain('Body part:      unspecified');
    expect(m.message).toContain('Modality:       unspecified modality');
    expect(`${m.subject}\n${m.message}`).not.toMatch(/SMITH|JOHN/);
  });

  it('names the upload batch only by its keyed reference', () => {
    const ref = keyedBatchRef(KEY, 'b-John_Doe_2024');
    expect(ref).toMatch(/^b-[0-9a-f]{20}$/);
    const m = composeCriticalNotification(finding as never, {
      batchRef: ref,
      jobId: 'job-1',
      detectedAt: new Date(0),
    });
    expect(m.message).toContain(`Upload batch:   ${ref}`);
    const raw = composeCriticalNotification(finding as never, {
      batchRef: 'b-John_Doe_2024',
      jobId: 'job-1',
      detectedAt: new Date(0),
    });
    expect(raw.message).not.toContain('John_Doe');
  });
});
