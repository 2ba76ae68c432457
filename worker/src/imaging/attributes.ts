/**
 * Reads what decoding and rendering need from a parsed DICOM file: the Image Pixel module, the
 * Modality and VOI LUT modules (top level or in enhanced multi-frame functional groups), the palette,
 * padding, and pixel spacing. The transforms themselves are pure functions in lut.ts and colour.ts.
 */
import {
  type ByteOrder,
  type DataElement,
  type DataSet,
  type DicomFile,
  getNumber,
  getNumbers,
  getString,
  T,
  type Tag,
  tag,
} from '@medimg/dicom';
import type { Palette } from './colour.ts';
import { expandSegmentedLut } from './colour.ts';
import { ImagingError } from './errors.ts';
import {
  IDENTITY_MODALITY,
  type Lut,
  type ModalityTransform,
  type PaddingRange,
  paddingRange,
  parseVoiFunction,
  type WindowLevel,
} from './lut.ts';

export const EXTENDED_OFFSET_TABLE: Tag = tag(0x7fe0, 0x0001);
const SHARED_FUNCTIONAL_GROUPS: Tag = tag(0x5200, 0x9229);
const PER_FRAME_FUNCTIONAL_GROUPS: Tag = tag(0x5200, 0x9230);
const PIXEL_MEASURES: Tag = tag(0x0028, 0x9110);
const FRAME_VOI_LUT: Tag = tag(0x0028, 0x9132);
const PIXEL_VALUE_TRANSFORMATION: Tag = tag(0x0028, 0x9145);

/** Largest frame we agree to decode (pixels): 8192 x 8192. Checked before any allocation. */
export const MAX_FRAME_PIXELS = 8192 * 8192;

export type PixelKind = 'integer' | 'float' | 'double';

export interface PixelDescription {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: 1 | 3;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  readonly signed: boolean;
  readonly photometric: string;
  readonly planarConfiguration: 0 | 1;
  readonly frameCount: number;
  readonly kind: PixelKind;
  readonly element: DataElement;
  readonly byteOrder: ByteOrder;
}

const unsupported = (why: string): ImagingError => new ImagingError('UNSUPPORTED_PIXEL_FORMAT', why);

/** Validates and describes the Image Pixel module; throws ImagingError. */
export function describePixels(file: DicomFile): PixelDescription {
  const ds = file.dataset;
  const byteOrder = file.transferSyntax.byteOrder;
  const integerElement = ds.get(T.PixelData);
  const floatElement = ds.get(T.FloatPixelData);
  const doubleElement = ds.get(T.DoubleFloatPixelData);
  const element = integerElement ?? floatElement ?? doubleElement;
  if (!element || (element.value.length === 0 && !element.encapsulated)) {
    throw new ImagingError('NO_PIXEL_DATA', 'the object has no pixel data');
  }
  const kind: PixelKind = integerElement ? 'integer' : floatElement ? 'float' : 'double';

  const rows = getNumber(ds, T.Rows, byteOrder);
  const columns = getNumber(ds, T.Columns, byteOrder);
  const bitsAllocated = getNumber(ds, T.BitsAllocated, byteOrder);
  if (rows === undefined || columns === undefined || bitsAllocated === undefined) {
    throw unsupported('the image pixel module lacks rows, columns or bits allocated');
  }
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) {
    throw unsupported('rows and columns must be positive');
  }
  if (rows * columns > MAX_FRAME_PIXELS) throw unsupported('the frame is larger than the supported maximum');

  const spp = getNumber(ds, T.SamplesPerPixel, byteOrder) ?? 1;
  if (spp !== 1 && spp !== 3) throw unsupported('samples per pixel must be 1 or 3');
  const photometric =
    (getString(ds, T.PhotometricInterpretation) ?? '').trim().toUpperCase() ||
    (spp === 3 ? 'RGB' : 'MONOCHROME2');

  const bitsStored =
    kind === 'integer' ? (getNumber(ds, T.BitsStored, byteOrder) ?? bitsAllocated) : bitsAllocated;
  const highBit =
    kind === 'integer' ? (getNumber(ds, T.HighBit, byteOrder) ?? bitsStored - 1) : bitsAllocated - 1;
  const signed = kind !== 'integer' || getNumber(ds, T.PixelRepresentation, byteOrder) === 1;
  const planar = getNumber(ds, T.PlanarConfiguration, byteOrder) === 1 ? 1 : 0;

  if (kind === 'float' && bitsAllocated !== 32) throw unsupported('float pixel data needs 32 bits allocated');
  if (kind === 'double' && bitsAllocated !== 64)
    throw unsupported('double pixel data needs 64 bits allocated');
  if (kind === 'integer') {
    if (![1, 8, 16, 32].includes(bitsAllocated)) throw unsupported('bits allocated must be 1, 8, 16 or 32');
    if (bitsStored < 1 || bitsStored > bitsAllocated) throw unsupported('bits stored is out of range');
    if (highBit < bitsStored - 1 || highBit >= bitsAllocated) throw unsupported('high bit is out of range');
  }
  if (spp === 3 && (kind !== 'integer' || bitsAllocated === 1))
    throw unsupported('colour needs integer samples');
  const colourPhotometric = ['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT', 'YBR_PARTIAL_420'];
  if (spp === 3 && !colourPhotometric.includes(photometric)) {
    throw unsupported('the photometric interpretation does not match three samples per pixel');
  }
  if (spp === 1 && !['MONOCHROME1', 'MONOCHROME2', 'PALETTE COLOR'].includes(photometric)) {
    throw unsupported('the photometric interpretation does not match one sample per pixel');
  }
  if (photometric === 'PALETTE COLOR' && (kind !== 'integer' || bitsAllocated > 16 || bitsAllocated === 1)) {
    throw unsupported('palette colour needs 8- or 16-bit indexes');
  }

  const frames = getNumber(ds, T.NumberOfFrames, byteOrder);
  const frameCount = frames !== undefined && Number.isInteger(frames) && frames >= 1 ? frames : 1;

  return {
    rows,
    columns,
    samplesPerPixel: spp,
    bitsAllocated,
    bitsStored,
    highBit,
    signed,
    photometric,
    planarConfiguration: planar,
    frameCount,
    kind,
    element,
    byteOrder,
  };
}

