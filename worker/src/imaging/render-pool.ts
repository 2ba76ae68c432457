/**
 * A per-file time bound for the normalize step (decision 019). Decoding runs synchronously (WASM
 * codecs, pure-JS decoders): a codec stuck in a loop would block the worker's event loop, and no
 * timer in that thread could fire. So each file is rendered in a worker thread of a small pool; when
 * a render passes its deadline the thread is terminated (which stops even a WASM loop), replaced by
 * a fresh one, and the render fails with ImagingError PROCESSING_TIMEOUT. Threads are kept between
 * files, so the codecs are initialised once per thread, not once per file.
 */
import { Worker } from 'node:worker_threads';
import type { DicomFile } from '@medimg/dicom';
import { ImagingError } from './errors.ts';
import type { RenderedImage } from './render.ts';
import type { RenderReply, RenderRequest } from './render-thread.ts';

// A JavaScript bootstrap that registers tsx in the thread, then loads render-thread.ts.
const THREAD_URL = new URL('./render-thread.mjs', import.meta.url);

export interface RenderPoolOptions {
  /** Threads (renders at once); default 2. */
  readonly size?: number;
  /** Longest a render may take, queueing excluded, in ms. */
  readonly timeoutMs: number;
  /** Heap limit of each thread in MiB (V8 old generation); default 512. */
  readonly maxHeapMiB?: number;
  /** Test seam: the thread's entry module (default render-thread.mjs). */
  readonly threadUrl?: URL;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Pending {
  readonly resolve: (answer: { image: RenderedImage; part10?: Uint8Array }) => void;
  readonly reject: (error: Error) => void;
}

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** Renders that passed their deadline (their threads were terminated). */
  timeouts = 0;
  /** The class of the uncaught error that ended a thread, for the message of the render it failed. */
  private readonly threadErrors = new WeakMap<Worker, string>();

  constructor(private readonly options: RenderPoolOptions) {}

  private spawn(): Worker {
    const worker = new Worker(this.options.threadUrl ?? THREAD_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMiB ?? 512 },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    // A thread's uncaught error (out of heap) is followed by its 'exit', handled per render below,
    // which names the error's class (never its message: it could quote a value).
    worker.on('error', (error) => {
      this.threadErrors.set(worker, error instanceof Error ? error.name : 'Error');
    });
    worker.on('message', (reply: RenderReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) {
        const { image } = reply;
        const thumbnail = toBuffer(image.thumbnail);
        p.resolve({
          image: {
            ...image,
            preview: toBuffer(image.preview),
            thumbnail,
            // Sent once when the model input is the thumbnail (render.ts modelInputIsThumbnail).
            modelInput:
              image.modelInput.buffer === image.thumbnail.buffer ? thumbnail : toBuffer(image.modelInput),
          },
          ...(reply.part10 ? { part10: reply.part10 } : {}),
        });
      } else if (reply.name === 'ImagingError' && reply.code) {
        p.reject(new ImagingError(reply.code as ImagingError['code'], 'the image could not be rendered'));
      } else {
        p.reject(new ImagingError('PIXEL_DECODE_FAILED', 'the image could not be rendered'));
      }
    });
    return worker;
  }

  private acquire(): Promise<Slot> {
    const free = this.slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    if (this.slots.length < (this.options.size ?? 2)) {
      const slot = { worker: this.spawn(), busy: true };
      this.slots.push(slot);
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else slot.busy = false;
  }

  /** Renders `file` in a thread; rejects with ImagingError (PROCESSING_TIMEOUT past the deadline). */
  async render(file: DicomFile): Promise<RenderedImage> {
    return (await this.send({ file })).image;
  }

  /**
   * Renders a file given as Part 10 bytes (the pipeline's serialised de-identified object). The
   * bytes are moved to the thread, not copied (a copy is moved when `part10` is a view on a larger
   * buffer), and come back with the images; after the call `part10` itself is detached: use the
   * returned bytes. Rejects like `render`, and then the bytes are gone.
   */
  async renderPart10(part10: Uint8Array): Promise<{ image: RenderedImage; part10: Uint8Array }> {
    const own =
      part10.byteOffset === 0 && part10.byteLength === part10.buffer.byteLength ? part10 : part10.slice();
    const answer = await this.send({ part10: own }, [own.buffer as ArrayBuffer]);
    if (!answer.part10) throw new ImagingError('PIXEL_DECODE_FAILED', 'the render thread kept the bytes');
    return { image: answer.image, part10: answer.part10 };
  }

  private async send(
    request: Omit<RenderRequest, 'id'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<{ image: RenderedImage; part10?: Uint8Array }> {
    if (this.closed) throw new Error('render pool is closed');
    const slot = await this.acquire();
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    let onExit: ((code: number) => void) | undefined;
    try {
      return await new Promise<{ image: RenderedImage; part10?: Uint8Array }>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        // A thread that dies (out of heap, a crash in native code) fails its render, not the worker.
        onExit = () => {
          this.pending.delete(id);
          const cause = this.threadErrors.get(slot.worker);
          slot.worker = this.spawn();
          reject(
            new ImagingError('PIXEL_DECODE_FAILED', `the render thread stopped${cause ? ` (${cause})` : ''}`),
          );
        };
        slot.worker.once('exit', onExit);
        timer = setTimeout(() => {
          this.timeouts += 1;
          this.pending.delete(id);
          const stuck = slot.worker;
          if (onExit) stuck.off('exit', onExit);
          slot.worker = this.spawn();
          void stuck.terminate();
          reject(
            new ImagingError('PROCESSING_TIMEOUT', `rendering passed its ${this.options.timeoutMs} ms bound`),
          );
        }, this.options.timeoutMs);
        slot.worker.postMessage({ id, ...request } satisfies RenderRequest, transfer);
      });
    } finally {
      clearTimeout(timer);
      if (onExit) slot.worker.off('exit', onExit);
      this.release(slot);
    }
  }

  /** Stops every thread. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

const shared = new Map<string, RenderPool>();

/**
 * One pool per process and setting: its threads (unref'd: they never keep the process alive) are
 * started on first use and kept for the next job, so their start (about a second: tsx compiles the
 * imaging modules in each thread) is paid once per worker task.
 */
export function sharedRenderPool(options: RenderPoolOptions): RenderPool {
  const id = `${options.size ?? 2}:${options.timeoutMs}:${options.maxHeapMiB ?? 512}`;
  let pool = shared.get(id);
  if (!pool) {
    pool = new RenderPool(options);
    shared.set(id, pool);
  }
  return pool;
}
