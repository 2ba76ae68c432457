import {
  type DataElement,
  type DataSet,
  type DicomFile,
  encodeText,
  getString,
  getStrings,
  numberElement,
  parseDicom,
  sequenceElement,
  stringElement,
  T,
  type Tag,
  tag,
  writePart10,
} from '@medimg/dicom';
import { describe, expect, it } from 'vitest';
import { DeidError, type DeidResult, deidentify } from './deidentify.ts';
import {
  BASIC_PROFILE_OPTIONS,
  DEFAULT_DEID_OPTIONS,
  type DeidOptions,
  parseDeidOptions,
} from './options.ts';
import { remapUid } from './pseudonyms.ts';

const KEY = new Uint8Array(32).fill(0x42);
const OTHER_KEY = new Uint8Array(32).fill(0x43);
const CT = '1.2.840.10008.5.1.4.1.1.2';
const SC = '1.2.840.10008.5.1.4.1.1.7';

const s = (t: Tag, vr: string, v: string | string[]): [Tag, DataElement] => [t, stringElement(t, vr, v)];
const sq = (t: Tag, items: DataSet[]): [Tag, DataElement] => [t, sequenceElement(t, items)];
const ds = (...els: [Tag, DataElement][]): DataSet => new Map(els);

/** A small CT image: identifying header plus a 4x4 16-bit native pixel block. */
function ctDataSet(
  over: { sop?: string; study?: string; patientId?: string; extra?: [Tag, DataElement][] } = {},
): DataSet {
  const pixels = new Uint8Array(32).fill(0x11);
  return ds(
    s(T.SOPClassUID, 'UI', CT),
    s(T.SOPInstanceUID, 'UI', over.sop ?? '1.2.3.4.5.1'),
    s(T.StudyInstanceUID, 'UI', over.study ?? '1.2.3.4.5'),
    s(T.SeriesInstanceUID, 'UI', '1.2.3.4.5.0'),
    s(T.Modality, 'CS', 'CT'),
    s(tag(0x0010, 0x0010), 'PN', 'DOE^JOHN'), // Patient's Name: Z -> pseudonym
    s(T.PatientID, 'LO', over.patientId ?? 'MRN12345'), // Patient ID: Z/D -> pseudonym
    s(tag(0x0010, 0x0030), 'DA', '19700215'), // Patient's Birth Date: Z
    s(tag(0x0010, 0x0040), 'CS', 'M'), // Patient's Sex: Z, K with patient characteristics
    s(T.StudyDate, 'DA', '20240301'), // Z; C under modified dates
    s(T.StudyTime, 'TM', '101500'),
    s(T.AccessionNumber, 'SH', 'ACC999'), // Z
    s(tag(0x0008, 0x0080), 'LO', 'GENERAL HOSPITAL'), // Institution Name: X/Z/D
    s(tag(0x0008, 0x1010), 'SH', 'CTSTATION7'), // Station Name: X/Z/D, K with device identity
    s(tag(0x0008, 0x103e), 'LO', 'CHEST AXIAL 5mm DOE'), // Series Description: X, C clean descriptors
    s(tag(0x0020, 0x4000), 'LT', 'patient was anxious'), // Image Comments: X
    s(T.BodyPartExamined, 'CS', 'CHEST'),
    [T.Rows, numberElement(T.Rows, 'US', [4], 'little')],
    [T.Columns, numberElement(T.Columns, 'US', [4], 'little')],
    [T.BitsAllocated, numberElement(T.BitsAllocated, 'US', [16], 'little')],
    [T.SamplesPerPixel, numberElement(T.SamplesPerPixel, 'US', [1], 'little')],
    [T.PixelData, { tag: T.PixelData, vr: 'OW', value: pixels }],
    ...(over.extra ?? []),
  );
}

const EXPLICIT_LE = {
  uid: '1.2.840.10008.1.2.1',
  explicitVr: true,
  byteOrder: 'little' as const,
  deflated: false,
  encapsulated: false,
};
const fileOf = (dataset: DataSet): DicomFile => ({ meta: new Map(), dataset, transferSyntax: EXPLICIT_LE });
const run = (dataset: DataSet, options: DeidOptions = DEFAULT_DEID_OPTIONS, key = KEY): DeidResult =>
  deidentify(fileOf(dataset), { key, options });
