/**
 * Finding one frame's compressed bytes in encapsulated pixel data (PS3.5 A.4): through the Extended
 * Offset Table, the Basic Offset Table, or, without either, one fragment per frame or a split on the
 * codec's start-of-stream markers.
 */
import type { EncapsulatedPixelData } from '@medimg/dicom';
import { ImagingError } from './errors.ts';

/** How a fragment that starts a new frame is recognised when the file has no offset table. */
export type StreamKind = 'jpeg' | 'jpeg2000' | 'rle' | 'other';

const ITEM_HEADER = 8;

/**
 * The compressed bytes of frame `frameIndex` (0-based) of `frameCount`. `extendedOffsets` are the
 * values of Extended Offset Table (7FE0,0001) when present.
 */
export function encapsulatedFrame(
  pixel: EncapsulatedPixelData,
  frameIndex: number,
  frameCount: number,
  kind: StreamKind,
  extendedOffsets?: readonly number[],
): Uint8Array {
  const fragments = pixel.fragments;
  if (fragments.length === 0)
    throw new ImagingError('NO_PIXEL_DATA', 'encapsulated pixel data has no fragments');
  if (frameIndex < 0 || frameIndex >= frameCount) {
    throw new ImagingError('NO_PIXEL_DATA', 'the requested frame is not in the object');
  }

  const starts =
    startsFromOffsets(fragments, extendedOffsets, frameCount) ??
    startsFromOffsets(fragments, basicOffsets(pixel.basicOffsetTable), frameCount) ??
    startsWithoutTable(fragments, frameCount, kind);
  if (!starts) {
    throw new ImagingError('PIXEL_DECODE_FAILED', 'cannot tell which fragments make up each frame');
  }
  const first = starts[frameIndex]!;
  const end = frameIndex + 1 < starts.length ? starts[frameIndex + 1]! : fragments.length;
  return concat(fragments.slice(first, end));
}

function basicOffsets(table: Uint8Array): number[] | undefined {
  if (table.length < 4 || table.length % 4 !== 0) return undefined;
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const out: number[] = [];
  for (let o = 0; o < table.length; o += 4) out.push(view.getUint32(o, true));
  return out;
}

/** Maps byte offsets (from the first fragment's item tag) to fragment indexes; undefined when they do
 * not land on fragment boundaries, are not increasing, or do not give one start per frame. */
function startsFromOffsets(
  fragments: readonly Uint8Array[],
  offsets: readonly number[] | undefined,
  frameCount: number,
): number[] | undefined {
  if (!offsets || offsets.length !== frameCount) return undefined;
  const positions = new Map<number, number>();
  let pos = 0;
  fragments.forEach((f, i) => {
    positions.set(pos, i);
    pos += ITEM_HEADER + f.length;
  });
  const starts: number[] = [];
  for (const offset of offsets) {
    const index = positions.get(offset);
    if (index === undefined) return undefined;
    if (starts.length > 0 && index <= starts[starts.length - 1]!) return undefined;
    starts.push(index);
  }
  return starts;
}

function startsWithoutTable(
  fragments: readonly Uint8Array[],
  frameCount: number,
  kind: StreamKind,
): number[] | undefined {
  if (frameCount === 1) return [0];
  if (fragments.length === frameCount) return fragments.map((_, i) => i);
  const nonEmpty = fragments.flatMap((f, i) => (f.length > 0 ? [i] : []));
  if (nonEmpty.length === frameCount) return nonEmpty;
  const starts = fragments.flatMap((f, i) => (startsStream(f, kind) ? [i] : []));
  return starts.length === frameCount && starts[0] === 0 ? starts : undefined;
}

export function startsStream(f: Uint8Array, kind: StreamKind): boolean {
  switch (kind) {
    case 'jpeg':
      return f[0] === 0xff && f[1] === 0xd8;
    case 'jpeg2000':
      // A raw codestream (SOC + SIZ) or a JP2 signature box.
      return (
        (f[0] === 0xff && f[1] === 0x4f && f[2] === 0xff && f[3] === 0x51) ||
        (f[0] === 0 && f[1] === 0 && f[2] === 0 && f[3] === 0x0c && f[4] === 0x6a && f[5] === 0x50)
      );
    case 'rle': {
      if (f.length < 64) return false;
      const view = new DataView(f.buffer, f.byteOffset, f.byteLength);
      const segments = view.getUint32(0, true);
      return segments >= 1 && segments <= 15 && view.getUint32(4, true) === 64;
    }
    default:
      return false;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
