/**
 * A per-file time bound over every decode of a file (decision 019). Decoding runs synchronously
 * (WASM codecs, pure-JS decoders): a codec stuck in a loop would block the worker's event loop, and
 * no timer in that thread could fire. So all the pixel work of a file runs in a worker thread of a
 * small pool: the burned-in text scan's frame loop (`findCandidates`), the re-encoding of blanked
 * compressed pixel data (`blankEncapsulated`), the check of a redacted output, and the render. When
 * a request passes its deadline the thread is terminated (which stops even a WASM loop), replaced by
 * a fresh one, and the request fails with ImagingError PROCESSING_TIMEOUT. Threads are kept between
 * files, so the codecs are initialised once per thread, not once per file.
 *
 * `forFile()` gives one file's handle: its requests share ONE deadline, the time its requests spend
 * in threads (waiting for a free thread excluded) - the bound is per file, not per request.
 */
import { Worker } from 'node:worker_threads';
import type { DataSet, DicomFile } from '@medimg/dicom';
import type { PixelThreads } from '../deid/burned-in-text.ts';
import type { BlankRegion } from '../deid/options.ts';
import type { FrameCandidates, ScanLimits, TextRegion } from '../deid/text-scan.ts';
import { ImagingError } from './errors.ts';
import type { RenderedImage } from './render.ts';
import type {
  BlankedChanges,
  BlankRequest,
  RenderRequest,
  ScanRequest,
  ThreadReply,
  ThreadRequest,
} from './render-thread.ts';

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

/** Whatever a thread answered (a failure becomes a rejection). */
type Answer = Exclude<ThreadReply, { ok: false }>;

interface Pending {
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
}

/**
 * A scan or re-encoding that failed in its thread: the error's class name and stable code (and a
 * DeidError's reason), never its message. burned-in-text.ts turns it back into its ScanError or
 * DeidError.
 */
export class PixelThreadError extends Error {
  override readonly name = 'PixelThreadError';
  constructor(
    readonly errorName: string,
    readonly code: string | undefined,
    readonly reason: string | undefined,
  ) {
    super(`the pixel work failed in its thread (${errorName}${code ? ` ${code}` : ''})`);
  }
}

/** The pixel work of one file, under one deadline (RenderPool.forFile). */
export interface FileThreads extends PixelThreads {
  render(file: DicomFile): Promise<RenderedImage>;
  renderPart10(part10: Uint8Array): Promise<{ image: RenderedImage; part10: Uint8Array }>;
}