const str = (r: DeidResult, t: Tag): string | undefined => getString(r.file.dataset, t);

describe('basic profile actions', () => {
  it('X removes an attribute (Patient Address; Image Comments without Clean Descriptors)', () => {
    const r = run(ctDataSet({ extra: [s(tag(0x0010, 0x1040), 'LO', '1 MAIN STREET')] }));
    expect(r.file.dataset.has(tag(0x0010, 0x1040))).toBe(false);
    expect(run(ctDataSet(), BASIC_PROFILE_OPTIONS).file.dataset.has(tag(0x0020, 0x4000))).toBe(false);
  });

  it('C on free text that keeps no safe word leaves it empty (Image Comments under Clean Descriptors)', () => {
    expect(run(ctDataSet()).file.dataset.get(tag(0x0020, 0x4000))?.value.length).toBe(0);
  });

  it('Z keeps the attribute with zero length (Accession Number, Patient Birth Date)', () => {
    const r = run(ctDataSet());
    expect(r.file.dataset.get(T.AccessionNumber)?.value.length).toBe(0);
    expect(r.file.dataset.get(tag(0x0010, 0x0030))?.value.length).toBe(0);
  });

  it('D replaces a present value with a dummy valid for the VR (Institution Name X/Z/D, Verifying Observer Name)', () => {
    const r = run(ctDataSet({ extra: [s(tag(0x0040, 0xa075), 'PN', 'SMITH^ANNA')] }));
    expect(str(r, tag(0x0008, 0x0080))).toBe('ANONYMIZED');
    expect(str(r, tag(0x0040, 0xa075))).toBe('ANONYMOUS');
  });

  it('K keeps the bytes (Station Name under Retain Device Identity)', () => {
    const input = ctDataSet();
    const r = run(input);
    expect(r.file.dataset.get(tag(0x0008, 0x1010))?.value).toEqual(input.get(tag(0x0008, 0x1010))?.value);
  });

  it('C removes a descriptor whole when one of its words is not on the vocabulary (a name)', () => {
    const r = run(ctDataSet());
    expect(str(r, tag(0x0008, 0x103e))).toBe('');
  });

  it('C keeps a descriptor whole when every word is on the vocabulary', () => {
    const r = run(ctDataSet({ extra: [s(tag(0x0008, 0x103e), 'LO', 'CHEST AXIAL 5mm')] }));
    expect(str(r, tag(0x0008, 0x103e))).toBe('CHEST AXIAL 5mm');
  });

  it('U replaces a UID with 2.25.<HMAC> (SOP Instance UID) under 64 characters', () => {
    const r = run(ctDataSet());
    const uid = str(r, T.SOPInstanceUID)!;
    expect(uid).toBe(remapUid(KEY, '1.2.3.4.5.1'));
    expect(uid).toMatch(/^2\.25\.[1-9]\d*$/);
    expect(uid.length).toBeLessThanOrEqual(64);
    expect(r.ids.sopUid).toBe(uid);
    expect(getString(r.file.meta, T.MediaStorageSOPInstanceUID)).toBe(uid);
  });

  it('X/Z/U* keeps Referenced Image Sequence and replaces the UIDs inside', () => {
    const refImg = tag(0x0008, 0x1140);
    const r = run(
      ctDataSet({
        extra: [
          sq(refImg, [ds(s(tag(0x0008, 0x1150), 'UI', CT), s(tag(0x0008, 0x1155), 'UI', '1.2.3.4.5.9'))]),
        ],
      }),
    );
    const item = r.file.dataset.get(refImg)?.items?.[0];
    expect(item && getString(item, tag(0x0008, 0x1155))).toBe(remapUid(KEY, '1.2.3.4.5.9'));
    expect(item && getString(item, tag(0x0008, 0x1150))).toBe(CT); // a class UID stays
  });

  it('writes PatientIdentityRemoved, the method text and CID 7050 codes', () => {
    const r = run(ctDataSet());
    expect(str(r, tag(0x0012, 0x0062))).toBe('YES');
    expect(getStrings(r.file.dataset, tag(0x0012, 0x0063))).toContain(
      'Basic Application Confidentiality Profile',
    );
    const codes = (r.file.dataset.get(tag(0x0012, 0x0064))?.items ?? []).map((i) =>
      getString(i, tag(0x0008, 0x0100)),
    );
    expect(codes).toEqual(['113100', '113105', '113107', '113108', '113109']);
    expect(r.methodCodes).toEqual(codes);
    expect(str(r, tag(0x0028, 0x0303))).toBe('MODIFIED');
  });

  it('passes pixel data through untouched', () => {
    const input = ctDataSet();
    const r = run(input);
    expect(r.file.dataset.get(T.PixelData)?.value).toBe(input.get(T.PixelData)?.value);
  });
});

