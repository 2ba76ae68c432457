/**
 * The in-memory model of a DICOM object that every worker step shares.
 *
 * Values are kept as the raw bytes of the source file (in the source's byte order), so that
 * de-identification can rewrite the data set element by element and copy everything it does not
 * touch - pixel data above all, compressed or not - through untouched, and so that text in any
 * Specific Character Set is never decoded and re-encoded by accident.
 */

/** A tag as a 32-bit number: (group << 16) | element. Use `tag(0x0010, 0x0010)`. */
export type Tag = number;

export const tag = (group: number, element: number): Tag => ((group << 16) | element) >>> 0;
export const groupOf = (t: Tag): number => t >>> 16;
export const elementOf = (t: Tag): number => t & 0xffff;
/** `(0010,0010)` */
export const formatTag = (t: Tag): string =>
  `(${groupOf(t).toString(16).padStart(4, '0').toUpperCase()},${elementOf(t).toString(16).padStart(4, '0').toUpperCase()})`;
export const isPrivateTag = (t: Tag): boolean => (groupOf(t) & 1) === 1;

export type ByteOrder = 'little' | 'big';

/** Encapsulated (compressed) pixel data as stored: offset table and fragments, bytes untouched. */
export interface EncapsulatedPixelData {
  /** Basic Offset Table item value; empty when the file has none. */
  readonly basicOffsetTable: Uint8Array;
  readonly fragments: readonly Uint8Array[];
}

export interface DataElement {
  readonly tag: Tag;
  /** Two-letter VR. For implicit VR input it comes from the data dictionary ('UN' when unknown). */
  readonly vr: string;
  /** Raw value bytes in the data set's byte order (even length). Empty for SQ and encapsulated data. */
  readonly value: Uint8Array;
  /** Items of a sequence (VR SQ). */
  readonly items?: readonly DataSet[];
  /** Present when the element is encapsulated pixel data (undefined length OB). */
  readonly encapsulated?: EncapsulatedPixelData;
}

/** A data set (top level or a sequence item). Elements are kept sorted by tag on write, not here. */
export type DataSet = Map<Tag, DataElement>;

export interface TransferSyntax {
  readonly uid: string;
  readonly explicitVr: boolean;
  readonly byteOrder: ByteOrder;
  /** Deflated Explicit VR Little Endian: the data set after the meta is raw-deflated. */
  readonly deflated: boolean;
  /** Pixel data is encapsulated (JPEG, JPEG-LS, JPEG 2000, RLE, HTJ2K ...). */
  readonly encapsulated: boolean;
}

export interface DicomFile {
  /** File Meta Information (group 0002); empty when the input had none. */
  readonly meta: DataSet;
  readonly dataset: DataSet;
  readonly transferSyntax: TransferSyntax;
}
