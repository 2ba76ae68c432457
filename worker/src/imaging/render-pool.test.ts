/**
 * The per-file time bound (decision 019): a render that never ends is stopped by terminating its
 * thread, and the pool goes on with a fresh one; a thread that dies fails its render only; a real
 * render through the pool gives the same images as one in this thread.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DicomFile } from '@medimg/dicom';
import { parseDicom } from '@medimg/dicom';
import { afterAll, describe, expect, it } from 'vitest';
import { ImagingError } from './errors.ts';
import { renderImage } from './render.ts';
import { RenderPool } from './render-pool.ts';

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
