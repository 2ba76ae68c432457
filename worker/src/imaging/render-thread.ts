/**
 * Entry of a render thread (render-pool.ts): does the pixel work of the files it is sent, one
 * request at a time, so that a codec stuck in a loop stops this thread, never the worker's event
 * loop (decision 019). Three kinds of request:
 *
 *   render  the normalize step's images. A file comes either as a parsed DicomFile (structured
 *           clone) or, from the pipeline, as its Part 10 bytes moved to the thread (no copy; the
 *           thread parses them, which costs less than cloning the parsed form) and moved back.
 *   scan    the burned-in text scan's frame loop (text-scan.ts findCandidates): every frame
 *           decoded and rendered, candidate lines found; the views with a candidate are moved back.
 *   blank   compressed pixel data decoded, blanked and re-encoded (blank-encapsulated.ts); the
 *           elements it changed come back (the new pixel data moved), not the whole object.
 *
 * Errors go back as their name and stable code (and a DeidError's reason) only: messages never
 * carry DICOM values, but the codes are all the pipeline needs.
 */
import { parentPort } from 'node:worker_threads';
import type { DataElement, DataSet, DicomFile, Tag, TransferSyntax } from '@medimg/dicom';
import { parseDicom } from '@medimg/dicom';
import { blankEncapsulated } from '../deid/blank-encapsulated.ts';
import type { BlankRegion } from '../deid/options.ts';
import { type FrameCandidates, findCandidates, type ScanLimits, type TextRegion } from '../deid/text-scan.ts';
import { renderImage } from './render.ts';
import { loadSharp } from './sharp.ts';

export interface RenderRequest {
  readonly id: number;
  readonly kind?: 'render';
  readonly file?: DicomFile;
  /** Part 10 bytes, transferred; sent back in the reply. */
  readonly part10?: Uint8Array;
}

export interface ScanRequest {
  readonly id: number;
  readonly kind: 'scan';
  readonly file: DicomFile;
  readonly limits: ScanLimits;
  readonly blanked: readonly TextRegion[];
}

export interface BlankRequest {
  readonly id: number;
  readonly kind: 'blank';
  readonly file: DicomFile;
  readonly regions: readonly BlankRegion[];
}

export type ThreadRequest = RenderRequest | ScanRequest | BlankRequest;

/** What blankEncapsulated changed: applied to the caller's own object (blank-encapsulated.ts). */
export interface BlankedChanges {
  readonly meta: DataSet;
  readonly transferSyntax: TransferSyntax;
  /** Elements added or replaced (the re-encoded Pixel Data among them). */
  readonly set: readonly DataElement[];
  /** Tags removed. */
  readonly removed: readonly Tag[];
}

export type ThreadFailure = {
  readonly id: number;
  readonly ok: false;
  readonly name: string;
  readonly code?: string;
  readonly reason?: string;
};

export type RenderReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly kind?: 'render';
      readonly image: Awaited<ReturnType<typeof renderImage>>;
      readonly part10?: Uint8Array;
    }
  | ThreadFailure;

export type ThreadReply =
  | RenderReply
  | { readonly id: number; readonly ok: true; readonly kind: 'scan'; readonly scan: FrameCandidates }
  | { readonly id: number; readonly ok: true; readonly kind: 'blank'; readonly changes: BlankedChanges };

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

const failure = (id: number, error: unknown): ThreadFailure => {
  const e = error as { name?: unknown; code?: unknown; reason?: unknown } | undefined;
  return {
    id,
    ok: false,
    name: typeof e?.name === 'string' ? e.name : 'Error',
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.reason === 'string' ? { reason: e.reason } : {}),
  };
};

/** `b` itself when it spans its buffer (it can be moved), else a copy that does. */
const own = (b: Uint8Array): Uint8Array => (movable(b) ? b : b.slice());

/** Posts `reply` moving `buffers`; copied instead where the runtime refuses to move one. */
function post(reply: ThreadReply, buffers: Iterable<ArrayBuffer>): void {
  try {
    port?.postMessage(reply, [...new Set(buffers)]);
  } catch {
    port?.postMessage(reply);
  }
}

async function scan({ id, file, limits, blanked }: ScanRequest): Promise<void> {
  let reply: ThreadReply;
  const buffers = new Set<ArrayBuffer>();
  try {
    const found = await findCandidates(file, limits, blanked);
    // One GreyImage per view, shared by its candidates: each view's pixels once, moved.
    const views = new Map<object, { width: number; height: number; pixels: Uint8Array }>();
    const image = (i: (typeof found.found)[number]['image']) => {
      let v = views.get(i);
      if (!v) {
        v = { width: i.width, height: i.height, pixels: own(i.pixels) };
        buffers.add(v.pixels.buffer as ArrayBuffer);
        views.set(i, v);
      }
      return v;
    };
    reply = {
      id,
      ok: true,
      kind: 'scan',
      scan: { ...found, found: found.found.map((m) => ({ candidate: m.candidate, image: image(m.image) })) },
    };
  } catch (error) {
    reply = failure(id, error);
  }
  post(reply, buffers);
}

async function blank({ id, file, regions }: BlankRequest): Promise<void> {
  let reply: ThreadReply;
  const buffers: ArrayBuffer[] = [];
  try {
    const out = await blankEncapsulated(file, regions);
    const set: DataElement[] = [];
    for (const [t, el] of out.dataset) {
      if (file.dataset.get(t) === el) continue;
      const value = own(el.value);
      buffers.push(value.buffer as ArrayBuffer);
      set.push({ ...el, value });
    }
    const removed = [...file.dataset.keys()].filter((t) => !out.dataset.has(t));
    reply = {
      id,
      ok: true,
      kind: 'blank',
      changes: { meta: out.meta, transferSyntax: out.transferSyntax, set, removed },
    };
  } catch (error) {
    reply = failure(id, error);
  }
  post(reply, buffers);
}

port.on('message', async (request: ThreadRequest) => {
  if (request.kind === 'scan') return scan(request);
  if (request.kind === 'blank') return blank(request);
  const { id, file, part10 } = request;
  let reply: RenderReply;
  try {
    const parsed = file ?? parseDicom(part10 ?? new Uint8Array(0));
    const image = await renderImage(parsed);
    reply = { id, ok: true, image, ...(part10 ? { part10 } : {}) };
  } catch (error) {
    reply = failure(id, error);
  }
  const ownBuffers = [movable(part10)].filter((b) => b !== undefined);
  const { preview, thumbnail, modelInput } = reply.ok ? reply.image : ({} as Record<string, undefined>);
  // The model input may be the thumbnail itself (render.ts): each buffer once in the list.
  const native = [...new Set([preview, thumbnail, modelInput].map(movable))].filter((b) => b !== undefined);
  if (transferable && native.length > 0) {
    try {
      port.postMessage(reply, [...ownBuffers, ...native]);
      return;
    } catch {
      transferable = false;
    }
  }
  port.postMessage(reply, ownBuffers);
});
