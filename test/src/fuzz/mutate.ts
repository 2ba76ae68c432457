/**
 * Mutations of valid DICOM files for the fuzzer. Each takes a seed and a seeded random source and
 * returns new bytes (or undefined when it does not apply to that seed, e.g. a codec mutation on a
 * native file). Structural mutations find element boundaries with a small walker over Explicit VR
 * Little Endian (the File Meta, and the data set of every explicit little-endian and encapsulated
 * transfer syntax); the others work on any file.
 */
import { deflateRawSync } from 'node:zlib';
import { mulberry32 } from '@medimg/common/testing/random.ts';
import { encodeDataSet, numberElement, parseDicom, T, writePart10 } from '@medimg/dicom';
import type { Seed } from './seeds.ts';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32 (shared by the test data generators): the same sequence on every platform. */
export function random(seed: number): Random {
  const next = mulberry32(seed);
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)]! };
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

/** One element, item or delimiter as found in the bytes. */
export interface Node {
  readonly kind: 'element' | 'item' | 'delimiter' | 'fragment';
  readonly start: number;
  readonly tag: number;
  readonly vr: string;
  /** Offset and size (2 or 4) of the length field. */
  readonly lengthAt: number;
  readonly lengthSize: 2 | 4;
  readonly valueAt: number;
  readonly length: number;
}

const ENCAPSULATED = (ts: string): boolean =>
  ts.startsWith('1.2.840.10008.1.2.4.') || ts === '1.2.840.10008.1.2.5' || ts === '1.2.840.10008.1.2.1.98';

/** Where the File Meta ends (after 'DICM' and its group length), or undefined. */
export function metaEnd(bytes: Uint8Array): number | undefined {
  if (bytes.length < 144 || String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') return undefined;
  return 144 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(140, true);
}

/** The elements, items and delimiters of an Explicit VR Little Endian region, nested ones included. */
export function walk(bytes: Uint8Array, start: number, end: number, out: Node[] = [], depth = 0): Node[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = start;
  while (at + 8 <= end && depth < 64) {
    const tag = ((view.getUint16(at, true) << 16) | view.getUint16(at + 2, true)) >>> 0;
    if (tag >>> 16 === 0xfffe) {
      const length = view.getUint32(at + 4, true);
      const kind = tag === 0xfffee000 ? 'item' : 'delimiter';
      out.push({ kind, start: at, tag, vr: '', lengthAt: at + 4, lengthSize: 4, valueAt: at + 8, length });
      at += 8;
      if (kind === 'item' && length !== UNDEFINED) {
        walk(bytes, at, Math.min(end, at + length), out, depth + 1);
        at += length;
      } else if (kind === 'delimiter' && tag === 0xfffee0dd) return out;
      continue;
    }
    const vr = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!);
    const long = LONG_VRS.has(vr);
    const lengthAt = long ? at + 8 : at + 6;
    if (lengthAt + (long ? 4 : 2) > end) break;
    const length = long ? view.getUint32(lengthAt, true) : view.getUint16(lengthAt, true);
    const valueAt = lengthAt + (long ? 4 : 2);
    out.push({ kind: 'element', start: at, tag, vr, lengthAt, lengthSize: long ? 4 : 2, valueAt, length });
    if (length === UNDEFINED) {
      if (tag === T.PixelData) return fragments(bytes, valueAt, end, out);
      at = valueAt;
      const before = out.length;
      walk(bytes, at, end, out, depth + 1);
      const last = out[out.length - 1];
      if (out.length === before || !last) return out;
      at = last.valueAt + (last.kind === 'delimiter' ? 0 : last.length);
      continue;
    }
    if (vr === 'SQ') walk(bytes, valueAt, Math.min(end, valueAt + length), out, depth + 1);
    at = valueAt + length;
  }
  return out;
}

function fragments(bytes: Uint8Array, start: number, end: number, out: Node[]): Node[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = start;
  while (at + 8 <= end) {
    const tag = ((view.getUint16(at, true) << 16) | view.getUint16(at + 2, true)) >>> 0;
    const length = view.getUint32(at + 4, true);
    const kind = tag === 0xfffee000 ? 'fragment' : 'delimiter';
    out.push({ kind, start: at, tag, vr: '', lengthAt: at + 4, lengthSize: 4, valueAt: at + 8, length });
    if (kind === 'delimiter') break;
    at += 8 + length;
  }
  return out;
}

/** The nodes of a seed: its File Meta, and its data set when it is explicit little endian. */
export function nodesOf(seed: Seed): Node[] {
  const end = metaEnd(seed.bytes);
  if (end === undefined) return [];
  const nodes = walk(seed.bytes, 132, end);
  const explicitLe = seed.ts === '1.2.840.10008.1.2.1' || ENCAPSULATED(seed.ts);
  if (explicitLe) walk(seed.bytes, end, seed.bytes.length, nodes);
  return nodes;
}

const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);