/** Reads 16-bit values whatever the VR says (US, SS, OW or UN for 'US or SS' attributes). */
function rawUint16s(el: DataElement | undefined, byteOrder: ByteOrder): number[] {
  if (!el) return [];
  const v = el.value;
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  for (let o = 0; o + 2 <= v.length; o += 2) out.push(view.getUint16(o, byteOrder === 'little'));
  return out;
}

const toSigned16 = (v: number): number => (v >= 0x8000 ? v - 0x10000 : v);

/**
 * A LUT from its descriptor and data (Modality, VOI or palette). `signedFirst`: the first mapped value
 * is SS when pixel representation is signed. 8-bit entries packed two per word are unpacked.
 */
export function readLut(
  ds: DataSet,
  descriptorTag: Tag,
  dataTag: Tag,
  byteOrder: ByteOrder,
  signedFirst: boolean,
): Lut | undefined {
  const desc = rawUint16s(ds.get(descriptorTag), byteOrder);
  const dataElement = ds.get(dataTag);
  if (desc.length < 3 || !dataElement) return undefined;
  const entries = desc[0] === 0 ? 65536 : desc[0]!;
  const firstMapped = signedFirst ? toSigned16(desc[1]!) : desc[1]!;
  const bits = desc[2]!;
  const bytes = dataElement.value;
  let data: ArrayLike<number>;
  if (bits <= 8 && bytes.length === entries + (entries % 2)) {
    data = bytes.subarray(0, entries); // 8-bit entries packed (seen with OB or odd writers)
  } else {
    const words = rawUint16s(dataElement, byteOrder);
    if (words.length < entries) return undefined;
    data = words.slice(0, entries);
  }
  return { firstMapped, bitsPerEntry: bits, data };
}

/** The attribute `t` for frame `frame`: per-frame functional group, then shared, then top level. */
function functionalItem(ds: DataSet, macro: Tag, frame: number): DataSet | undefined {
  const perFrame = ds.get(PER_FRAME_FUNCTIONAL_GROUPS)?.items?.[frame]?.get(macro)?.items?.[0];
  if (perFrame) return perFrame;
  return ds.get(SHARED_FUNCTIONAL_GROUPS)?.items?.[0]?.get(macro)?.items?.[0];
}

export interface GreyscaleParameters {
  readonly modality: ModalityTransform;
  /** Windows from the header, first one first (invalid ones dropped). */
  readonly windows: readonly WindowLevel[];
  readonly voiLut?: Lut;
  readonly padding?: PaddingRange;
}

