import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** The held-out evaluation set written by models/training/train.py (`write_eval_set`). */
export interface EvalSet {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** 1 = suspicious_lesion present. */
  readonly labels: Uint8Array;
  /** Index into EVAL_KINDS. */
  readonly kinds: Uint8Array;
  /** [cy, cx, r] in pixels per image; -1 when there is no lesion. */
  readonly lesions: Float32Array;
  /** count * height * width 8-bit grey pixels. */
  readonly images: Uint8Array;
}

export const EVAL_KINDS = ['ct_chest', 'cr_chest', 'mr_head'] as const;
const MAGIC = 'MEDEVAL1';

/** Read eval-set.bin.gz: 'MEDEVAL1', uint32 n, h, w, uint8 labels[n], kinds[n], float32 lesions[n*3], uint8 images. */
export async function readEvalSet(path: string): Promise<EvalSet> {
  const raw = gunzipSync(await readFile(path));
  if (raw.subarray(0, 8).toString('latin1') !== MAGIC) throw new Error('not a MEDEVAL1 file');
  const count = raw.readUInt32LE(8);
  const height = raw.readUInt32LE(12);
  const width = raw.readUInt32LE(16);
  let at = 20;
  const take = (bytes: number): Uint8Array => {
    const out = new Uint8Array(bytes);
    out.set(raw.subarray(at, at + bytes));
    at += bytes;
    return out;
  };
  const labels = take(count);
  const kinds = take(count);
  const lesions = new Float32Array(take(count * 3 * 4).buffer);
  const images = take(count * height * width);
  if (at !== raw.length) throw new Error(`eval set size mismatch: ${raw.length} bytes, expected ${at}`);
  return { count, height, width, labels, kinds, lesions, images };
}

/** Image `index` of the set as the model-input PNG the worker would send (8-bit grey). */
export async function evalImagePng(set: EvalSet, index: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const pixels = set.images.subarray(index * set.height * set.width, (index + 1) * set.height * set.width);
  return sharp(pixels, { raw: { width: set.width, height: set.height, channels: 1 } })
    .png()
    .toBuffer();
}