describe('options', () => {
  it('without Retain Patient Characteristics, Patient Sex is emptied; with it, kept', () => {
    expect(run(ctDataSet(), BASIC_PROFILE_OPTIONS).file.dataset.get(tag(0x0010, 0x0040))?.value.length).toBe(
      0,
    );
    expect(str(run(ctDataSet()), tag(0x0010, 0x0040))).toBe('M');
  });

  it('without Retain Device Identity, Station Name gets a dummy', () => {
    expect(str(run(ctDataSet(), BASIC_PROFILE_OPTIONS), tag(0x0008, 0x1010))).toBe('ANONYMIZED');
  });

  it('without Clean Descriptors, Series Description is removed', () => {
    expect(run(ctDataSet(), BASIC_PROFILE_OPTIONS).file.dataset.has(tag(0x0008, 0x103e))).toBe(false);
  });

  it('Full Dates keeps dates; no temporal option empties Study Date and says REMOVED', () => {
    const full = run(ctDataSet(), parseDeidOptions({ retainLongitudinal: 'full' }));
    expect(str(full, T.StudyDate)).toBe('20240301');
    expect(str(full, tag(0x0028, 0x0303))).toBe('UNMODIFIED');
    const off = run(ctDataSet(), BASIC_PROFILE_OPTIONS);
    expect(off.file.dataset.get(T.StudyDate)?.value.length).toBe(0);
    expect(str(off, tag(0x0028, 0x0303))).toBe('REMOVED');
    expect(off.dateShiftDays).toBe(0);
  });

  it('Retain UIDs keeps the original UIDs', () => {
    const r = run(ctDataSet(), parseDeidOptions({ retainUids: true }));
    expect(str(r, T.SOPInstanceUID)).toBe('1.2.3.4.5.1');
    expect(r.methodCodes).toContain('113110');
  });

  it('Retain Institution Identity keeps Institution Name', () => {
    expect(
      str(run(ctDataSet(), parseDeidOptions({ retainInstitutionIdentity: true })), tag(0x0008, 0x0080)),
    ).toBe('GENERAL HOSPITAL');
  });

  it('rejects an invalid option with a ZodError', () => {
    expect(() => parseDeidOptions({ burnedInPolicy: 'ignore' })).toThrow();
  });
});

