/**
 * Burned-in text: which images may carry it, and blanking configured regions in native
 * (uncompressed) pixel data. Encapsulated pixel data is decoded, blanked and re-encoded as native
 * pixel data by blank-encapsulated.ts (async); it is never passed through unblanked.
 */
import { type ByteOrder, type DataSet, getNumber, getString, T } from '@medimg/dicom';
import type { BlankRegion, BlankRule, DeidOptions } from './options.ts';

export type { BlankRegion } from './options.ts';

/** Secondary Capture image storage SOP classes (all may carry burned-in text). */
const SECONDARY_CAPTURE_CLASSES = new Set([
  '1.2.840.10008.5.1.4.1.1.7',
  '1.2.840.10008.5.1.4.1.1.7.1',
  '1.2.840.10008.5.1.4.1.1.7.2',
  '1.2.840.10008.5.1.4.1.1.7.3',
  '1.2.840.10008.5.1.4.1.1.7.4',
]);

/** Whether the SOP class is a Secondary Capture (screenshots, scanned documents). */
export const isSecondaryCapture = (ds: DataSet): boolean =>
  SECONDARY_CAPTURE_CLASSES.has(getString(ds, T.SOPClassUID) ?? '');

export type BurnedInReason = 'BURNED_IN_ANNOTATION_YES' | 'MODALITY' | 'SECONDARY_CAPTURE';

/** Why the image may carry burned-in text, or undefined when nothing says so. */
export function burnedInReason(ds: DataSet, options: DeidOptions): BurnedInReason | undefined {
  if ((getString(ds, T.BurnedInAnnotation) ?? '').toUpperCase() === 'YES') return 'BURNED_IN_ANNOTATION_YES';
  const modality = (getString(ds, T.Modality) ?? '').toUpperCase();
  if (modality && options.burnedInModalities.some((m) => m.toUpperCase() === modality)) return 'MODALITY';
  if (SECONDARY_CAPTURE_CLASSES.has(getString(ds, T.SOPClassUID) ?? '')) return 'SECONDARY_CAPTURE';
  return undefined;
}

/** The regions of the first rule matching the image's modality and size, or undefined. */
export function blankRegionsFor(
  ds: DataSet,
  rules: readonly BlankRule[],
  byteOrder: ByteOrder,
): BlankRegion[] | undefined {
  const modality = (getString(ds, T.Modality) ?? '').toUpperCase();
  const rows = getNumber(ds, T.Rows, byteOrder);
  const columns = getNumber(ds, T.Columns, byteOrder);
  const rule = rules.find(
    (r) =>
      r.modality.toUpperCase() === modality &&
      (r.rows === undefined || r.rows === rows) &&
      (r.columns === undefined || r.columns === columns),
  );
  return rule ? rule.regions.map((r) => ({ ...r })) : undefined;
}

export type BlankFailure = 'ENCAPSULATED' | 'NO_PIXEL_DATA' | 'UNSUPPORTED_LAYOUT';

/**
 * Pixel Data with every region set to black in every frame (zero in every sample; Y 0 and Cb, Cr
 * 128 in YBR_FULL and YBR_FULL_422), as a new value; or why it cannot be done. Regions are clipped
 * to the image.
 */
