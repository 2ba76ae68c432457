/**
 * The per-file time bound (decision 019): a render that never ends is stopped by terminating its
 * thread, and the pool goes on with a fresh one; a thread that dies fails its render only; a real
 * render through the pool gives the same images as one in this thread; the burned-in text scan's
 * frame loop and the re-encoding of blanked compressed pixel data give in a thread what they give
 * here; one file's requests share one deadline.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DicomFile } from '@medimg/dicom';
import { parseDicom, writePart10 } from '@medimg/dicom';
import { afterAll, describe, expect, it } from 'vitest';
import { blankEncapsulated } from '../deid/blank-encapsulated.ts';
import { textImageSet } from '../deid/testing/text-images.ts';
import { DEFAULT_SCAN_LIMITS, findCandidates } from '../deid/text-scan.ts';
import { ImagingError } from './errors.ts';
import { renderImage } from './render.ts';
import { PixelThreadError, RenderPool } from './render-pool.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const stuckThread = new URL('./testing/stuck-thread.mjs', import.meta.url);
const fake = (uid: string): DicomFile =>
  ({ meta: new Map(), dataset: new Map(), transferSyntax: { uid } }) as unknown as DicomFile;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return 'resolved';
  } catch (error) {
    return error instanceof ImagingError ? error.code : `not an ImagingError: ${String(error)}`;
  }
}

const pools: RenderPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('RenderPool', () => {
  it('stops a render stuck in a synchronous loop at its deadline and keeps serving with a fresh thread', async () => {
    const pool = new RenderPool({ size: 1, timeoutMs: 500, threadUrl: stuckThread });
    pools.push(pool);

    const stuck = await codeOf(pool.render(fake('hang')));
    const next = await codeOf(pool.render(fake('answer')));

    expect(stuck).toBe('PROCESSING_TIMEOUT');
    expect(pool.timeouts).toBe(1);
    expect(next).toBe('NO_PIXEL_DATA');
  });

  it('fails only the render whose thread dies, and the next render gets a new thread', async () => {
    const pool = new RenderPool({ size: 1, timeoutMs: 30_000, threadUrl: stuckThread });
    pools.push(pool);

    const died = await codeOf(pool.render(fake('die')));
    const next = await codeOf(pool.render(fake('answer')));

    expect(died).toBe('PIXEL_DECODE_FAILED');
    expect(next).toBe('NO_PIXEL_DATA');
    expect(pool.timeouts).toBe(0);
  });

  it("names the class of the error that ended a thread in the render's error, never its message", async () => {
    const pool = new RenderPool({ size: 1, timeoutMs: 30_000, threadUrl: stuckThread });
    pools.push(pool);

    const error = await pool.render(fake('throw')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ImagingError);
    expect((error as ImagingError).code).toBe('PIXEL_DECODE_FAILED');
    expect((error as ImagingError).message).toBe('the render thread stopped (RangeError)');
    expect(await codeOf(pool.render(fake('answer')))).toBe('NO_PIXEL_DATA');
  });

  it('queues renders past its size and answers each one', async () => {
    const pool = new RenderPool({ size: 2, timeoutMs: 30_000, threadUrl: stuckThread });
    pools.push(pool);

    const codes = await Promise.all(Array.from({ length: 5 }, () => codeOf(pool.render(fake('answer')))));

    expect(codes).toEqual(Array(5).fill('NO_PIXEL_DATA'));
  });

  it('renders a real image in its thread exactly as renderImage does here', async () => {
    const bytes = readFileSync(
      path.resolve(here, '../../../sample-dicom/studies/mr-head/3-t1-se-axial/001.dcm'),
    );
    const file = parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const pool = new RenderPool({ size: 1, timeoutMs: 60_000 });
    pools.push(pool);

    const [inThread, inPool] = await Promise.all([renderImage(file), pool.render(file)]);

    expect(Buffer.isBuffer(inPool.preview)).toBe(true);
    expect(Buffer.compare(inPool.preview, inThread.preview)).toBe(0);
    expect(Buffer.compare(inPool.modelInput, inThread.modelInput)).toBe(0);
    expect(inPool.rows).toBe(inThread.rows);
  });

  it('renders from Part 10 bytes moved to its thread, and gives the same bytes back', async () => {
    const bytes = new Uint8Array(
      readFileSync(path.resolve(here, '../../../sample-dicom/studies/mr-head/3-t1-se-axial/001.dcm')),
    );
    const original = bytes.slice();
    const pool = new RenderPool({ size: 1, timeoutMs: 60_000 });
    pools.push(pool);

    const inThread = await renderImage(parseDicom(original.slice()));
    const answer = await pool.renderPart10(bytes);

    expect(Buffer.compare(answer.image.preview, inThread.preview)).toBe(0);
    expect(Buffer.compare(answer.image.thumbnail, inThread.thumbnail)).toBe(0);
    expect(Buffer.compare(answer.image.modelInput, inThread.modelInput)).toBe(0);
    expect(Buffer.compare(answer.part10, original)).toBe(0);
  });

  it('fails a render from bytes that are not DICOM with an ImagingError code, and goes on', async () => {
    const pool = new RenderPool({ size: 1, timeoutMs: 60_000 });
    pools.push(pool);

    const error = await pool.renderPart10(new Uint8Array(64)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ImagingError);
    expect((error as ImagingError).code).toBe('PIXEL_DECODE_FAILED');
  });
});

describe("RenderPool: the de-identify step's pixel work", () => {
  it('finds the same text candidates in a thread as here, on every kind of generated image', async () => {
    const cases = await textImageSet({ textPerKind: 1, cleanPerKind: 0, seed: 34 });
    const pool = new RenderPool({ size: 1, timeoutMs: 60_000 });
    pools.push(pool);

    for (const c of cases) {
      const here = await findCandidates(c.file, DEFAULT_SCAN_LIMITS);
      const there = await pool.findCandidates(c.file, DEFAULT_SCAN_LIMITS, []);

      expect(there.found.length, c.name).toBeGreaterThan(0);
      expect(there.found.map((m) => m.candidate)).toEqual(here.found.map((m) => m.candidate));
      // The same views (one object per view, shared by its candidates), pixel for pixel.
      expect(new Set(there.found.map((m) => m.image)).size).toBe(
        new Set(here.found.map((m) => m.image)).size,
      );
      there.found.forEach((m, i) => {
        expect(Buffer.compare(m.image.pixels, here.found[i]!.image.pixels)).toBe(0);
      });
      expect({ ...there, found: [], ms: 0 }).toEqual({ ...here, found: [], ms: 0 });
    }
  }, 120_000);

  it('re-encodes blanked compressed pixel data in a thread to the same object as here', async () => {
    const [rle] = await textImageSet({ textPerKind: 1, cleanPerKind: 0, kinds: ['us-rle'], seed: 34 });
    const pool = new RenderPool({ size: 1, timeoutMs: 60_000 });
    pools.push(pool);
    const regions = [{ x: 10, y: 20, width: 200, height: 30 }];

    const here = await blankEncapsulated(rle!.file, regions);
    const there = await pool.blankEncapsulated(rle!.file, regions);

    expect(Buffer.compare(writePart10(there), writePart10(here))).toBe(0);
    // The caller's object is left as it was (the thread had a copy).
    expect(rle!.file.dataset.get(0x7fe00010)?.encapsulated).toBeDefined();
  }, 60_000);

  it("fails a scan or a re-encoding in a thread with the error's name and code, never its message", async () => {
    const [rle] = await textImageSet({ textPerKind: 1, cleanPerKind: 0, kinds: ['us-rle'], seed: 34 });
    const pool = new RenderPool({ size: 1, timeoutMs: 60_000 });
    pools.push(pool);

    const scan = await pool
      .findCandidates(rle!.file, { ...DEFAULT_SCAN_LIMITS, maxPixels: 100 }, [])
      .catch((e: unknown) => e);
    const blank = await pool.blankEncapsulated(rle!.file, []).catch((e: unknown) => e);

    expect(scan).toBeInstanceOf(PixelThreadError);
    expect(scan).toMatchObject({ errorName: 'ScanError', code: 'BURNED_IN_SCAN_TOO_LARGE' });
    expect(blank).toBeInstanceOf(PixelThreadError);
    expect(blank).toMatchObject({
      errorName: 'DeidError',
      code: 'BURNED_IN_ANNOTATION',
      reason: 'NO_BLANK_RULE',
    });
  }, 60_000);

  it("counts every request of one file against the file's one deadline", async () => {
    const pool = new RenderPool({ size: 1, timeoutMs: 3000, threadUrl: stuckThread });
    pools.push(pool);
    const file = pool.forFile();

    // Each request keeps its thread busy for 1 s (stuck-thread.mjs 'slow'): four of them cannot fit
    // in the file's 3 s, though any one fits; another file has a deadline of its own.
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(await codeOf(file.render(fake('slow'))));
    const other = await codeOf(pool.forFile().render(fake('slow')));

    expect(codes[0]).toBe('NO_PIXEL_DATA');
    expect(codes.at(-1)).toBe('PROCESSING_TIMEOUT');
    expect(other).toBe('NO_PIXEL_DATA');
  }, 60_000);
});
