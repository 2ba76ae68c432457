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
 * Pixel Data with every region set to zero in every frame and sample, as a new value; or why it
 * cannot be done. Regions are clipped to the image.
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
  // 4:2:2 subsampled native data has no one-sample-per-pixel layout.
  if (photometric.startsWith('YBR_FULL_422') || photometric.startsWith('YBR_PARTIAL')) {
    return { failure: 'UNSUPPORTED_LAYOUT' };
  }
  const bps = bitsAllocated / 8;
  const frameBytes = rows * cols * spp * bps;
  if (pixel.value.length < frameBytes * frames) return { failure: 'UNSUPPORTED_LAYOUT' };
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
            out.fill(0, start, start + (x1 - x0) * bps);
          }
        } else {
          const start = base + (y * cols + x0) * spp * bps;
          out.fill(0, start, start + (x1 - x0) * spp * bps);
        }
      }
    }
  }
  return { value: out };
}