describe('pseudonyms and dates', () => {
  it('Patient ID and Name are keyed pseudonyms, stable across runs, different under another key', () => {
    const a = run(ctDataSet());
    const b = run(ctDataSet({ sop: '1.2.3.4.5.2' }));
    const c = run(ctDataSet(), DEFAULT_DEID_OPTIONS, OTHER_KEY);
    expect(str(a, T.PatientID)).toMatch(/^ANON[0-9A-F]{16}$/);
    expect(str(a, T.PatientID)).toBe(str(b, T.PatientID));
    expect(str(a, tag(0x0010, 0x0010))).toBe(`ANONYMOUS^${str(a, T.PatientID)}`);
    expect(str(c, T.PatientID)).not.toBe(str(a, T.PatientID));
    expect(a.linkage).toEqual({
      pseudonymousPatientId: a.ids.patientId,
      pseudonymousStudyUid: a.ids.studyUid,
      originalPatientId: 'MRN12345',
      originalStudyUid: '1.2.3.4.5',
      accessionNumber: 'ACC999',
    });
  });

  it('date shift is per patient, negative, keeps intervals, reaches nested DA/DT, keeps TM', () => {
    const nested = tag(0x0040, 0x0275); // Request Attributes Sequence (not K-only content)
    const r = run(
      ctDataSet({
        extra: [
          s(T.SeriesDate, 'DA', '20240311'),
          s(T.AcquisitionDateTime, 'DT', '20240312093000.5+0100'),
          sq(tag(0x0008, 0x1250), [ds(s(tag(0x0040, 0xa121), 'DA', '20240305'))]), // unknown-to-table SQ
          sq(nested, [ds(s(tag(0x0040, 0x0244), 'DA', '20240302'))]),
        ],
      }),
    );
    const days = r.dateShiftDays;
    expect(days).toBeLessThan(0);
    expect(days).toBeGreaterThanOrEqual(-3650);
    const toDay = (d: string) => Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) / 86_400_000;
    const study = str(r, T.StudyDate)!;
    expect(toDay(study) - toDay('20240301')).toBe(days);
    expect(toDay(str(r, T.SeriesDate)!) - toDay(study)).toBe(10);
    const dt = str(r, T.AcquisitionDateTime)!;
    expect(dt.slice(8)).toBe('093000.5+0100');
    expect(toDay(dt.slice(0, 8)) - toDay(study)).toBe(11);
    const inner = r.file.dataset.get(tag(0x0008, 0x1250))?.items?.[0];
    expect(toDay(getString(inner!, tag(0x0040, 0xa121))!) - toDay(study)).toBe(4);
    expect(str(r, T.StudyTime)).toBe('101500');
    // same patient, another run: same shift
    expect(run(ctDataSet({ sop: '9.9' })).dateShiftDays).toBe(days);
  });
});

describe('sequences, private tags and UID references', () => {
  it('de-identifies PHI at every level of a sequence three deep', () => {
    const lvl3 = ds(s(tag(0x0010, 0x0010), 'PN', 'DEEP^THREE'), s(tag(0x0008, 0x0050), 'SH', 'ACC3'));
    const lvl2 = ds(s(tag(0x0008, 0x0090), 'PN', 'DEEP^TWO'), sq(tag(0x0008, 0x1250), [lvl3]));
    const lvl1 = ds(s(tag(0x0008, 0x1050), 'PN', 'DEEP^ONE'), sq(tag(0x0008, 0x1250), [lvl2]));
    const r = run(ctDataSet({ extra: [sq(tag(0x0008, 0x1250), [lvl1])] }));
    const bytes = writePart10(r.file);
    const text = Buffer.from(bytes).toString('latin1');
    for (const phi of ['DEEP^ONE', 'DEEP^TWO', 'DEEP^THREE', 'ACC3']) expect(text).not.toContain(phi);
    const l1 = r.file.dataset.get(tag(0x0008, 0x1250))!.items![0]!;
    const l2 = l1.get(tag(0x0008, 0x1250))!.items![0]!;
    const l3 = l2.get(tag(0x0008, 0x1250))!.items![0]!;
    expect(l1.has(tag(0x0008, 0x1050))).toBe(false); // Performing Physician: X
    expect(l2.get(tag(0x0008, 0x0090))?.value.length).toBe(0); // Referring Physician: Z
    expect(l3.get(tag(0x0008, 0x0050))?.value.length).toBe(0); // Accession Number: Z
  });

  it('removes private tags, and keeps safe-listed ones with their creator under Retain Safe Private', () => {
    const priv = [
      s(tag(0x0019, 0x0010), 'LO', 'ACME_1'),
      s(tag(0x0019, 0x1023), 'DS', '1.5'), // safe
      s(tag(0x0019, 0x1024), 'LO', 'DOE JOHN'), // not listed
      s(tag(0x0021, 0x0010), 'LO', 'OTHER'),
      s(tag(0x0021, 0x1023), 'DS', '2.5'), // same offset, other creator
    ];
    const none = run(ctDataSet({ extra: priv }));
    expect([...none.file.dataset.keys()].filter((t) => (t >>> 16) % 2 === 1)).toEqual([]);
    const safe = run(
      ctDataSet({ extra: priv }),
      parseDeidOptions({
        retainSafePrivate: true,
        safePrivateTags: [{ group: 0x0019, creator: 'ACME_1', offset: 0x23 }],
      }),
    );
    const kept = [...safe.file.dataset.keys()].filter((t) => (t >>> 16) % 2 === 1).sort();
    expect(kept).toEqual([tag(0x0019, 0x0010), tag(0x0019, 0x1023)]);
    expect(safe.methodCodes).toContain('113111');
  });

  it('maps UIDs consistently across files of one study and across runs; differently under another key', () => {
    const a = run(ctDataSet({ sop: '1.2.3.4.5.1' }));
    const b = run(ctDataSet({ sop: '1.2.3.4.5.2' }));
    const again = run(ctDataSet({ sop: '1.2.3.4.5.1' }));
    const other = run(ctDataSet({ sop: '1.2.3.4.5.1' }), DEFAULT_DEID_OPTIONS, OTHER_KEY);
    expect(a.ids.studyUid).toBe(b.ids.studyUid);
    expect(a.ids.seriesUid).toBe(b.ids.seriesUid);
    expect(a.ids.sopUid).not.toBe(b.ids.sopUid);
    expect(again.ids).toEqual(a.ids);
    expect(other.ids.studyUid).not.toBe(a.ids.studyUid);
    expect(a.ids.studyUid).not.toBe('1.2.3.4.5');
  });

  it("remaps Referenced SOP Instance UID to the referenced object's new SOP Instance UID", () => {
    const referenced = run(ctDataSet({ sop: '1.2.3.4.5.77' }));
    const referencing = run(
      ctDataSet({
        sop: '1.2.3.4.5.78',
        extra: [
          sq(tag(0x0008, 0x2112), [
            ds(s(tag(0x0008, 0x1150), 'UI', CT), s(tag(0x0008, 0x1155), 'UI', '1.2.3.4.5.77')),
          ]),
          s(tag(0x0020, 0x0052), 'UI', '1.2.3.4.5.500'),
        ],
      }),
    );
    const item = referencing.file.dataset.get(tag(0x0008, 0x2112))!.items![0]!;
    expect(getString(item, tag(0x0008, 0x1155))).toBe(referenced.ids.sopUid);
    expect(str(referencing, tag(0x0020, 0x0052))).toBe(remapUid(KEY, '1.2.3.4.5.500'));
  });

  it('keeps well-known DICOM UIDs outside the table (Coding Scheme UID, Transfer Syntax)', () => {
    const r = run(ctDataSet({ extra: [s(tag(0x0008, 0x010c), 'UI', '2.16.840.1.113883.6.96')] }));
    expect(str(r, tag(0x0008, 0x010c))).toBe('2.16.840.1.113883.6.96');
  });
});

