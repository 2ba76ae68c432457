/**
 * CPU time per stage of the per-file pipeline (`npm run bench:profile`): each file of a corpus
 * through the worker's own functions, one after another in this one thread (sharp held to one libvips
 * thread), so that the process's CPU time around each call is that stage's cost. The same steps as
 * `medimg process` on a CT slice: read, parse, de-identify, serialise, parse again (the render
 * thread's copy), decode and LUTs, preview PNG, thumbnail (resized by libvips) and model input, the
 * four writes. What this leaves out is the cost of running them at once: start-up of the process and
 * its render threads, messages between threads, JIT compilation and GC on V8's own threads (the
 * profile's per-thread figures show those).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDicom, writePart10 } from '@medimg/dicom';
import { FsObjectStore } from '@medimg/worker/adapters/fs-object-store.ts';
import { deidentify } from '@medimg/worker/deid/deidentify.ts';
import { parseDeidOptions } from '@medimg/worker/deid/options.ts';
import {
  encodeModelInput,
  encodePng,
  modelInputIsThumbnail,
  PREVIEW_MAX_SIZE,
  renderDisplayFrame,
  THUMBNAIL_MAX_SIZE,
} from '@medimg/worker/imaging/render.ts';
import sharp from 'sharp';

export const STAGES = [
  'read',
  'parse',
  'de-identify',
  'serialise (writePart10)',
  'parse (render thread)',
  'decode + LUTs',
  'preview PNG',
  'thumbnail (resize + PNG)',
  'model input',
  'writes (4 files)',
] as const;
export type Stage = (typeof STAGES)[number];

export interface StageCpu {
  readonly files: number;
  /** CPU seconds (user + system) per stage, all files. */
  readonly seconds: Record<Stage, number>;
  /** Average PNG sizes in bytes. */
  readonly pngBytes: { readonly preview: number; readonly thumbnail: number; readonly modelInput: number };
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function stageCpu(files: readonly string[]): Promise<StageCpu> {
  sharp.cache(false);
  sharp.concurrency(1);
  const key = new Uint8Array(32).fill(7);
  const options = parseDeidOptions({});
  const ms = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  const stage = async <T>(name: Stage, work: () => T | Promise<T>): Promise<T> => {
    const start = cpuMs();
    const out = await work();
    ms[name] += cpuMs() - start;
    return out;
  };
  const sizes = { preview: 0, thumbnail: 0, modelInput: 0 };
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'medimg-stages-'));
  try {
    const store = new FsObjectStore(tmp);
    for (const [i, f] of files.entries()) {
      const bytes = await stage('read', async () => new Uint8Array(await readFile(f)));
      const parsed = await stage('parse', () => parseDicom(bytes));
      const deid = await stage('de-identify', () => deidentify(parsed, { key, options }));
      const part10 = await stage('serialise (writePart10)', () => writePart10(deid.file));
      const again = await stage('parse (render thread)', () => parseDicom(part10));
      const frame = await stage('decode + LUTs', () => renderDisplayFrame(again));
      const preview = await stage('preview PNG', () => encodePng(frame, PREVIEW_MAX_SIZE));
      const thumbnail = await stage('thumbnail (resize + PNG)', () => encodePng(frame, THUMBNAIL_MAX_SIZE));
      const modelInput = modelInputIsThumbnail(frame)
        ? thumbnail
        : await stage('model input', () => encodeModelInput(frame));
      sizes.preview += preview.length;
      sizes.thumbnail += thumbnail.length;
      sizes.modelInput += modelInput.length;
      await stage('writes (4 files)', () =>
        Promise.all([
          store.put('processed', `${i}/instance.dcm`, part10),
          store.put('processed', `${i}/preview.png`, preview),
          store.put('processed', `${i}/thumbnail.png`, thumbnail),
          store.put('processed', `${i}/model-input.png`, modelInput),
        ]),
      );
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const n = Math.max(1, files.length);
  return {
    files: files.length,
    seconds: Object.fromEntries(STAGES.map((s) => [s, ms[s] / 1000])) as Record<Stage, number>,
    pngBytes: {
      preview: sizes.preview / n,
      thumbnail: sizes.thumbnail / n,
      modelInput: sizes.modelInput / n,
    },
  };
}

/** The table as text lines: seconds, share and milliseconds per file. */
export function stageLines(s: StageCpu): string[] {
  const total = STAGES.reduce((sum, st) => sum + s.seconds[st], 0);
  return [
    `CPU per stage, in process, one file after another (${s.files} files; sharp on one libvips thread):`,
    ...STAGES.map(
      (st) =>
        `${st.padEnd(42)}${s.seconds[st].toFixed(2).padStart(8)} s ${((s.seconds[st] / total) * 100).toFixed(1).padStart(6)} %  ${((s.seconds[st] / s.files) * 1000).toFixed(2).padStart(6)} ms/file`,
    ),
    `${'total'.padEnd(42)}${total.toFixed(2).padStart(8)} s`,
    `PNG sizes (average): preview ${(s.pngBytes.preview / 1024).toFixed(1)} KiB, thumbnail ${(s.pngBytes.thumbnail / 1024).toFixed(1)} KiB, model input ${(s.pngBytes.modelInput / 1024).toFixed(1)} KiB`,
  ];
}
