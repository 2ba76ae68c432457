/**
 * Parses DICOM bytes (Part 10 files, or bare data sets without File Meta Information) into the
 * shared `DicomFile` model, on top of dicom-parser. Everything dicom-parser throws (strings,
 * plain objects, errors) becomes a `DicomParseError` with a stable code; messages never carry a
 * DICOM value.
 */
import { inflateRawSync, inflateSync } from 'node:zlib';
import { CodedError } from '@medimg/common';
import dicomParser from 'dicom-parser';
import type { DataElement, DataSet, DicomFile, Tag, TransferSyntax } from './dataset.ts';
import { resolveVr } from './dictionary.ts';

export type DicomParseErrorCode =
  | 'NOT_DICOM'
  | 'DICOM_TRUNCATED'
  | 'DICOM_MALFORMED'
  | 'DICOM_TOO_LARGE'
  | 'DECODED_SIZE_LIMIT';

export class DicomParseError extends CodedError<DicomParseErrorCode> {
  override readonly name = 'DicomParseError';
}

export interface ParseOptions {
  /** Largest input, and largest inflated data set for deflated files (default 2 GiB). */
  readonly maxBytes?: number;
  /** Deepest sequence nesting accepted (default 32). */
  readonly maxDepth?: number;
  /**
   * Memory budget for a deflated data set, in DECODED bytes (default: maxBytes). Inflation stops
   * when the output would pass it (zlib's maxOutputLength), so a deflate bomb costs at most this
   * much memory, and fails with DECODED_SIZE_LIMIT.
   */
  readonly maxInflatedBytes?: number;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

const ts = (
  uid: string,
  explicitVr: boolean,
  byteOrder: 'little' | 'big',
  deflated: boolean,
  encapsulated: boolean,
) => Object.freeze({ uid, explicitVr, byteOrder, deflated, encapsulated }) satisfies TransferSyntax;

/** Transfer syntaxes with a name; any other UID is treated as explicit VR LE, encapsulated. */
export const TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntax & { readonly name: string }> = new Map(
  (
    [
      [IMPLICIT_VR_LITTLE_ENDIAN, 'Implicit VR Little Endian', false, 'little', false, false],
      [EXPLICIT_VR_LITTLE_ENDIAN, 'Explicit VR Little Endian', true, 'little', false, false],
      [
        '1.2.840.10008.1.2.1.98',
        'Encapsulated Uncompressed Explicit VR Little Endian',
        true,
        'little',
        false,
        true,
      ],
      [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 'Deflated Explicit VR Little Endian', true, 'little', true, false],
      [EXPLICIT_VR_BIG_ENDIAN, 'Explicit VR Big Endian (retired)', true, 'big', false, false],
      ['1.2.840.10008.1.2.5', 'RLE Lossless', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)', true, 'little', false, true],
      [
        '1.2.840.10008.1.2.4.70',
        'JPEG Lossless, First-Order Prediction (Process 14 SV1)',
        true,
        'little',
        false,
        true,
      ],
      ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless Only', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.91', 'JPEG 2000', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.201', 'HTJ2K Lossless', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.202', 'HTJ2K Lossless RPCL', true, 'little', false, true],
      ['1.2.840.10008.1.2.4.203', 'HTJ2K', true, 'little', false, true],
    ] as const
  ).map(([uid, name, ex, bo, dfl, enc]) => [uid, { ...ts(uid, ex, bo, dfl, enc), name }]),
);

/** The transfer syntax of a UID; unknown UIDs are explicit VR little endian with encapsulated pixel data. */
export function transferSyntaxOf(uid: string): TransferSyntax {
  const clean = uid.replace(/[\0 ]+$/, '').trim();
  const known = TRANSFER_SYNTAXES.get(clean);
  if (known) return ts(known.uid, known.explicitVr, known.byteOrder, known.deflated, known.encapsulated);
  return ts(clean, true, 'little', false, true);
}

const VRS = new Set([
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FD',
  'FL',
  'IS',
  'LO',
  'LT',
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'PN',
  'SH',
  'SL',
  'SQ',
  'SS',
  'ST',
  'SV',
  'TM',
  'UC',
  'UI',
  'UL',
  'UN',
  'UR',
  'US',
  'UT',
  'UV',
]);
export const isKnownVr = (vr: string): boolean => VRS.has(vr);

const DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024 - 1;
const DEFAULT_MAX_DEPTH = 32;
const UNDEFINED_LENGTH = 0xffffffff;

interface DpElement {
  tag: string;
  vr?: string;
  length: number;
  dataOffset: number;
  hadUndefinedLength?: boolean;
  items?: { dataSet?: { elements: Record<string, DpElement> } }[];
  encapsulatedPixelData?: boolean;
  fragments?: { position: number; length: number }[];
}