describe('burned-in text', () => {
  const usImage = (burned?: string) =>
    ctDataSet({
      extra: [s(T.Modality, 'CS', 'US'), ...(burned ? [s(T.BurnedInAnnotation, 'CS', burned)] : [])],
    });

  it('quarantines US, secondary capture and BurnedInAnnotation=YES by default', () => {
    const code = (d: DataSet) => {
      try {
        run(d);
        return 'none';
      } catch (e) {
        return e instanceof DeidError ? e.code : 'other';
      }
    };
    expect(code(usImage())).toBe('BURNED_IN_ANNOTATION');
    expect(code(ctDataSet({ extra: [s(T.SOPClassUID, 'UI', SC), s(T.Modality, 'CS', 'OT')] }))).toBe(
      'BURNED_IN_ANNOTATION',
    );
    expect(code(ctDataSet({ extra: [s(T.BurnedInAnnotation, 'CS', 'YES')] }))).toBe('BURNED_IN_ANNOTATION');
    expect(code(ctDataSet())).toBe('none');
  });

  it('under blank, zeroes the configured region in native pixel data and reports it', () => {
    const options = parseDeidOptions({
      burnedInPolicy: 'blank',
      blankRegions: [{ modality: 'US', rows: 4, columns: 4, regions: [{ x: 0, y: 0, width: 2, height: 1 }] }],
    });
    const r = run(usImage(), options);
    const px = r.file.dataset.get(T.PixelData)!.value;
    expect([...px.subarray(0, 4)]).toEqual([0, 0, 0, 0]); // two 16-bit pixels of row 0
    expect([...px.subarray(4, 8)]).toEqual([0x11, 0x11, 0x11, 0x11]);
    expect([...px.subarray(8, 12)]).toEqual([0x11, 0x11, 0x11, 0x11]); // row 1 untouched
    expect(r.needsBlanking).toEqual([{ x: 0, y: 0, width: 2, height: 1 }]);
    expect(r.blankingPending).toBeUndefined(); // native: blanked already
    expect(r.methodCodes).toContain('113101');
  });

  it('under blank, leaves encapsulated pixel data pending for blankEncapsulated and refuses images without a matching rule', () => {
    const options = parseDeidOptions({
      burnedInPolicy: 'blank',
      blankRegions: [{ modality: 'US', regions: [{ x: 0, y: 0, width: 2, height: 1 }] }],
    });
    const enc = usImage();
    enc.set(T.PixelData, {
      tag: T.PixelData,
      vr: 'OB',
      value: new Uint8Array(0),
      encapsulated: { basicOffsetTable: new Uint8Array(0), fragments: [new Uint8Array(8)] },
    });
    const pending = run(enc, options);
    expect(pending.blankingPending).toBe(true);
    expect(pending.needsBlanking).toEqual([{ x: 0, y: 0, width: 2, height: 1 }]);
    expect(pending.file.dataset.get(T.PixelData)!.encapsulated).toBeDefined(); // not blanked yet
    expect(pending.methodCodes).toContain('113101');
    const sc = ctDataSet({ extra: [s(T.Modality, 'CS', 'XC')] });
    expect(() => run(sc, options)).toThrow(
      expect.objectContaining({ code: 'BURNED_IN_ANNOTATION', reason: 'NO_BLANK_RULE' }),
    );
  });
});

