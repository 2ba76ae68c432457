/**
 * Blanking burned-in text in ENCAPSULATED (compressed) pixel data: every frame is decoded, the
 * configured regions are zeroed, and the object is re-encoded losslessly as native pixel data in
 * Explicit VR Little Endian (uncompressed is lossless). Never passes an unblanked image: any failure
 * throws DeidError('BURNED_IN_ANNOTATION') with the ImagingError code as `reason` (the file is then
 * quarantined), and the output's regions are checked to be zero after re-encoding.
 *
 * What changes, consistently:
 *   - File Meta: Transfer Syntax UID = 1.2.840.10008.1.2.1.
 *   - Pixel Data: native, OB for 8-bit samples, OW above, even length.
 *   - Grey (MONOCHROME1/2): values exactly as decoded (after masking and sign extension), re-packed
 *     into Bits Allocated; Bits Stored and Pixel Representation kept, High Bit = Bits Stored - 1
 *     (decoding shifts values down to bit 0); negative values are stored in two's complement over
 *     Bits Allocated.
 *   - PALETTE COLOR: the indexes are kept exactly (decoded as grey values) with the palette, so the
 *     colours do not change.
 *   - Colour: the decoder's 8-bit RGB (JPEG baseline's YCbCr, JPEG 2000's RCT/ICT and YBR_FULL(_422)
 *     are converted to RGB the way the project renders them) -> Photometric Interpretation RGB,
 *     Samples per Pixel 3, Planar Configuration 0, Bits 8/8/7, Pixel Representation 0. Colour with
 *     more than 8 bits stored is refused (the decoder returns 8 bits: it would not be lossless).
 *   - Extended Offset Table and its lengths (7FE0,0001/0002) are removed (native data has none).
 *   - Lossy Image Compression, its ratio and method are kept: if the source was lossy it stays
 *     '01' (the decoded pixels are the lossy ones; nothing claims they never were).
 */
import {
  buildFileMeta,
  type DataElement,
  type DataSet,
  type DicomFile,
  EXPLICIT_VR_LITTLE_ENDIAN,
  getString,
  numberElement,
  stringElement,
  T,
  tag,
  transferSyntaxOf,
} from '@medimg/dicom';
import { describePixels, type PixelDescription } from '../imaging/attributes.ts';
import { type DecodedFrame, decodeFrame } from '../imaging/decode.ts';
import { ImagingError } from '../imaging/errors.ts';
import { blankNativePixelData } from './burned-in.ts';
import { DeidError } from './deidentify.ts';
import type { BlankRegion } from './options.ts';

const EXTENDED_OFFSET_TABLE = tag(0x7fe0, 0x0001);
const EXTENDED_OFFSET_TABLE_LENGTHS = tag(0x7fe0, 0x0002);

/** The layout of the re-encoded native pixel data. */
interface Target {
  readonly samplesPerPixel: 1 | 3;
  readonly bitsAllocated: 8 | 16 | 32;
  readonly bitsStored: number;
  readonly signed: boolean;
  readonly photometric: string;
  /** Decode a copy whose Photometric Interpretation says this (PALETTE COLOR -> indexes). */
  readonly decodeAs?: string;
}

const refuse = (message: string, reason: string, cause?: unknown): DeidError =>
  new DeidError('BURNED_IN_ANNOTATION', `image may carry burned-in text; ${message}`, {
    reason,
    ...(cause === undefined ? {} : { cause }),
  });

function targetOf(desc: PixelDescription): Target {
  if (desc.kind !== 'integer') throw refuse('float pixel data cannot be encapsulated', 'UNSUPPORTED_LAYOUT');
  if (desc.samplesPerPixel === 3) {
    if (desc.bitsStored > 8) {
      throw refuse(
        'colour with more than 8 bits stored cannot be re-encoded losslessly',
        'UNSUPPORTED_LAYOUT',
      );
    }
    return { samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, signed: false, photometric: 'RGB' };
  }
  const ba = desc.bitsAllocated;
  if (ba !== 8 && ba !== 16 && ba !== 32) {
    throw refuse('bits allocated must be 8, 16 or 32', 'UNSUPPORTED_LAYOUT');
  }
  const palette = desc.photometric === 'PALETTE COLOR';
  return {
    samplesPerPixel: 1,
    bitsAllocated: ba,
    bitsStored: desc.bitsStored,
    signed: desc.signed,
    photometric: desc.photometric,
    ...(palette ? { decodeAs: 'MONOCHROME2' } : {}),
  };
}

/** Writes one decoded frame into `out` at `offset` (little endian) in the target layout. */
function packFrame(frame: DecodedFrame, target: Target, out: Uint8Array, offset: number): void {
  const px = frame.pixels;
  if (target.bitsAllocated === 8) {
    for (let i = 0; i < px.length; i++) out[offset + i] = px[i]! & 0xff;
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, px.length * (target.bitsAllocated / 8));
  if (target.bitsAllocated === 16) {
    for (let i = 0; i < px.length; i++) view.setUint16(i * 2, px[i]! & 0xffff, true);
  } else {
    for (let i = 0; i < px.length; i++) view.setUint32(i * 4, px[i]! >>> 0, true);
  }
}