function asBytes(input: Uint8Array): Uint8Array {
  // A Buffer from fs.readFileSync may be a window into a shared pool: never use `.buffer` whole.
  return input instanceof Uint8Array && input.constructor === Uint8Array
    ? input
    : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
}

const ascii = (b: Uint8Array, at: number, n: number): string =>
  at + n <= b.length ? String.fromCharCode(...b.subarray(at, at + n)) : '';

const isVrText = (b: Uint8Array, at: number): boolean => at + 2 <= b.length && VRS.has(ascii(b, at, 2));

/** Reads explicit VR LE group 0002 elements starting at `start`; returns them and where the data set begins. */
function readMeta(b: Uint8Array, start: number): { meta: DataSet; end: number } {
  const meta: DataSet = new Map();
  let p = start;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (p + 8 <= b.length && view.getUint16(p, true) === 0x0002) {
    const t = ((view.getUint16(p, true) << 16) | view.getUint16(p + 2, true)) >>> 0;
    const vr = ascii(b, p + 4, 2);
    if (!VRS.has(vr))
      throw new DicomParseError('DICOM_MALFORMED', 'File Meta Information element has an invalid VR');
    let len: number;
    let valueAt: number;
    if (['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'].includes(vr)) {
      if (p + 12 > b.length)
        throw new DicomParseError('DICOM_TRUNCATED', 'File Meta Information is truncated');
      len = view.getUint32(p + 8, true);
      valueAt = p + 12;
    } else {
      len = view.getUint16(p + 6, true);
      valueAt = p + 8;
    }
    if (len === UNDEFINED_LENGTH)
      throw new DicomParseError('DICOM_MALFORMED', 'File Meta Information element has undefined length');
    if (valueAt + len > b.length)
      throw new DicomParseError(
        'DICOM_TRUNCATED',
        'File Meta Information value extends past the end of the input',
      );
    meta.set(t, { tag: t, vr, value: b.subarray(valueAt, valueAt + len) });
    p = valueAt + len;
  }
  return { meta, end: p };
}

/** Guesses the encoding of a data set without (usable) File Meta Information from its first element. */
function inferTransferSyntax(b: Uint8Array, at: number, hadMeta: boolean): TransferSyntax | undefined {
  if (at + 8 > b.length) return undefined;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const groupLe = view.getUint16(at, true);
  const groupBe = view.getUint16(at, false);
  // Without a 'DICM' marker only a data set that starts like one is accepted.
  const plausible = (g: number): boolean =>
    hadMeta ? g >= 0x0001 && g < 0x7fe0 : g % 2 === 0 && g >= 0x0002 && g <= 0x0028;
  const vrText = isVrText(b, at + 4);
  if (plausible(groupLe)) {
    return transferSyntaxOf(vrText ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN);
  }
  if (plausible(groupBe) && vrText) return transferSyntaxOf(EXPLICIT_VR_BIG_ENDIAN);
  return undefined;
}

function classify(thrown: unknown): DicomParseError {
  if (thrown instanceof DicomParseError) return thrown;
  const inner =
    thrown && typeof thrown === 'object' && 'exception' in thrown
      ? (thrown as { exception: unknown }).exception
      : thrown;
  if (inner instanceof DicomParseError) return inner;
  const text = typeof inner === 'string' ? inner : inner instanceof Error ? inner.message : '';
  if (inner instanceof RangeError && /call stack/i.test(text)) {
    return new DicomParseError('DICOM_MALFORMED', 'data set nesting is too deep', { cause: inner });
  }
  if (
    /past end of buffer|buffer overr|overread|eof encountered|position cannot be greater|maxPosition/i.test(
      text,
    )
  ) {
    return new DicomParseError('DICOM_TRUNCATED', 'data set ends inside an element', { cause: inner });
  }
  return new DicomParseError('DICOM_MALFORMED', 'data set structure is invalid', { cause: inner });
}