export function blankNativePixelData(
  ds: DataSet,
  regions: readonly BlankRegion[],
  byteOrder: ByteOrder,
): { value: Uint8Array } | { failure: BlankFailure } {
  const pixel = ds.get(T.PixelData);
  if (!pixel) return { failure: 'NO_PIXEL_DATA' };
  if (pixel.encapsulated) return { failure: 'ENCAPSULATED' };
  const rows = getNumber(ds, T.Rows, byteOrder) ?? 0;
  const cols = getNumber(ds, T.Columns, byteOrder) ?? 0;
  const bitsAllocated = getNumber(ds, T.BitsAllocated, byteOrder) ?? 0;
  const spp = getNumber(ds, T.SamplesPerPixel, byteOrder) ?? 1;
  const planar = getNumber(ds, T.PlanarConfiguration, byteOrder) ?? 0;
  const frames = Math.max(1, Math.trunc(getNumber(ds, T.NumberOfFrames, byteOrder) ?? 1));
  const photometric = (getString(ds, T.PhotometricInterpretation) ?? '').toUpperCase();
  if (rows <= 0 || cols <= 0 || bitsAllocated % 8 !== 0 || bitsAllocated === 0 || spp < 1) {
    return { failure: 'UNSUPPORTED_LAYOUT' };
  }
  if (photometric === 'YBR_FULL_422')
    return blankYbr422(pixel.value, regions, rows, cols, frames, bitsAllocated, spp);
  if (photometric.startsWith('YBR_PARTIAL')) return { failure: 'UNSUPPORTED_LAYOUT' };
  const bps = bitsAllocated / 8;
  const frameBytes = rows * cols * spp * bps;
  if (pixel.value.length < frameBytes * frames) return { failure: 'UNSUPPORTED_LAYOUT' };
  // YBR_FULL is black at Y 0 with no colour (Cb, Cr 128); zeros there would be dark green.
  const ybr = photometric === 'YBR_FULL' && spp === 3 && bps === 1;
  const out = pixel.value.slice();
  for (let f = 0; f < frames; f++) {
    const base = f * frameBytes;
    for (const r of regions) {
      const x0 = Math.min(r.x, cols);
      const x1 = Math.min(r.x + r.width, cols);
      const y0 = Math.min(r.y, rows);
      const y1 = Math.min(r.y + r.height, rows);
      if (x1 <= x0 || y1 <= y0) continue;
      for (let y = y0; y < y1; y++) {
        if (planar === 1 && spp > 1) {
          for (let s = 0; s < spp; s++) {
            const start = base + s * rows * cols * bps + (y * cols + x0) * bps;
            out.fill(ybr && s > 0 ? 128 : 0, start, start + (x1 - x0) * bps);
          }
        } else {
          const start = base + (y * cols + x0) * spp * bps;
          out.fill(0, start, start + (x1 - x0) * spp * bps);
          if (ybr) for (let o = start; o < start + (x1 - x0) * 3; o += 3) out[o + 1] = out[o + 2] = 128;
        }
      }
    }
  }
  return { value: out };
}

/**
 * Native YBR_FULL_422 (8 bits): two pixels in four bytes, Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2), so a
 * region is widened to whole pairs of pixels and blanked to black: Y 0 and Cb, Cr 128 (no colour;
 * Cb and Cr at 0 would be green).
 */
function blankYbr422(
  value: Uint8Array,
  regions: readonly BlankRegion[],
  rows: number,
  cols: number,
  frames: number,
  bitsAllocated: number,
  spp: number,
): { value: Uint8Array } | { failure: BlankFailure } {
  if (bitsAllocated !== 8 || spp !== 3) return { failure: 'UNSUPPORTED_LAYOUT' };
  const pairs = Math.ceil(cols / 2);
  const frameBytes = rows * pairs * 4;
  if (value.length < frameBytes * frames) return { failure: 'UNSUPPORTED_LAYOUT' };
  const out = value.slice();
  for (let f = 0; f < frames; f++) {
    for (const r of regions) {
      const p0 = Math.floor(Math.min(r.x, cols) / 2);
      const p1 = Math.ceil(Math.min(r.x + r.width, cols) / 2);
      const y0 = Math.min(r.y, rows);
      const y1 = Math.min(r.y + r.height, rows);
      for (let y = y0; y < y1; y++) {
        for (let p = p0; p < p1; p++) {
          const o = f * frameBytes + (y * pairs + p) * 4;
          out[o] = 0;
          out[o + 1] = 0;
          out[o + 2] = 128;
          out[o + 3] = 128;
        }
      }
    }
  }
  return { value: out };
}
