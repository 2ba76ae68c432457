import { describe, expect, it } from 'vitest';
import { tag } from './dataset.ts';
import { DicomParseError, parseDicom, transferSyntaxOf } from './parse.ts';
import { T } from './tags.ts';
import { getNumber, getString } from './values.ts';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** 128-byte preamble, 'DICM' and a File Meta Information with only (0002,0010) Transfer Syntax UID. */
function part10(transferSyntaxUid: string, dataSet: number[], withPreamble = true): Uint8Array {
  const uid = transferSyntaxUid.length % 2 === 0 ? transferSyntaxUid : `${transferSyntaxUid}\0`;
  // biome-ignore format: byte fixture, one DICOM element per line
  const meta = [
    // (0002,0010) UI, 2-byte length, the UID padded with NUL
    0x02, 0x00, 0x10, 0x00, ...ascii('UI'), uid.length, 0x00, ...ascii(uid),
  ];
  return Uint8Array.from([
    ...(withPreamble ? new Array(128).fill(0) : []),
    ...ascii('DICM'),
    ...meta,
    ...dataSet,
  ]);
}

// biome-ignore format: byte fixture, one DICOM element per line
const EXPLICIT_LE = [
  // (0008,0060) CS, length 2, 'CT'
  0x08, 0x00, 0x60, 0x00, ...ascii('CS'), 0x02, 0x00, ...ascii('CT'),
  // (0010,0010) PN, length 8, 'Doe^John'
  0x10, 0x00, 0x10, 0x00, ...ascii('PN'), 0x08, 0x00, ...ascii('Doe^John'),
  // (0028,0010) US, length 2, 512
  0x28, 0x00, 0x10, 0x00, ...ascii('US'), 0x02, 0x00, 0x00, 0x02,
  // (7FE0,0010) OW, reserved 0000, 4-byte length 4, two 16-bit pixels 1 and 2
  0xe0, 0x7f, 0x10, 0x00, ...ascii('OW'), 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00,
];