/** Modality LUT, VOI windows and LUT, and padding for a grey-scale frame. */
export function readGreyscaleParameters(
  file: DicomFile,
  frame: number,
  pixels: PixelDescription,
): GreyscaleParameters {
  const ds = file.dataset;
  const bo = pixels.byteOrder;

  const transformItem = functionalItem(ds, PIXEL_VALUE_TRANSFORMATION, frame) ?? ds;
  let modality: ModalityTransform = IDENTITY_MODALITY;
  const slope = getNumber(transformItem, T.RescaleSlope, bo);
  const intercept = getNumber(transformItem, T.RescaleIntercept, bo);
  const modalityItem = ds.get(T.ModalityLUTSequence)?.items?.[0];
  const modalityLut = modalityItem && readLut(modalityItem, T.LUTDescriptor, T.LUTData, bo, pixels.signed);
  if (slope !== undefined || intercept !== undefined) {
    modality = { kind: 'rescale', slope: slope && slope !== 0 ? slope : 1, intercept: intercept ?? 0 };
  } else if (modalityLut) {
    modality = { kind: 'table', lut: modalityLut };
  }

  const voiItem = functionalItem(ds, FRAME_VOI_LUT, frame) ?? ds;
  const centers = getNumbers(voiItem, T.WindowCenter, bo);
  const widths = getNumbers(voiItem, T.WindowWidth, bo);
  const fn = parseVoiFunction(getString(voiItem, T.VOILUTFunction));
  const windows: WindowLevel[] = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    const w: WindowLevel = { center: centers[i]!, width: widths[i]!, function: fn };
    if (Number.isFinite(w.center) && (fn === 'LINEAR' ? w.width >= 1 : w.width > 0)) windows.push(w);
  }
  const voiItemLut = ds.get(T.VOILUTSequence)?.items?.[0];
  // The VOI LUT input is the modality output: its first mapped value is signed when that can be negative.
  const voiSigned = pixels.signed || (modality.kind === 'rescale' && modality.intercept < 0);
  const voiLut = voiItemLut && readLut(voiItemLut, T.LUTDescriptor, T.LUTData, bo, voiSigned);

  const padValue = readPaddingValue(ds, T.PixelPaddingValue, pixels);
  const padLimit = readPaddingValue(ds, T.PixelPaddingRangeLimit, pixels);
  const padding = paddingRange(padValue, padLimit);

  return {
    modality,
    windows,
    ...(voiLut ? { voiLut } : {}),
    ...(padding ? { padding } : {}),
  };
}

function readPaddingValue(ds: DataSet, t: Tag, pixels: PixelDescription): number | undefined {
  const el = ds.get(t);
  if (!el) return undefined;
  const v = rawUint16s(el, pixels.byteOrder)[0];
  if (v === undefined) return undefined;
  return pixels.signed ? toSigned16(v) : v;
}

/** Palette Color LUTs (normal or segmented). Throws UNSUPPORTED_PIXEL_FORMAT when absent or broken. */
export function readPalette(file: DicomFile, pixels: PixelDescription): Palette {
  const ds = file.dataset;
  const bo = pixels.byteOrder;
  const channel = (descTag: Tag, dataTag: Tag, segmentedTag: Tag): Lut => {
    const segmented = ds.get(segmentedTag);
    const desc = rawUint16s(ds.get(descTag), bo);
    if (segmented && desc.length >= 3) {
      const data = expandSegmentedLut(rawUint16s(segmented, bo));
      return { firstMapped: pixels.signed ? toSigned16(desc[1]!) : desc[1]!, bitsPerEntry: desc[2]!, data };
    }
    const lut = readLut(ds, descTag, dataTag, bo, pixels.signed);
    if (!lut) throw unsupported('palette colour image without a usable palette');
    return lut;
  };
  return {
    red: channel(
      T.RedPaletteColorLookupTableDescriptor,
      T.RedPaletteColorLookupTableData,
      T.SegmentedRedPaletteColorLookupTableData,
    ),
    green: channel(
      T.GreenPaletteColorLookupTableDescriptor,
      T.GreenPaletteColorLookupTableData,
      T.SegmentedGreenPaletteColorLookupTableData,
    ),
    blue: channel(
      T.BluePaletteColorLookupTableDescriptor,
      T.BluePaletteColorLookupTableData,
      T.SegmentedBluePaletteColorLookupTableData,
    ),
  };
}

/**
 * Physical height/width ratio of one pixel: Pixel Spacing (row\column spacing, also in enhanced
 * pixel measures), else Pixel Aspect Ratio (vertical\horizontal), else Imager Pixel Spacing; 1 when
 * unknown or implausible.
 */
export function pixelAspect(file: DicomFile, frame: number): number {
  const ds = file.dataset;
  const bo = file.transferSyntax.byteOrder;
  const measures = functionalItem(ds, PIXEL_MEASURES, frame);
  const candidates = [
    measures ? getNumbers(measures, T.PixelSpacing, bo) : [],
    getNumbers(ds, T.PixelSpacing, bo),
    getNumbers(ds, T.PixelAspectRatio, bo),
    getNumbers(ds, T.ImagerPixelSpacing, bo),
  ];
  for (const pair of candidates) {
    const [vertical, horizontal] = pair;
    if (vertical !== undefined && horizontal !== undefined && vertical > 0 && horizontal > 0) {
      const ratio = vertical / horizontal;
      return ratio >= 0.1 && ratio <= 10 ? ratio : 1;
    }
  }
  return 1;
}

/** Extended Offset Table values (64-bit offsets), when present. */
export function extendedOffsets(file: DicomFile): number[] | undefined {
  const el = file.dataset.get(EXTENDED_OFFSET_TABLE);
  if (!el || el.value.length === 0 || el.value.length % 8 !== 0) return undefined;
  const view = new DataView(el.value.buffer, el.value.byteOffset, el.value.byteLength);
  const out: number[] = [];
  for (let o = 0; o < el.value.length; o += 8) {
    out.push(Number(view.getBigUint64(o, file.transferSyntax.byteOrder === 'little')));
  }
  return out;
}
