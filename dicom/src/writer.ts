/**
 * Writes the shared `DicomFile` model as a DICOM Part 10 file: 128-byte zero preamble, 'DICM',
 * File Meta Information (explicit VR LE, group length recomputed), then the data set in the
 * file's transfer syntax. Elements are sorted by tag; sequences and items are written with
 * undefined length and delimiters; encapsulated pixel data as offset-table item, fragment items
 * and sequence delimiter. Values are copied byte for byte.
 */

import { deflateRawSync } from 'node:zlib';
import { CodedError } from '@medimg/common';
import type { ByteOrder, DataElement, DataSet, DicomFile, TransferSyntax } from './dataset.ts';
import { isKnownVr } from './parse.ts';
import { T } from './tags.ts';
import { stringElement } from './values.ts';

/** The project's Implementation Class UID (2.25 form of a UUID derived from sha256('medimg-pipeline implementation class')). */
export const IMPLEMENTATION_CLASS_UID = '2.25.111588973178601870358726404139308012315';
export const IMPLEMENTATION_VERSION_NAME = 'MEDIMG_0_1';

export class DicomWriteError extends CodedError<'DICOM_WRITE_FAILED'> {
  override readonly name = 'DicomWriteError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DICOM_WRITE_FAILED', message, options);
  }
}

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

const UNDEFINED_LENGTH = 0xffffffff;

/**
 * Bytes written in order: small values gathered in a scratch buffer, large ones (pixel data) kept by
 * reference until `concat`, which copies everything once.
 */
class Sink {
  private chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(1 << 14);
  private view = new DataView(this.scratch.buffer);
  private used = 0;
  length = 0;

