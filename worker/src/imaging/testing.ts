/**
 * Builds small DicomFile objects in memory for the imaging tests: each test states the attributes it
 * cares about and the pixel bytes, nothing else. Not used by production code.
 */
import {
  type ByteOrder,
  type DataElement,
  type DataSet,
  type DicomFile,
  type EncapsulatedPixelData,
  numberElement,
  sequenceElement,
  stringElement,
  T,
  transferSyntaxOf,
} from '@medimg/dicom';

export interface ImageSpec {
  readonly rows: number;
  readonly columns: number;
  readonly bitsAllocated?: number;
  readonly bitsStored?: number;
  readonly highBit?: number;
  readonly signed?: boolean;
  readonly samplesPerPixel?: number;
  readonly photometric?: string;
  readonly planarConfiguration?: 0 | 1;
  readonly frames?: number;
  /** Native pixel bytes (in the transfer syntax's byte order) or encapsulated fragments. */
  readonly pixels: Uint8Array | EncapsulatedPixelData;
  /** Which pixel data element holds them. */
  readonly pixelTag?: 'PixelData' | 'FloatPixelData' | 'DoubleFloatPixelData';
  readonly pixelVr?: string;
  readonly transferSyntax?: string;
  /** Extra elements (window, rescale, palette ...), added last. */
  readonly extra?: readonly DataElement[];
}

export function imageFile(spec: ImageSpec): DicomFile {
  const ts = transferSyntaxOf(spec.transferSyntax ?? '1.2.840.10008.1.2.1');
  const bo = ts.byteOrder;
  const ds: DataSet = new Map();
  const put = (el: DataElement): void => {
    ds.set(el.tag, el);
  };
  const bitsAllocated = spec.bitsAllocated ?? 8;
  const spp = spec.samplesPerPixel ?? 1;
  put(numberElement(T.SamplesPerPixel, 'US', [spp], bo));
  put(
    stringElement(T.PhotometricInterpretation, 'CS', spec.photometric ?? (spp === 3 ? 'RGB' : 'MONOCHROME2')),
  );
  if (spp === 3) put(numberElement(T.PlanarConfiguration, 'US', [spec.planarConfiguration ?? 0], bo));
  if (spec.frames !== undefined) put(stringElement(T.NumberOfFrames, 'IS', String(spec.frames)));
  put(numberElement(T.Rows, 'US', [spec.rows], bo));
  put(numberElement(T.Columns, 'US', [spec.columns], bo));
  put(numberElement(T.BitsAllocated, 'US', [bitsAllocated], bo));
  if ((spec.pixelTag ?? 'PixelData') === 'PixelData') {
    const bitsStored = spec.bitsStored ?? bitsAllocated;
    put(numberElement(T.BitsStored, 'US', [bitsStored], bo));
    put(numberElement(T.HighBit, 'US', [spec.highBit ?? bitsStored - 1], bo));
    put(numberElement(T.PixelRepresentation, 'US', [spec.signed ? 1 : 0], bo));
  }
  for (const el of spec.extra ?? []) put(el);
  const pixelTag = T[spec.pixelTag ?? 'PixelData'];
  if (spec.pixels instanceof Uint8Array) {
    const vr =
      spec.pixelVr ??
      (pixelTag === T.FloatPixelData ? 'OF' : pixelTag === T.DoubleFloatPixelData ? 'OD' : 'OW');
    put({ tag: pixelTag, vr, value: spec.pixels });
  } else {
    put({ tag: pixelTag, vr: 'OB', value: new Uint8Array(0), encapsulated: spec.pixels });
  }
  return { meta: new Map(), dataset: ds, transferSyntax: ts };
}

/** Packs numbers as 16-bit (or 32-bit) integers, or 32/64-bit floats, in the given byte order. */
export function pack(
  values: readonly number[],
  kind: 'u8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64',
  byteOrder: ByteOrder = 'little',
): Uint8Array {
  const size = { u8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, f64: 8 }[kind];
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  const le = byteOrder === 'little';
  values.forEach((v, i) => {
    const o = i * size;
    if (kind === 'u8') view.setUint8(o, v);
    else if (kind === 'u16') view.setUint16(o, v, le);
    else if (kind === 'i16') view.setInt16(o, v, le);
    else if (kind === 'u32') view.setUint32(o, v, le);
    else if (kind === 'i32') view.setInt32(o, v, le);
    else if (kind === 'f32') view.setFloat32(o, v, le);
    else view.setFloat64(o, v, le);
  });
  return bytes;
}

export const ds = (...elements: DataElement[]): DataSet => new Map(elements.map((e) => [e.tag, e]));
export { numberElement, sequenceElement, stringElement };