describe('parseDicom', () => {
  it('reads an explicit VR little endian file with a preamble', () => {
    const file = parseDicom(part10('1.2.840.10008.1.2.1', EXPLICIT_LE));
    expect(file.transferSyntax.explicitVr).toBe(true);
    expect(getString(file.dataset, T.Modality)).toBe('CT');
    expect(getString(file.dataset, T.PatientName)).toBe('Doe^John');
    expect(getNumber(file.dataset, T.Rows, 'little')).toBe(512);
    expect([...file.dataset.get(T.PixelData)!.value]).toEqual([1, 0, 2, 0]);
    expect(file.dataset.get(T.PixelData)!.vr).toBe('OW');
  });

  it('reads a file that has DICM but no preamble', () => {
    const file = parseDicom(part10('1.2.840.10008.1.2.1', EXPLICIT_LE, false));
    expect(getString(file.dataset, T.PatientName)).toBe('Doe^John');
  });

  it('reads implicit VR little endian, taking VRs from the dictionary', () => {
    // biome-ignore format: byte fixture, one DICOM element per line
    const file = parseDicom(
      part10('1.2.840.10008.1.2', [
        // (0010,0010) 4-byte length 4, 'Doe^'
        0x10, 0x00, 0x10, 0x00, 0x04, 0x00, 0x00, 0x00, ...ascii('Doe^'),
        // (0028,0010) 4-byte length 2, 256
        0x28, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
      ]),
    );
    expect(file.transferSyntax.explicitVr).toBe(false);
    expect(file.dataset.get(T.PatientName)!.vr).toBe('PN');
    expect(file.dataset.get(T.Rows)!.vr).toBe('US');
    expect(getNumber(file.dataset, T.Rows, 'little')).toBe(256);
  });

  it('reads explicit VR big endian and keeps values in big endian order', () => {
    // biome-ignore format: byte fixture, one DICOM element per line
    const file = parseDicom(
      part10('1.2.840.10008.1.2.2', [
        // (0028,0010) US, length 2, 512 big endian
        0x00, 0x28, 0x00, 0x10, ...ascii('US'), 0x00, 0x02, 0x02, 0x00,
      ]),
    );
    expect(file.transferSyntax.byteOrder).toBe('big');
    expect([...file.dataset.get(T.Rows)!.value]).toEqual([0x02, 0x00]);
    expect(getNumber(file.dataset, T.Rows, 'big')).toBe(512);
  });

  it('infers explicit and implicit little endian for a data set without File Meta Information', () => {
    const explicit = parseDicom(Uint8Array.from(EXPLICIT_LE));
    expect(explicit.meta.size).toBe(0);
    expect(explicit.transferSyntax.uid).toBe('1.2.840.10008.1.2.1');
    expect(getString(explicit.dataset, T.PatientName)).toBe('Doe^John');
    // biome-ignore format: byte fixture, one DICOM element per line
    const implicit = parseDicom(
      Uint8Array.from([
        // (0008,0060) 4-byte length 2, 'MR'
        0x08, 0x00, 0x60, 0x00, 0x02, 0x00, 0x00, 0x00, ...ascii('MR'),
      ]),
    );
    expect(implicit.transferSyntax.uid).toBe('1.2.840.10008.1.2');
    expect(getString(implicit.dataset, T.Modality)).toBe('MR');
  });

  it('reads nested undefined-length sequences and items', () => {
    // biome-ignore format: byte fixture, one DICOM element per line
    const file = parseDicom(
      part10('1.2.840.10008.1.2.1', [
        // (0008,1140) SQ, reserved, undefined length
        0x08, 0x00, 0x40, 0x11, ...ascii('SQ'), 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
        // (FFFE,E000) item, undefined length
        0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff,
        // (0008,1150) UI, length 4, '1.2\0'
        0x08, 0x00, 0x50, 0x11, ...ascii('UI'), 0x04, 0x00, ...ascii('1.2'), 0x00,
        // (0040,A730) SQ, undefined length (nested)
        0x40, 0x00, 0x30, 0xa7, ...ascii('SQ'), 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
        // (FFFE,E000) item, length 10
        0xfe, 0xff, 0x00, 0xe0, 0x0a, 0x00, 0x00, 0x00,
        // (0040,A040) CS, length 2, 'ID'
        0x40, 0x00, 0x40, 0xa0, ...ascii('CS'), 0x02, 0x00, ...ascii('ID'),
        // (FFFE,E0DD) sequence delimiter (nested)
        0xfe, 0xff, 0xdd, 0xe0, 0x00, 0x00, 0x00, 0x00,
        // (FFFE,E00D) item delimiter
        0xfe, 0xff, 0x0d, 0xe0, 0x00, 0x00, 0x00, 0x00,
        // (FFFE,E0DD) sequence delimiter
        0xfe, 0xff, 0xdd, 0xe0, 0x00, 0x00, 0x00, 0x00,
        // (0010,0020) LO, length 2, 'P1'
        0x10, 0x00, 0x20, 0x00, ...ascii('LO'), 0x02, 0x00, ...ascii('P1'),
      ]),
    );
    const seq = file.dataset.get(tag(0x0008, 0x1140))!;
    expect(seq.vr).toBe('SQ');
    expect(seq.items).toHaveLength(1);
    const item = seq.items![0]!;
    expect(getString(item, T.ReferencedSOPClassUID)).toBe('1.2');
    const nested = item.get(tag(0x0040, 0xa730))!.items!;
    expect(nested).toHaveLength(1);
    expect(getString(nested[0]!, tag(0x0040, 0xa040))).toBe('ID');
    expect(getString(file.dataset, T.PatientID)).toBe('P1');
  });

  it('keeps encapsulated pixel data as offset table and fragments', () => {
    // biome-ignore format: byte fixture, one DICOM element per line
    const file = parseDicom(
      part10('1.2.840.10008.1.2.4.50', [
        // (7FE0,0010) OB, undefined length
        0xe0, 0x7f, 0x10, 0x00, ...ascii('OB'), 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
        // basic offset table item, length 4, offset 0
        0xfe, 0xff, 0x00, 0xe0, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // fragment item, length 4
        0xfe, 0xff, 0x00, 0xe0, 0x04, 0x00, 0x00, 0x00, 0xff, 0xd8, 0xff, 0xd9,
        // sequence delimiter
        0xfe, 0xff, 0xdd, 0xe0, 0x00, 0x00, 0x00, 0x00,
      ]),
    );
    const px = file.dataset.get(T.PixelData)!;
    expect(px.encapsulated?.basicOffsetTable).toEqual(new Uint8Array(4));
    expect(px.encapsulated?.fragments.map((f) => [...f])).toEqual([[0xff, 0xd8, 0xff, 0xd9]]);
  });

  it('rejects a value cut short with DICOM_TRUNCATED', () => {
    const bytes = part10('1.2.840.10008.1.2.1', EXPLICIT_LE.slice(0, -2));
    expect(() => parseDicom(bytes)).toThrow(expect.objectContaining({ code: 'DICOM_TRUNCATED' }));
  });

  it('rejects a length larger than the file with DICOM_TRUNCATED', () => {
    // biome-ignore format: byte fixture, one DICOM element per line
    const bytes = part10('1.2.840.10008.1.2', [
      // (0010,0010) implicit, length 0x7FFFFFF0 but only 4 bytes follow
      0x10, 0x00, 0x10, 0x00, 0xf0, 0xff, 0xff, 0x7f, ...ascii('Doe^'),
    ]);
    expect(() => parseDicom(bytes)).toThrow(expect.objectContaining({ code: 'DICOM_TRUNCATED' }));
  });

  it('rejects text and random bytes with NOT_DICOM', () => {
    const text = new TextEncoder().encode('This is a plain text file, not an image.\n');
    expect(() => parseDicom(text)).toThrow(expect.objectContaining({ code: 'NOT_DICOM' }));
    let seed = 7;
    const garbage = Uint8Array.from({ length: 600 }, () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    });
    expect(() => parseDicom(garbage)).toThrow(DicomParseError);
    expect(() => parseDicom(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'NOT_DICOM' }));
  });

  it('rejects input over maxBytes with DICOM_TOO_LARGE', () => {
    expect(() => parseDicom(part10('1.2.840.10008.1.2.1', EXPLICIT_LE), { maxBytes: 100 })).toThrow(
      expect.objectContaining({ code: 'DICOM_TOO_LARGE' }),
    );
  });

  it('never puts element values into error messages', () => {
    const bytes = part10('1.2.840.10008.1.2.1', EXPLICIT_LE.slice(0, -2));
    try {
      parseDicom(bytes);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('Doe');
    }
  });

  it('reads a Buffer that is a window into a larger pool', () => {
    const pool = Buffer.alloc(4096, 0x55);
    const bytes = part10('1.2.840.10008.1.2.1', EXPLICIT_LE);
    pool.set(bytes, 1000);
    const file = parseDicom(pool.subarray(1000, 1000 + bytes.length));
    expect(getString(file.dataset, T.PatientName)).toBe('Doe^John');
  });
});

describe('transferSyntaxOf', () => {
  it('knows the standard syntaxes and treats unknown UIDs as encapsulated explicit LE', () => {
    expect(transferSyntaxOf('1.2.840.10008.1.2')).toMatchObject({ explicitVr: false, encapsulated: false });
    expect(transferSyntaxOf('1.2.840.10008.1.2.1.99')).toMatchObject({ deflated: true, explicitVr: true });
    expect(transferSyntaxOf('1.2.840.10008.1.2.2')).toMatchObject({ byteOrder: 'big' });
    expect(transferSyntaxOf('1.2.840.10008.1.2.4.201')).toMatchObject({ encapsulated: true });
    expect(transferSyntaxOf('1.2.3.4.5\0')).toEqual({
      uid: '1.2.3.4.5',
      explicitVr: true,
      byteOrder: 'little',
      deflated: false,
      encapsulated: true,
    });
  });
});