describe('character sets', () => {
  const named = (charset: string[], name: string, extraText: string) => {
    const d = ctDataSet({
      extra: [
        [T.SpecificCharacterSet, stringElement(T.SpecificCharacterSet, 'CS', charset)],
        s(tag(0x0008, 0x0070), 'LO', 'x'), // replaced below with encoded text
      ],
    });
    const cs = { terms: charset };
    d.set(tag(0x0010, 0x0010), stringElement(tag(0x0010, 0x0010), 'PN', name, cs));
    d.set(tag(0x0008, 0x0070), stringElement(tag(0x0008, 0x0070), 'LO', extraText, cs)); // Manufacturer: K
    d.set(tag(0x0008, 0x0080), stringElement(tag(0x0008, 0x0080), 'LO', extraText, cs)); // Institution: D
    return d;
  };

  for (const [label, charset, name, text] of [
    ['Latin-1', ['ISO_IR 100'], 'Müller^Jürgen', 'Société Générale'],
    ['UTF-8', ['ISO_IR 192'], 'Дмитрий^Иванов', 'Hôpital 東京'],
    ['ISO 2022 IR 87', ['', 'ISO 2022 IR 87'], 'YAMADA^TARO=山田^太郎', '山田製作所'],
  ] as const) {
    it(`${label}: kept values are byte-identical, replacements are valid and readable`, () => {
      const input = named([...charset], name, text);
      const r = run(input);
      const manufacturerIn = input.get(tag(0x0008, 0x0070))!.value;
      expect(r.file.dataset.get(tag(0x0008, 0x0070))!.value).toEqual(manufacturerIn);
      expect(r.file.dataset.get(T.SpecificCharacterSet)!.value).toEqual(
        input.get(T.SpecificCharacterSet)!.value,
      );
      const reparsed = parseDicom(writePart10(r.file));
      expect(getString(reparsed.dataset, tag(0x0008, 0x0080))).toBe('ANONYMIZED');
      expect(getString(reparsed.dataset, tag(0x0008, 0x0070))).toBe(text);
      expect(getString(reparsed.dataset, tag(0x0010, 0x0010))).toBe(`ANONYMOUS^${r.ids.patientId}`);
      // the original name's encoded bytes are gone from the output
      const nameBytes = Buffer.from(encodeText(name, 'PN', { terms: [...charset] }));
      expect(Buffer.from(writePart10(r.file)).includes(nameBytes)).toBe(false);
    });
  }
});

describe('errors', () => {
  it('a file without the UIDs it is keyed by is DEID_FAILED, not a crash', () => {
    const d = ctDataSet();
    d.delete(T.StudyInstanceUID);
    expect(() => run(d)).toThrow(expect.objectContaining({ code: 'DEID_FAILED', reason: 'MISSING_UID' }));
  });
});