function setLength(bytes: Uint8Array, node: Node, value: number): Uint8Array {
  const out = copy(bytes);
  const view = new DataView(out.buffer);
  if (node.lengthSize === 2) view.setUint16(node.lengthAt, value & 0xffff, true);
  else view.setUint32(node.lengthAt, value >>> 0, true);
  return out;
}

export interface Mutation {
  readonly name: string;
  readonly apply: (seed: Seed, nodes: readonly Node[], r: Random) => Uint8Array | undefined;
}

function bitFlips(seed: Seed, _nodes: readonly Node[], r: Random): Uint8Array {
  const out = copy(seed.bytes);
  const flips = 1 + r.int(16);
  // Half the flips land in the first 4 KiB, where the meta and the identifying attributes are.
  for (let i = 0; i < flips; i++) {
    const span = r.next() < 0.5 ? Math.min(out.length, 4096) : out.length;
    const at = r.int(span);
    out[at] = out[at]! ^ (1 << r.int(8));
  }
  return out;
}

function truncateAtBoundary(seed: Seed, nodes: readonly Node[], r: Random): Uint8Array | undefined {
  if (nodes.length === 0) return seed.bytes.subarray(0, r.int(seed.bytes.length));
  const node = r.pick(nodes);
  const cuts = [node.start, node.lengthAt, node.valueAt, node.valueAt + Math.floor(node.length / 2)];
  const cut = r.pick(cuts) + r.pick([0, 0, 0, 1, 2, 3]);
  return seed.bytes.slice(0, Math.min(cut, seed.bytes.length));
}

function hugeLength(seed: Seed, nodes: readonly Node[], r: Random): Uint8Array | undefined {
  const candidates = nodes.filter((n) => n.kind !== 'delimiter');
  if (candidates.length === 0) return undefined;
  const node = r.pick(candidates);
  const values =
    node.lengthSize === 2
      ? [0xffff, 0xfffe, 0x8000]
      : [0xfffffffe, 0x7fffffff, 0xfffffff0, 0x80000000, seed.bytes.length, node.length * 1000 + 2];
  return setLength(seed.bytes, node, r.pick(values));
}

function oddLength(seed: Seed, nodes: readonly Node[], r: Random): Uint8Array | undefined {
  const candidates = nodes.filter((n) => n.kind !== 'delimiter');
  if (candidates.length === 0) return undefined;
  const node = r.pick(candidates);
  return setLength(
    seed.bytes,
    node,
    r.pick([node.length + 1, Math.max(0, node.length - 1), 1, 3, node.length + 7]),
  );
}

function undefinedLength(seed: Seed, nodes: readonly Node[], r: Random): Uint8Array | undefined {
  if (r.next() < 0.5) {
    // Strip every delimiter, leaving undefined-length sequences and items unterminated.
    const delimiters = nodes.filter((n) => n.kind === 'delimiter');
    if (delimiters.length > 0) {
      const parts: Uint8Array[] = [];
      let at = 0;
      for (const d of delimiters) {
        parts.push(seed.bytes.subarray(at, d.start));
        at = d.start + 8;
      }
      parts.push(seed.bytes.subarray(at));
      return Buffer.concat(parts);
    }
  }
  const candidates = nodes.filter(
    (n) => n.kind === 'element' && n.lengthSize === 4 && n.length !== UNDEFINED,
  );
  if (candidates.length === 0) return undefined;
  return setLength(seed.bytes, r.pick(candidates), UNDEFINED);
}

function metaGroupLength(seed: Seed, nodes: readonly Node[], r: Random): Uint8Array | undefined {
  const group = nodes.find((n) => n.tag === T.FileMetaInformationGroupLength);
  if (!group) return undefined;
  const out = copy(seed.bytes);
  const view = new DataView(out.buffer);
  const actual = view.getUint32(group.valueAt, true);
  const wrong = r.pick([
    0,
    1,
    2,
    actual - 2,
    actual + 2,
    actual + 8,
    actual * 2,
    0xffffffff,
    0x7fffffff,
    out.length,
  ]);
  view.setUint32(group.valueAt, wrong >>> 0, true);
  return out;
}

/** Corrupts one compressed fragment: flipped bytes, a zeroed or random run, a cut, a stray marker. */
function corruptStream(seed: Seed, nodes: readonly Node[], r: Random): Uint8Array | undefined {
  const frags = nodes.filter((n) => n.kind === 'fragment' && n.length > 16);
  if (frags.length === 0) return undefined;
  const frag = r.pick(frags);
  const out = copy(seed.bytes);
  const from = frag.valueAt;
  const len = Math.min(frag.length, out.length - from);
  switch (r.int(5)) {
    case 0:
      for (let i = 0, n = 1 + r.int(32); i < n; i++) {
        const at = from + r.int(len);
        out[at] = out[at]! ^ (1 << r.int(8));
      }
      return out;
    case 1: {
      const at = from + r.int(len);
      out.fill(0, at, Math.min(from + len, at + 1 + r.int(4096)));
      return out;
    }
    case 2: {
      const at = from + r.int(len);
      const end = Math.min(from + len, at + 1 + r.int(512));
      for (let i = at; i < end; i++) out[i] = r.int(256);
      return out;
    }
    case 3: {
      // Header bytes of the stream (markers, dimensions, tile sizes) are where codecs trust the input.
      for (let i = 0, n = 1 + r.int(6); i < n; i++)
        out[from + r.int(Math.min(len, 256))] = r.pick([0x00, 0xff, 0x7f, 0x80, r.int(256)]);
      return out;
    }
    default: {
      // Cut the stream short inside an item that still announces its full length.
      const cut = from + r.int(len);
      out.fill(0xff, cut, from + len);
      return out;
    }
  }
}