const withPhotometric = (file: DicomFile, photometric: string): DicomFile => ({
  ...file,
  dataset: new Map(file.dataset).set(
    T.PhotometricInterpretation,
    stringElement(T.PhotometricInterpretation, 'CS', photometric),
  ),
});

/**
 * The object with its encapsulated pixel data decoded, `regions` zeroed in every frame, and
 * re-encoded as native Explicit VR Little Endian. Throws DeidError('BURNED_IN_ANNOTATION') only.
 */
export async function blankEncapsulated(
  file: DicomFile,
  regions: readonly BlankRegion[],
): Promise<DicomFile> {
  try {
    return await blankUnchecked(file, regions);
  } catch (e) {
    if (e instanceof DeidError) throw e;
    if (e instanceof ImagingError) throw refuse('the compressed pixel data cannot be decoded', e.code, e);
    throw refuse('the compressed pixel data cannot be blanked', 'BLANK_FAILED', e);
  }
}

async function blankUnchecked(file: DicomFile, regions: readonly BlankRegion[]): Promise<DicomFile> {
  const pixel = file.dataset.get(T.PixelData);
  if (!pixel?.encapsulated) throw refuse('the pixel data is not encapsulated', 'NOT_ENCAPSULATED');
  if (regions.length === 0) throw refuse('no regions to blank', 'NO_BLANK_RULE');
  const desc = describePixels(file);
  const target = targetOf(desc);
  const source = target.decodeAs ? withPhotometric(file, target.decodeAs) : file;

  const { rows, columns, frameCount } = desc;
  const frameSamples = rows * columns * target.samplesPerPixel;
  const frameBytes = frameSamples * (target.bitsAllocated / 8);
  const length = frameBytes * frameCount;
  const value = new Uint8Array(length + (length % 2));
  for (let i = 0; i < frameCount; i++) {
    const frame = await decodeFrame(source, i);
    if (
      frame.rows !== rows ||
      frame.columns !== columns ||
      frame.samplesPerPixel !== target.samplesPerPixel ||
      frame.pixels.length !== frameSamples
    ) {
      throw new ImagingError('PIXEL_DECODE_FAILED', 'the decoded frame does not have the declared layout');
    }
    packFrame(frame, target, value, i * frameBytes);
  }

  const ds: DataSet = new Map(file.dataset);
  const set = (el: DataElement): void => void ds.set(el.tag, el);
  const us = (t: number, n: number): void => set(numberElement(t, 'US', [n], 'little'));
  ds.delete(EXTENDED_OFFSET_TABLE);
  ds.delete(EXTENDED_OFFSET_TABLE_LENGTHS);
  us(T.SamplesPerPixel, target.samplesPerPixel);
  set(stringElement(T.PhotometricInterpretation, 'CS', target.photometric));
  if (target.samplesPerPixel === 3) us(T.PlanarConfiguration, 0);
  us(T.BitsAllocated, target.bitsAllocated);
  us(T.BitsStored, target.bitsStored);
  us(T.HighBit, target.bitsStored - 1);
  us(T.PixelRepresentation, target.signed ? 1 : 0);
  const vr = target.bitsAllocated === 8 ? 'OB' : 'OW';
  set({ tag: T.PixelData, vr, value });

  const blanked = blankNativePixelData(ds, regions, 'little');
  if ('failure' in blanked)
    throw refuse(`pixel data cannot be blanked (${blanked.failure})`, blanked.failure);
  set({ tag: T.PixelData, vr, value: blanked.value });

  const out: DicomFile = {
    meta: buildFileMeta({
      sopClassUid: getString(file.meta, T.MediaStorageSOPClassUID) ?? getString(ds, T.SOPClassUID) ?? '',
      sopInstanceUid:
        getString(file.meta, T.MediaStorageSOPInstanceUID) ?? getString(ds, T.SOPInstanceUID) ?? '',
      transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    }),
    dataset: ds,
    transferSyntax: transferSyntaxOf(EXPLICIT_VR_LITTLE_ENDIAN),
  };
  await assertBlanked(out, regions);
  return out;
}

/** Decodes the output again and checks that every region is zero in every frame and sample. */
async function assertBlanked(file: DicomFile, regions: readonly BlankRegion[]): Promise<void> {
  const n = describePixels(file).frameCount;
  const indexes = withoutPalette(file);
  for (let i = 0; i < n; i++) {
    const f = await decodeFrame(indexes, i);
    const spp = f.samplesPerPixel;
    for (const r of regions) {
      const x1 = Math.min(r.x + r.width, f.columns);
      const y1 = Math.min(r.y + r.height, f.rows);
      for (let y = Math.min(r.y, f.rows); y < y1; y++) {
        for (let x = Math.min(r.x, f.columns); x < x1; x++) {
          for (let s = 0; s < spp; s++) {
            if (f.pixels[(y * f.columns + x) * spp + s] !== 0) {
              throw refuse('a blanked region is not zero after re-encoding', 'BLANK_FAILED');
            }
          }
        }
      }
    }
  }
}

/** PALETTE COLOR output is checked on its indexes (index 0 is what was written). */
const withoutPalette = (file: DicomFile): DicomFile =>
  getString(file.dataset, T.PhotometricInterpretation) === 'PALETTE COLOR'
    ? withPhotometric(file, 'MONOCHROME2')
    : file;