function inflate(deflated: Uint8Array, maxBytes: number): Uint8Array {
  const opts = { maxOutputLength: Math.min(maxBytes, 0x7fffffff) };
  const overBudget = (cause: unknown) =>
    new DicomParseError('DECODED_SIZE_LIMIT', 'inflated data set exceeds the memory budget', { cause });
  try {
    return asBytes(inflateRawSync(deflated, opts));
  } catch (rawError) {
    if ((rawError as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw overBudget(rawError);
    try {
      // Some writers put a zlib header on the stream; accept that too.
      return asBytes(inflateSync(deflated, opts));
    } catch (zlibError) {
      if ((zlibError as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw overBudget(zlibError);
      const code = /unexpected end/i.test(String((rawError as Error).message))
        ? 'DICOM_TRUNCATED'
        : 'DICOM_MALFORMED';
      throw new DicomParseError(code, 'deflated data set cannot be inflated', { cause: rawError });
    }
  }
}

interface Ctx {
  readonly bytes: Uint8Array;
  readonly explicitVr: boolean;
  readonly little: boolean;
  readonly maxDepth: number;
  readonly vrCallback: (t: string) => string | undefined;
}

const ITEM_DELIMITER = Uint8Array.of(0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0);

function convertDataSet(elements: Record<string, DpElement>, ctx: Ctx, depth: number): DataSet {
  if (depth > ctx.maxDepth) throw new DicomParseError('DICOM_MALFORMED', 'sequences are nested too deeply');
  const out: DataSet = new Map();
  const view = new DataView(ctx.bytes.buffer, ctx.bytes.byteOffset, ctx.bytes.byteLength);
  let pixelRepresentation: number | undefined;
  const pr = elements.x00280103;
  if (pr && pr.length >= 2 && pr.dataOffset + 2 <= ctx.bytes.length)
    pixelRepresentation = view.getUint16(pr.dataOffset, ctx.little);
  for (const key of Object.keys(elements)) {
    const el = elements[key]!;
    const t: Tag = Number.parseInt(key.slice(1), 16) >>> 0;
    if (t >>> 16 === 0xfffe) continue; // item / delimiter tags left in a data set by dicom-parser
    out.set(t, convertElement(el, t, ctx, depth, pixelRepresentation));
  }
  return out;
}

function convertElement(
  el: DpElement,
  t: Tag,
  ctx: Ctx,
  depth: number,
  pixelRepresentation?: number,
): DataElement {
  const b = ctx.bytes;
  if (el.encapsulatedPixelData) {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (el.dataOffset + 8 > b.length)
      throw new DicomParseError('DICOM_TRUNCATED', 'encapsulated pixel data is truncated');
    const botLength = view.getUint32(el.dataOffset + 4, ctx.little);
    const botStart = el.dataOffset + 8;
    if (botStart + botLength > b.length)
      throw new DicomParseError('DICOM_TRUNCATED', 'basic offset table is truncated');
    const fragments = (el.fragments ?? []).map((f) => {
      if (f.position + f.length > b.length)
        throw new DicomParseError('DICOM_TRUNCATED', 'pixel data fragment is truncated');
      return b.subarray(f.position, f.position + f.length);
    });
    const vr = ctx.explicitVr && el.vr && VRS.has(el.vr) ? el.vr : 'OB';
    return {
      tag: t,
      vr,
      value: new Uint8Array(0),
      encapsulated: { basicOffsetTable: b.subarray(botStart, botStart + botLength), fragments },
    };
  }
  if (el.items) {
    const items = el.items.map((item) => convertDataSet(item.dataSet?.elements ?? {}, ctx, depth + 1));
    return { tag: t, vr: 'SQ', value: new Uint8Array(0), items };
  }
  if (!ctx.explicitVr && el.hadUndefinedLength && (t >>> 16) % 2 === 1) {
    // dicom-parser drops the items of private undefined-length sequences in implicit VR: re-read them.
    const stream = new dicomParser.ByteStream(dicomParser.littleEndianByteArrayParser, b, el.dataOffset);
    const seq = {
      tag: `x${t.toString(16).padStart(8, '0')}`,
      length: UNDEFINED_LENGTH,
      dataOffset: el.dataOffset,
    } as DpElement;
    dicomParser.readSequenceItemsImplicit(stream, seq as never, ctx.vrCallback as never);
    assertNoEof(stream.warnings);
    const items = (seq.items ?? []).map((item) =>
      convertDataSet(item.dataSet?.elements ?? {}, ctx, depth + 1),
    );
    return { tag: t, vr: 'SQ', value: new Uint8Array(0), items };
  }
  let vr: string;
  if (ctx.explicitVr && el.vr !== undefined) {
    vr = VRS.has(el.vr) ? el.vr : resolveVr(t, pixelRepresentation);
  } else {
    vr = resolveVr(t, pixelRepresentation);
    if (vr === 'SQ') vr = 'UN'; // a dictionary SQ that the file does not encode as one
  }
  if (el.length === UNDEFINED_LENGTH)
    throw new DicomParseError('DICOM_TRUNCATED', 'undefined-length element has no end');
  let end = el.dataOffset + el.length;
  if (end > b.length)
    throw new DicomParseError('DICOM_TRUNCATED', 'element value extends past the end of the input');
  if (el.hadUndefinedLength && end - el.dataOffset >= 8) {
    const tail = b.subarray(end - 8, end);
    if (tail.every((x, i) => x === ITEM_DELIMITER[i])) end -= 8;
  }
  return { tag: t, vr, value: b.subarray(el.dataOffset, end) };
}

function assertNoEof(warnings: readonly string[] | undefined): void {
  for (const w of warnings ?? []) {
    if (/eof encountered|missing sequence delimiter/i.test(w)) {
      throw new DicomParseError('DICOM_TRUNCATED', 'data set ends inside a sequence or pixel data');
    }
  }
}

/**
 * Parses a DICOM file: with or without the 128-byte preamble and 'DICM', with or without File
 * Meta Information (the encoding is then inferred), any transfer syntax (deflated data sets are
 * inflated with a size cap). Values are views into the input (or the inflated buffer): do not
 * mutate the input afterwards.
 */
export function parseDicom(input: Uint8Array, options: ParseOptions = {}): DicomFile {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const bytes = asBytes(input);
  if (bytes.length > maxBytes) throw new DicomParseError('DICOM_TOO_LARGE', 'input exceeds the size limit');

  let metaStart = -1;
  if (ascii(bytes, 128, 4) === 'DICM') metaStart = 132;
  else if (ascii(bytes, 0, 4) === 'DICM') metaStart = 4;
  else if (bytes.length >= 8 && bytes[0] === 0x02 && bytes[1] === 0x00 && isVrText(bytes, 4)) metaStart = 0;

  let meta: DataSet = new Map();
  let dataStart = 0;
  if (metaStart >= 0) {
    ({ meta, end: dataStart } = readMeta(bytes, metaStart));
  }
  let transferSyntax: TransferSyntax | undefined;
  const tsElement = meta.get(0x00020010);
  if (tsElement && tsElement.value.length > 0) {
    transferSyntax = transferSyntaxOf(String.fromCharCode(...tsElement.value));
  } else {
    transferSyntax = inferTransferSyntax(bytes, dataStart, metaStart >= 0);
    if (!transferSyntax) {
      if (metaStart < 0) throw new DicomParseError('NOT_DICOM', 'input is not a DICOM file or data set');
      if (dataStart >= bytes.length)
        return { meta, dataset: new Map(), transferSyntax: transferSyntaxOf(EXPLICIT_VR_LITTLE_ENDIAN) };
      throw new DicomParseError('DICOM_MALFORMED', 'transfer syntax is missing and cannot be inferred');
    }
  }

  let body = bytes.subarray(dataStart);
  if (transferSyntax.deflated) body = inflate(body, options.maxInflatedBytes ?? maxBytes);
  if (body.length === 0) return { meta, dataset: new Map(), transferSyntax };

  const little = transferSyntax.byteOrder === 'little';
  const vrCallback = (t: string): string | undefined => {
    const vr = resolveVr(Number.parseInt(t.slice(1), 16) >>> 0);
    return vr === 'UN' ? undefined : vr;
  };
  const ctx: Ctx = { bytes: body, explicitVr: transferSyntax.explicitVr, little, maxDepth, vrCallback };
  try {
    const parser = little ? dicomParser.littleEndianByteArrayParser : dicomParser.bigEndianByteArrayParser;
    const stream = new dicomParser.ByteStream(parser, body, 0);
    const DataSetClass = (dicomParser as unknown as { DataSet: new (...args: unknown[]) => unknown }).DataSet;
    const ds = new DataSetClass(parser, body, {}) as unknown as {
      elements: Record<string, DpElement>;
      warnings?: string[];
    };
    ds.warnings = stream.warnings;
    if (transferSyntax.explicitVr) dicomParser.parseDicomDataSetExplicit(ds as never, stream, body.length);
    else dicomParser.parseDicomDataSetImplicit(ds as never, stream, body.length, { vrCallback } as never);
    assertNoEof(stream.warnings);
    const dataset = convertDataSet(ds.elements, ctx, 0);
    // Group 0002 found in the data set belongs to the meta information.
    for (const [t, el] of dataset) {
      if (t >>> 16 === 0x0002) {
        if (!meta.has(t)) meta.set(t, el);
        dataset.delete(t);
      }
    }
    if (metaStart < 0 && dataset.size === 0)
      throw new DicomParseError('NOT_DICOM', 'input is not a DICOM file or data set');
    return { meta, dataset, transferSyntax };
  } catch (thrown) {
    const error = classify(thrown);
    if (metaStart < 0 && error.code === 'DICOM_MALFORMED') {
      throw new DicomParseError('NOT_DICOM', 'input is not a DICOM file or data set', { cause: error });
    }
    throw error;
  }
}
