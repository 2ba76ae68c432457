import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DataSet } from './dataset.ts';
import { tag } from './dataset.ts';
import { keywordToTag, lookupTag, resolveVr } from './dictionary.ts';
import { parseDicom } from './parse.ts';
import { T } from './tags.ts';
import {
  CharsetError,
  characterSetOf,
  decodeText,
  encodeText,
  getNumber,
  getNumbers,
  getString,
  getStrings,
  numberElement,
  stringElement,
} from './values.ts';

const CHARSETS = join(
  process.cwd(),
  '..',
  'shared',
  'dicom-corpus',
  'pydicom__pydicom',
  'src',
  'pydicom',
  'data',
  'charset_files',
);
const nameIn = (file: string): string | undefined => {
  const { dataset } = parseDicom(readFileSync(join(CHARSETS, file)));
  return getString(dataset, T.PatientName);
};

describe('text values', () => {
  it('decodes patient names in the corpus character sets', () => {
    expect(nameIn('chrFren.dcm')).toBe('Buc^Jérôme');
    expect(nameIn('chrGerm.dcm')).toBe('Äneas^Rüdiger');
    expect(nameIn('chrGreek.dcm')).toBe('Διονυσιος');
    expect(nameIn('chrRuss.dcm')).toBe('Люкceмбypг');
    expect(nameIn('chrH31.dcm')).toBe('Yamada^Tarou=山田^太郎=やまだ^たろう');
    expect(nameIn('chrX1.dcm')).toBe('Wang^XiaoDong=王^小東=');
    expect(nameIn('chrX2.dcm')).toBe('Wang^XiaoDong=王^小东=');
  });

  it('round-trips text through every supported character set', () => {
    const cases: [string, string[]][] = [
      ['Buc^Jérôme', ['ISO_IR 100']],
      ['Wałęsa^Lech', ['ISO_IR 101']],
      ['Διονυσιος', ['ISO_IR 126']],
      ['Люкceмбypг', ['ISO_IR 144']],
      ['Yamada^Tarou=山田^太郎=やまだ^たろう', ['', 'ISO 2022 IR 87']],
      ['ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう', ['ISO 2022 IR 13', 'ISO 2022 IR 87']],
      ['Hong^Gildong=洪^吉洞=홍^길동', ['', 'ISO 2022 IR 149']],
      ['Wang^XiaoDong=王^小东=', ['', 'ISO 2022 IR 58']],
      ['Wang^XiaoDong=王^小東=', ['GB18030']],
      ['Zoë^Renée', ['ISO_IR 192']],
    ];
    for (const [text, terms] of cases) {
      expect(decodeText(encodeText(text, 'PN', { terms }), 'PN', { terms })).toBe(text);
    }
  });

  it('encodes ISO 2022 IR 87 exactly as the standard example', () => {
    const bytes = encodeText('Yamada^Tarou=山田^太郎=やまだ^たろう', 'PN', { terms: ['', 'ISO 2022 IR 87'] });
    expect(Buffer.from(bytes).toString('latin1')).toBe(
      'Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B',
    );
  });

  it('uses the default repertoire for VRs outside SH LO ST LT PN UC UT', () => {
    expect(decodeText(Uint8Array.of(0xc3, 0xa9), 'CS', { terms: ['ISO_IR 192'] })).toBe('Ã©');
  });

  it('throws CharsetError for characters the character set cannot hold', () => {
    expect(() => encodeText('山田', 'PN', { terms: ['ISO_IR 100'] })).toThrow(CharsetError);
  });

  it('pads strings to even length with space, and UIDs with NUL, and reads them back trimmed', () => {
    const ds: DataSet = new Map();
    const pn = stringElement(T.PatientName, 'PN', 'Doe^J');
    const uid = stringElement(T.SOPInstanceUID, 'UI', '1.2.3');
    expect([...pn.value].at(-1)).toBe(0x20);
    expect([...uid.value].at(-1)).toBe(0x00);
    ds.set(pn.tag, pn).set(uid.tag, uid);
    ds.set(T.ImageType, stringElement(T.ImageType, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']));
    expect(getString(ds, T.PatientName)).toBe('Doe^J');
    expect(getString(ds, T.SOPInstanceUID)).toBe('1.2.3');
    expect(getStrings(ds, T.ImageType)).toEqual(['ORIGINAL', 'PRIMARY', 'AXIAL']);
    expect(getString(ds, T.ImageType)).toBe('ORIGINAL\\PRIMARY\\AXIAL');
    expect(getString(ds, T.PatientID)).toBeUndefined();
  });

  it('reads the character set from (0008,0005), with an empty first value', () => {
    const ds: DataSet = new Map();
    ds.set(T.SpecificCharacterSet, stringElement(T.SpecificCharacterSet, 'CS', ['', 'ISO 2022 IR 87']));
    expect(characterSetOf(ds).terms).toEqual(['', 'ISO 2022 IR 87']);
    expect(characterSetOf(new Map()).terms).toEqual([]);
  });
});

describe('numeric values', () => {
  it('reads binary numbers in either byte order and decimal strings', () => {
    const ds: DataSet = new Map();
    ds.set(T.Rows, numberElement(T.Rows, 'US', [512], 'big'));
    ds.set(T.PixelPaddingValue, numberElement(T.PixelPaddingValue, 'SS', [-2000], 'little'));
    ds.set(T.WindowCenter, stringElement(T.WindowCenter, 'DS', ['-600', '40.5']));
    ds.set(T.InstanceNumber, stringElement(T.InstanceNumber, 'IS', ' 7'));
    expect(getNumber(ds, T.Rows, 'big')).toBe(512);
    expect(getNumber(ds, T.Rows, 'little')).toBe(2);
    expect(getNumber(ds, T.PixelPaddingValue, 'little')).toBe(-2000);
    expect(getNumbers(ds, T.WindowCenter, 'little')).toEqual([-600, 40.5]);
    expect(getNumber(ds, T.WindowCenter, 'little', 1)).toBe(40.5);
    expect(getNumber(ds, T.InstanceNumber, 'little')).toBe(7);
    expect(getNumber(ds, T.Columns, 'little')).toBeUndefined();
  });
});

describe('data dictionary', () => {
  it('looks up tags and keywords', () => {
    expect(lookupTag(T.PatientName)).toMatchObject({ vr: 'PN', keyword: 'PatientName', retired: false });
    expect(keywordToTag('PatientName')).toBe(T.PatientName);
    expect(keywordToTag('NoSuchKeyword')).toBeUndefined();
  });

  it('matches repeating groups through their mask', () => {
    expect(lookupTag(tag(0x6002, 0x3000))).toMatchObject({ keyword: 'OverlayData', vrs: ['OW', 'OB'] });
    expect(lookupTag(tag(0x5010, 0x0005))).toMatchObject({ keyword: 'CurveDimensions', retired: true });
    expect(lookupTag(tag(0x6001, 0x3000))).toBeUndefined(); // odd group: private
  });

  it('resolves US-or-SS entries by Pixel Representation', () => {
    expect(lookupTag(T.PixelPaddingValue)?.vrs).toEqual(['US', 'SS']);
    expect(resolveVr(T.PixelPaddingValue)).toBe('US');
    expect(resolveVr(T.PixelPaddingValue, 1)).toBe('SS');
    expect(resolveVr(tag(0x0009, 0x0010))).toBe('LO'); // private creator
    expect(resolveVr(tag(0x0009, 0x1001))).toBe('UN');
    expect(resolveVr(tag(0x0008, 0x0000))).toBe('UL'); // group length
  });
});