/** Thread time a file has used, in ms. */
interface Deadline {
  spentMs: number;
}

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: { resolve: (slot: Slot) => void; reject: (error: Error) => void }[] = [];
  private readonly pending = new Map<number, Pending>();
  /** The kind of each request in flight (how its failure is reported). */
  private readonly kinds = new Map<number, NonNullable<ThreadRequest['kind']>>();
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
    worker.on('message', (reply: ThreadReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok && (reply.kind === 'scan' || reply.kind === 'blank')) {
        p.resolve(reply);
      } else if (!reply.ok && this.kinds.get(reply.id) !== 'render') {
        p.reject(new PixelThreadError(reply.name, reply.code, reply.reason));
      } else if (reply.ok) {
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
        } as Answer);
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
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next.resolve(slot);
    else slot.busy = false;
  }

  /** Renders `file` in a thread; rejects with ImagingError (PROCESSING_TIMEOUT past the deadline). */
  async render(file: DicomFile, deadline?: Deadline): Promise<RenderedImage> {
    const answer = await this.send({ file }, [], deadline);
    if (answer.kind === 'scan' || answer.kind === 'blank') throw new Error('unexpected reply');
    return answer.image;
  }

  /**
   * Renders a file given as Part 10 bytes (the pipeline's serialised de-identified object). The
   * bytes are moved to the thread, not copied (a copy is moved when `part10` is a view on a larger
   * buffer), and come back with the images; after the call `part10` itself is detached: use the
   * returned bytes. Rejects like `render`, and then the bytes are gone.
   */
  async renderPart10(
    part10: Uint8Array,
    deadline?: Deadline,
  ): Promise<{ image: RenderedImage; part10: Uint8Array }> {
    const own =
      part10.byteOffset === 0 && part10.byteLength === part10.buffer.byteLength ? part10 : part10.slice();
    const answer = await this.send({ part10: own }, [own.buffer as ArrayBuffer], deadline);
    if (answer.kind === 'scan' || answer.kind === 'blank' || !answer.part10) {
      throw new ImagingError('PIXEL_DECODE_FAILED', 'the render thread kept the bytes');
    }
    return { image: answer.image, part10: answer.part10 };
  }

  /**
   * The burned-in text scan's frame loop (text-scan.ts findCandidates) in a thread. The file is
   * copied to the thread (structured clone: it is still the caller's); the views with a candidate
   * come back moved.
   */
  async findCandidates(
    file: DicomFile,
    limits: ScanLimits,
    blanked: readonly TextRegion[],
    deadline?: Deadline,
  ): Promise<FrameCandidates> {
    const answer = await this.send({ kind: 'scan', file, limits, blanked }, [], deadline);
    if (answer.kind !== 'scan') throw new Error('unexpected reply');
    return answer.scan;
  }

  /**
   * blankEncapsulated in a thread: the file is copied there; what the re-encoding changed comes back
   * (the new pixel data moved) and is applied to a copy of the caller's data set.
   */
  async blankEncapsulated(
    file: DicomFile,
    regions: readonly BlankRegion[],
    deadline?: Deadline,
  ): Promise<DicomFile> {
    const answer = await this.send({ kind: 'blank', file, regions }, [], deadline);
    if (answer.kind !== 'blank') throw new Error('unexpected reply');
    return applyChanges(file, answer.changes);
  }

  /**
   * One file's handle: every request made through it counts against one deadline (`timeoutMs` of
   * thread time for the whole file).
   */
  forFile(): FileThreads {
    const deadline: Deadline = { spentMs: 0 };
    return {
      render: (file) => this.render(file, deadline),
      renderPart10: (part10) => this.renderPart10(part10, deadline),
      findCandidates: (file, limits, blanked) => this.findCandidates(file, limits, blanked, deadline),
      blankEncapsulated: (file, regions) => this.blankEncapsulated(file, regions, deadline),
    };
  }

  private async send(
    request: Omit<RenderRequest, 'id'> | Omit<ScanRequest, 'id'> | Omit<BlankRequest, 'id'>,
    transfer: ArrayBuffer[] = [],
    deadline: Deadline = { spentMs: 0 },
  ): Promise<Answer> {
    if (this.closed) throw new Error('render pool is closed');
    const timeoutMs = this.options.timeoutMs - deadline.spentMs;
    // The file has used its time already (no thread to stop).
    if (timeoutMs <= 0) throw this.timedOut(false);
    const slot = await this.acquire();
    const id = this.nextId++;
    this.kinds.set(id, request.kind ?? 'render');
    let timer: NodeJS.Timeout | undefined;
    let onExit: ((code: number) => void) | undefined;
    const started = performance.now();
    try {
      return await new Promise<Answer>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        // A thread that dies (out of heap, a crash in native code) fails its request, not the worker.
        onExit = () => {
          this.pending.delete(id);
          const cause = this.threadErrors.get(slot.worker);
          // Never a new thread once closed: it would outlive the pool.
          if (this.closed) return reject(new Error('render pool is closed'));
          slot.worker = this.spawn();
          reject(
            new ImagingError('PIXEL_DECODE_FAILED', `the render thread stopped${cause ? ` (${cause})` : ''}`),
          );
        };
        slot.worker.once('exit', onExit);
        timer = setTimeout(() => {
          this.pending.delete(id);
          const stuck = slot.worker;
          if (onExit) stuck.off('exit', onExit);
          if (!this.closed) slot.worker = this.spawn();
          void stuck.terminate();
          reject(this.timedOut(true));
        }, timeoutMs);
        slot.worker.postMessage({ id, ...request } as ThreadRequest, transfer);
      });
    } finally {
      deadline.spentMs += performance.now() - started;
      clearTimeout(timer);
      this.kinds.delete(id);
      if (onExit) slot.worker.off('exit', onExit);
      this.release(slot);
    }
  }

  private timedOut(stopped: boolean): ImagingError {
    if (stopped) this.timeouts += 1;
    return new ImagingError(
      'PROCESSING_TIMEOUT',
      `the file's pixel work passed its ${this.options.timeoutMs} ms bound`,
    );
  }

  /**
   * Stops every thread (a request still in flight fails, one waiting for a thread too); no thread is
   * started after. Idle threads can keep the process alive although unref'd (tsx's loader
   * registered in them): whoever creates a pool closes it when done (the job does, in a finally).
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error('render pool is closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

/** `file` with the changes a thread's blankEncapsulated made (render-thread.ts). */
function applyChanges(file: DicomFile, changes: BlankedChanges): DicomFile {
  const dataset: DataSet = new Map(file.dataset);
  for (const t of changes.removed) dataset.delete(t);
  for (const el of changes.set) dataset.set(el.tag, el);
  return { meta: changes.meta, dataset, transferSyntax: changes.transferSyntax };
}