/** Image dimensions or bit depths set to extreme values (the header promises a huge decoded frame). */
function hugeImage(seed: Seed, _nodes: readonly Node[], r: Random): Uint8Array | undefined {
  let file: ReturnType<typeof parseDicom>;
  try {
    file = parseDicom(seed.bytes);
  } catch {
    return undefined;
  }
  if (!file.dataset.has(T.Rows)) return undefined;
  const ds = new Map(file.dataset);
  const bo = file.transferSyntax.byteOrder;
  const attr = r.pick([T.Rows, T.Columns, T.BitsAllocated, T.SamplesPerPixel, T.BitsStored]);
  ds.set(attr, numberElement(attr, 'US', [r.pick([0, 1, 3, 0xffff, 0x8000, 33, 64])], bo));
  if (r.next() < 0.3)
    ds.set(T.NumberOfFrames, { tag: T.NumberOfFrames, vr: 'IS', value: Buffer.from('99999999') });
  return writePart10({ ...file, dataset: ds, meta: new Map() });
}

/**
 * Sequences nested thousands deep, undefined lengths, with or without their delimiters, placed
 * before the seed's data set (the rest of the file follows them).
 */
function deepSequences(seed: Seed, _nodes: readonly Node[], r: Random): Uint8Array | undefined {
  const end = metaEnd(seed.bytes);
  if (end === undefined || seed.ts !== '1.2.840.10008.1.2.1') return undefined;
  const depth = r.pick([40, 200, 2000, 10_000]);
  const delimited = r.next() < 0.5;
  const open = Buffer.from([
    0x40, 0x00, 0x30, 0xa7, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff,
    0xff, 0xff,
  ]);
  const close = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  const parts: Uint8Array[] = [seed.bytes.subarray(0, end)];
  for (let i = 0; i < depth; i++) parts.push(open);
  if (delimited) for (let i = 0; i < depth; i++) parts.push(close);
  parts.push(seed.bytes.subarray(end));
  return Buffer.concat(parts);
}

const bombCache = new Map<number, Uint8Array>();

/** A Deflated Explicit VR Little Endian file whose data set inflates to many times the budget. */
export function deflateBomb(inflatedBytes: number): Uint8Array {
  const cached = bombCache.get(inflatedBytes);
  if (cached) return cached;
  const ts = {
    uid: '1.2.840.10008.1.2.1.99',
    explicitVr: true,
    byteOrder: 'little' as const,
    deflated: true,
    encapsulated: false,
  };
  const ds = new Map([
    [T.SOPClassUID, { tag: T.SOPClassUID, vr: 'UI', value: Buffer.from('1.2.840.10008.5.1.4.1.1.7\0') }],
    [
      T.SOPInstanceUID,
      { tag: T.SOPInstanceUID, vr: 'UI', value: Buffer.from('1.2.826.0.1.3680043.99919.9.1\0') },
    ],
  ]);
  const head = writePart10({ meta: new Map(), dataset: new Map(), transferSyntax: ts });
  const prefix = head.subarray(0, metaEnd(head));
  const plain = encodeDataSet(ds, ts);
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt16LE(0x7fe0, 0);
  pixelHeader.writeUInt16LE(0x0010, 2);
  pixelHeader.write('OB', 4, 'latin1');
  pixelHeader.writeUInt32LE(inflatedBytes, 8);
  const body = deflateRawSync(Buffer.concat([plain, pixelHeader, Buffer.alloc(inflatedBytes)]), { level: 1 });
  const bomb = Buffer.concat([prefix, body]);
  bombCache.set(inflatedBytes, bomb);
  return bomb;
}

export const MUTATIONS: readonly Mutation[] = [
  { name: 'bit-flip', apply: bitFlips },
  { name: 'truncate-at-boundary', apply: truncateAtBoundary },
  { name: 'length-huge', apply: hugeLength },
  { name: 'length-odd', apply: oddLength },
  { name: 'undefined-length', apply: undefinedLength },
  { name: 'meta-group-length', apply: metaGroupLength },
  { name: 'codec-stream', apply: corruptStream },
  { name: 'image-dimensions', apply: hugeImage },
  { name: 'deep-sequences', apply: deepSequences },
];
