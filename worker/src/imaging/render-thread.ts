/**
 * Entry of a render thread (render-pool.ts): renders the files it is sent, one at a time. A file
 * comes either as a parsed DicomFile (structured clone) or, from the pipeline, as its Part 10 bytes
 * moved to the thread (no copy; the thread parses them, which costs less than cloning the parsed
 * form) and moved back with the answer. Errors go back as their name and stable code only
 * (messages never carry DICOM values, but the codes are all the pipeline needs).
 */
import { parentPort } from 'node:worker_threads';
import { type DicomFile, parseDicom } from '@medimg/dicom';
import { renderImage } from './render.ts';
import { loadSharp } from './sharp.ts';

export interface RenderRequest {
  readonly id: number;
  readonly file?: DicomFile;
  /** Part 10 bytes, transferred; sent back in the reply. */
  readonly part10?: Uint8Array;
}

export type RenderReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly image: Awaited<ReturnType<typeof renderImage>>;
      readonly part10?: Uint8Array;
    }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly code?: string };

const port = parentPort;
if (!port) throw new Error('render-thread.ts runs as a worker thread only');

// libvips' operation cache keeps recent images and pipelines for reuse: nothing here is ever
// rendered twice, so it only held memory (decision 018). One libvips thread per pipeline: the
// parallelism comes from the pool's threads and the three PNGs of each file, which run at once;
// more threads per small image cost more in handing out work than they save.
const sharp = loadSharp(); // its CommonJS build, as render.ts uses (sharp.ts)
sharp.cache(false);
sharp.concurrency(1);

/** The whole buffer of `b`, when `b` spans it (so it can be moved, not copied). */
const movable = (b: Uint8Array | undefined): ArrayBuffer | undefined =>
  b !== undefined && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
    ? (b.buffer as ArrayBuffer)
    : undefined;

/**
 * The PNG buffers are moved to the main thread, not copied, where the runtime allows it. Node 22
 * refuses to transfer memory a native addon owns (sharp's output buffers: DataCloneError); there
 * they are copied (a few hundred kB per image), and the thread never dies for it. The Part 10
 * bytes are the thread's own memory: they are always moved back.
 */
let transferable = true;
port.on('message', async ({ id, file, part10 }: RenderRequest) => {
  let reply: RenderReply;
  try {
    const parsed = file ?? parseDicom(part10 ?? new Uint8Array(0));
    const image = await renderImage(parsed);
    reply = { id, ok: true, image, ...(part10 ? { part10 } : {}) };
  } catch (error) {
    const e = error as { name?: unknown; code?: unknown } | undefined;
    reply = {
      id,
      ok: false,
      name: typeof e?.name === 'string' ? e.name : 'Error',
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    };
  }
  const own = [movable(part10)].filter((b) => b !== undefined);
  const { preview, thumbnail, modelInput } = reply.ok ? reply.image : ({} as Record<string, undefined>);
  // The model input may be the thumbnail itself (render.ts): each buffer once in the list.
  const native = [...new Set([preview, thumbnail, modelInput].map(movable))].filter((b) => b !== undefined);
  if (transferable && native.length > 0) {
    try {
      port.postMessage(reply, [...own, ...native]);
      return;
    } catch {
      transferable = false;
    }
  }
  port.postMessage(reply, own);
});