  private room(n: number): void {
    if (this.used + n > this.scratch.length) this.flush();
  }
  private flush(): void {
    if (this.used > 0) {
      this.chunks.push(this.scratch.slice(0, this.used));
      this.used = 0;
    }
  }
  u16(v: number, little: boolean): void {
    this.room(2);
    this.view.setUint16(this.used, v, little);
    this.used += 2;
    this.length += 2;
  }
  u32(v: number, little: boolean): void {
    this.room(4);
    this.view.setUint32(this.used, v >>> 0, little);
    this.used += 4;
    this.length += 4;
  }
  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.scratch[this.used++] = s.charCodeAt(i);
    this.length += s.length;
  }
  bytes(b: Uint8Array): void {
    if (b.length <= 4096) {
      this.room(b.length);
      this.scratch.set(b, this.used);
      this.used += b.length;
    } else {
      this.flush();
      this.chunks.push(b);
    }
    this.length += b.length;
  }
  concat(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

interface Enc {
  readonly explicitVr: boolean;
  readonly little: boolean;
}

function writeTag(sink: Sink, t: number, little: boolean): void {
  sink.u16(t >>> 16, little);
  sink.u16(t & 0xffff, little);
}

function writeHeader(sink: Sink, t: number, vr: string, length: number, enc: Enc): void {
  writeTag(sink, t, enc.little);
  if (!enc.explicitVr) {
    sink.u32(length, enc.little);
    return;
  }
  let outVr = isKnownVr(vr) ? vr : 'UN';
  if (!LONG_VRS.has(outVr) && length > 0xffff) outVr = 'UN'; // cannot be expressed with a 2-byte length
  sink.ascii(outVr);
  if (LONG_VRS.has(outVr)) {
    sink.u16(0, enc.little);
    sink.u32(length, enc.little);
  } else {
    sink.u16(length, enc.little);
  }
}

const byTag = (ds: DataSet): DataElement[] => [...ds.values()].sort((a, b) => a.tag - b.tag);

function writeDataSet(sink: Sink, ds: DataSet, enc: Enc): void {
  for (const el of byTag(ds)) writeElement(sink, el, enc);
}

function writeElement(sink: Sink, el: DataElement, enc: Enc): void {
  if (el.items !== undefined || el.vr === 'SQ') {
    writeHeader(sink, el.tag, 'SQ', UNDEFINED_LENGTH, enc);
    for (const item of el.items ?? []) {
      writeTag(sink, T.Item, enc.little);
      sink.u32(UNDEFINED_LENGTH, enc.little);
      writeDataSet(sink, item, enc);
      writeTag(sink, T.ItemDelimitationItem, enc.little);
      sink.u32(0, enc.little);
    }
    writeTag(sink, T.SequenceDelimitationItem, enc.little);
    sink.u32(0, enc.little);
    return;
  }
  if (el.encapsulated) {
    writeHeader(sink, el.tag, el.vr === 'OW' ? 'OW' : 'OB', UNDEFINED_LENGTH, enc);
    writeTag(sink, T.Item, enc.little);
    sink.u32(el.encapsulated.basicOffsetTable.length, enc.little);
    sink.bytes(el.encapsulated.basicOffsetTable);
    for (const f of el.encapsulated.fragments) {
      writeTag(sink, T.Item, enc.little);
      sink.u32(f.length, enc.little);
      sink.bytes(f);
    }
    writeTag(sink, T.SequenceDelimitationItem, enc.little);
    sink.u32(0, enc.little);
    return;
  }
  writeHeader(sink, el.tag, el.vr, el.value.length, enc);
  sink.bytes(el.value);
}

/** File Meta Information for a new file (group length is added by writePart10). */
export function buildFileMeta(params: {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  implementationVersionName?: string;
}): DataSet {
  const meta: DataSet = new Map();
  const put = (el: DataElement): void => void meta.set(el.tag, el);
  put({ tag: T.FileMetaInformationVersion, vr: 'OB', value: Uint8Array.of(0x00, 0x01) });
  put(stringElement(T.MediaStorageSOPClassUID, 'UI', params.sopClassUid));
  put(stringElement(T.MediaStorageSOPInstanceUID, 'UI', params.sopInstanceUid));
  put(stringElement(T.TransferSyntaxUID, 'UI', params.transferSyntaxUid));
  put(stringElement(T.ImplementationClassUID, 'UI', IMPLEMENTATION_CLASS_UID));
  put(
    stringElement(
      T.ImplementationVersionName,
      'SH',
      params.implementationVersionName ?? IMPLEMENTATION_VERSION_NAME,
    ),
  );
  return meta;
}

const uidOf = (el: DataElement | undefined): string =>
  el ? String.fromCharCode(...el.value).replace(/[\0 ]+$/, '') : '';

/** The meta to write: the file's own, completed where required elements are missing. */
function completeMeta(file: DicomFile): DataSet {
  const ts: TransferSyntax = file.transferSyntax;
  const defaults = buildFileMeta({
    sopClassUid: uidOf(file.meta.get(T.MediaStorageSOPClassUID) ?? file.dataset.get(T.SOPClassUID)),
    sopInstanceUid: uidOf(file.meta.get(T.MediaStorageSOPInstanceUID) ?? file.dataset.get(T.SOPInstanceUID)),
    transferSyntaxUid: ts.uid,
  });
  const meta: DataSet = new Map();
  for (const [t, el] of file.meta) {
    if (t !== T.FileMetaInformationGroupLength && t >>> 16 === 0x0002) meta.set(t, el);
  }
  for (const t of [
    T.FileMetaInformationVersion,
    T.MediaStorageSOPClassUID,
    T.MediaStorageSOPInstanceUID,
    T.ImplementationClassUID,
  ]) {
    const current = meta.get(t);
    if (!current || current.value.length === 0) meta.set(t, defaults.get(t)!);
  }
  if (uidOf(meta.get(T.TransferSyntaxUID)) !== ts.uid)
    meta.set(T.TransferSyntaxUID, defaults.get(T.TransferSyntaxUID)!);
  return meta;
}

/** Encodes a data set alone in the given encoding (no meta); exported for tests and size estimates. */
export function encodeDataSet(ds: DataSet, ts: { explicitVr: boolean; byteOrder: ByteOrder }): Uint8Array {
  const sink = new Sink();
  writeDataSet(sink, ds, { explicitVr: ts.explicitVr, little: ts.byteOrder === 'little' });
  return sink.concat();
}

/** Serialises a DicomFile as a Part 10 file in its transfer syntax. */
export function writePart10(file: DicomFile): Uint8Array {
  try {
    const ts = file.transferSyntax;
    const metaEnc: Enc = { explicitVr: true, little: true };
    const metaBody = new Sink();
    writeDataSet(metaBody, completeMeta(file), metaEnc);
    const metaBytes = metaBody.concat();

    const out = new Sink();
    out.bytes(new Uint8Array(128));
    out.ascii('DICM');
    writeHeader(out, T.FileMetaInformationGroupLength, 'UL', 4, metaEnc);
    out.u32(metaBytes.length, true);
    out.bytes(metaBytes);
    // The data set into the same sink: its pixel data is copied once, into the file's bytes.
    if (ts.deflated) out.bytes(new Uint8Array(deflateRawSync(encodeDataSet(file.dataset, ts))));
    else writeDataSet(out, file.dataset, { explicitVr: ts.explicitVr, little: ts.byteOrder === 'little' });
    return out.concat();
  } catch (error) {
    if (error instanceof DicomWriteError) throw error;
    throw new DicomWriteError('data set cannot be encoded', { cause: error });
  }
}
