/**
 * DICOM RLE Lossless decoder (PS3.5 Annex G).
 *
 * A frame is one fragment: a 64-byte header (segment count, then 15 little-endian uint32 segment
 * offsets) and the segments, each a PackBits byte stream. There is one segment per byte of each sample,
 * most significant byte first, sample by sample (R's bytes, then G's, then B's).
 */
import { ImagingError } from './errors.ts';

const HEADER_LENGTH = 64;
const MAX_SEGMENTS = 15;

/**
 * Decodes one RLE frame into native little-endian, pixel-interleaved bytes (planar configuration 0):
 * for each pixel, each sample's bytes, least significant first.
 */
export function decodeRleFrame(
  fragment: Uint8Array,
  rows: number,
  columns: number,
  samplesPerPixel: number,
  bitsAllocated: number,
): Uint8Array {
  if (bitsAllocated % 8 !== 0) {
    throw new ImagingError('UNSUPPORTED_PIXEL_FORMAT', 'RLE frames need a whole number of bytes per sample');
  }
  const bytesPerSample = bitsAllocated / 8;
  const expectedSegments = samplesPerPixel * bytesPerSample;
  if (fragment.length < HEADER_LENGTH) {
    throw new ImagingError('PIXEL_DATA_TRUNCATED', 'RLE frame is shorter than its header');
  }
  const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
  const segmentCount = view.getUint32(0, true);
  if (segmentCount !== expectedSegments || segmentCount > MAX_SEGMENTS) {
    throw new ImagingError(
      'PIXEL_DECODE_FAILED',
      'RLE header has the wrong number of segments for the image',
    );
  }
  const offsets: number[] = [];
  for (let i = 0; i < segmentCount; i++) offsets.push(view.getUint32(4 + i * 4, true));
  for (let i = 0; i < segmentCount; i++) {
    const start = offsets[i]!;
    const next = i + 1 < segmentCount ? offsets[i + 1]! : fragment.length;
    if (start < HEADER_LENGTH || start > fragment.length || next < start) {
      throw new ImagingError('PIXEL_DECODE_FAILED', 'RLE segment offsets are out of order or out of range');
    }
  }

  const pixelCount = rows * columns;
  const out = new Uint8Array(pixelCount * samplesPerPixel * bytesPerSample);
  const segment = new Uint8Array(pixelCount);
  for (let s = 0; s < segmentCount; s++) {
    const start = offsets[s]!;
    const end = s + 1 < segmentCount ? offsets[s + 1]! : fragment.length;
    decodePackBits(fragment.subarray(start, end), segment);
    const sample = Math.floor(s / bytesPerSample);
    // Segments go most significant byte first; little-endian output puts that byte last.
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    const stride = samplesPerPixel * bytesPerSample;
    let o = sample * bytesPerSample + byteInSample;
    for (let p = 0; p < pixelCount; p++, o += stride) out[o] = segment[p]!;
  }
  return out;
}

/** PackBits: n in [0,127] copies n+1 literal bytes; n in [-127,-1] repeats the next byte 1-n times;
 * -128 is a no-op. Fills `out` completely or throws; output beyond `out` (segment padding) is dropped. */
export function decodePackBits(src: Uint8Array, out: Uint8Array): void {
  let i = 0;
  let o = 0;
  const need = out.length;
  while (o < need) {
    if (i >= src.length) {
      throw new ImagingError('PIXEL_DATA_TRUNCATED', 'RLE segment ends before the frame is complete');
    }
    const n = (src[i++]! << 24) >> 24;
    if (n >= 0) {
      const count = n + 1;
      if (i + count > src.length) {
        throw new ImagingError('PIXEL_DATA_TRUNCATED', 'RLE literal run goes past the end of the segment');
      }
      const take = Math.min(count, need - o);
      out.set(src.subarray(i, i + take), o);
      o += take;
      i += count;
    } else if (n !== -128) {
      if (i >= src.length) {
        throw new ImagingError('PIXEL_DATA_TRUNCATED', 'RLE replicate run goes past the end of the segment');
      }
      const value = src[i++]!;
      const take = Math.min(1 - n, need - o);
      out.fill(value, o, o + take);
      o += take;
    }
  }
}
