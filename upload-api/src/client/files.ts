/**
 * Local files for `medimg upload`: which inputs are DICOM (by content, not by name), their sizes
 * and SHA-256 checksums (of the whole file and, above the multipart threshold, of each part).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { type Limits, partPlan } from '../contract.ts';

/** Value representations of PS3.5 Table 6.2-1, for a data set that starts without the preamble. */
const VRS = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(
    ' ',
  ),
);

/**
 * A DICOM file: the Part 10 preamble (`DICM` at byte 128), or a bare data set whose first element
 * is in group 0002 or 0008 with either an explicit VR or a plausible implicit length.
 */
export function looksLikeDicom(head: Uint8Array, fileSize: number): boolean {
  if (head.length >= 132 && String.fromCharCode(...head.subarray(128, 132)) === 'DICM') return true;
  if (head.length < 8) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const group = view.getUint16(0, true);
  if (group !== 0x0002 && group !== 0x0008) return false;
  if (VRS.has(String.fromCharCode(head[4]!, head[5]!))) return true;
  const length = view.getUint32(4, true);
  return length < fileSize;
}

export async function isDicomFile(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(132);
    const { bytesRead } = await handle.read(head, 0, 132, 0);
    return looksLikeDicom(head.subarray(0, bytesRead), size);
  } finally {
    await handle.close();
  }
}

export interface LocalFile {
  /** Absolute path on this machine. */
  readonly path: string;
  /** The name the batch knows it by: relative to the input it was found under, with `/`. */
  readonly name: string;
  readonly size: number;
}

/** Every file under the inputs (hidden files left out), DICOM first-class, the rest listed as skipped. */
export async function collectFiles(
  inputs: readonly string[],
  options: { readonly dicomOnly: boolean },
): Promise<{ files: LocalFile[]; skipped: string[] }> {
  const files: LocalFile[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const visit = async (root: string, p: string): Promise<void> => {
    const s = await stat(p);
    if (s.isDirectory()) {
      for (const e of (await readdir(p)).sort()) if (!e.startsWith('.')) await visit(root, path.join(p, e));
      return;
    }
    if (!s.isFile()) return;
    const abs = path.resolve(p);
    if (seen.has(abs)) return;
    seen.add(abs);
    if (options.dicomOnly && !(await isDicomFile(abs))) {
      skipped.push(abs);
      return;
    }
    const rel = root === abs ? path.basename(abs) : path.relative(root, abs);
    files.push({ path: abs, name: rel.split(path.sep).join('/'), size: s.size });
  };
  for (const input of inputs) {
    const abs = path.resolve(input);
    await visit(abs, abs);
  }
  return { files, skipped };
}

export interface FileChecksums {
  readonly sha256: string;
  /** SHA-256 of each part, when the file goes in parts. */
  readonly parts?: string[];
}

/** One read of the file: the whole-file digest and each part's. */
export async function checksums(
  file: string,
  size: number,
  limits: Pick<Limits, 'multipartThresholdBytes' | 'partSizeBytes'>,
): Promise<FileChecksums> {
  const plan = partPlan(size, limits);
  const whole = createHash('sha256');
  const parts: string[] = [];
  let part = createHash('sha256');
  let inPart = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    let buf = chunk as Buffer;
    whole.update(buf);
    if (!plan) continue;
    while (buf.length > 0) {
      const take = Math.min(buf.length, plan.partSize - inPart);
      part.update(buf.subarray(0, take));
      inPart += take;
      buf = buf.subarray(take);
      if (inPart === plan.partSize) {
        parts.push(part.digest('hex'));
        part = createHash('sha256');
        inPart = 0;
      }
    }
  }
  if (plan && inPart > 0) parts.push(part.digest('hex'));
  return { sha256: whole.digest('hex'), ...(plan ? { parts } : {}) };
}

/** Bytes [start, end) of a file. */
export async function readRange(file: string, start: number, end: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const out = new Uint8Array(end - start);
    let offset = 0;
    while (offset < out.length) {
      const { bytesRead } = await handle.read(out, offset, out.length - offset, start + offset);
      if (bytesRead === 0) throw new Error('the file is shorter than when it was announced');
      offset += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
}
