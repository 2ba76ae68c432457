/**
 * Entry of a render thread (render-pool.ts): renders the files it is sent, one at a time. Errors
 * go back as their name and stable code only (messages never carry DICOM values, but the codes
 * are all the pipeline needs).
 */
import { parentPort } from 'node:worker_threads';
import type { DicomFile } from '@medimg/dicom';
import { renderImage } from './render.ts';

export interface RenderRequest {
  readonly id: number;
  readonly file: DicomFile;
}

export type RenderReply =
  | { readonly id: number; readonly ok: true; readonly image: Awaited<ReturnType<typeof renderImage>> }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly code?: string };

const port = parentPort;
if (!port) throw new Error('render-thread.ts runs as a worker thread only');
/**
 * The PNG buffers are moved to the main thread, not copied, where the runtime allows it. Node 22
 * refuses to transfer memory a native addon owns (sharp's output buffers: DataCloneError); there
 * they are copied (a few hundred kB per image), and the thread never dies for it.
 */
let transferable = true;
port.on('message', async ({ id, file }: RenderRequest) => {
  let reply: RenderReply;
  try {
    reply = { id, ok: true, image: await renderImage(file) };
  } catch (error) {
    const e = error as { name?: unknown; code?: unknown } | undefined;
    reply = {
      id,
      ok: false,
      name: typeof e?.name === 'string' ? e.name : 'Error',
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    };
  }
  const { preview, thumbnail, modelInput } = reply.ok ? reply.image : ({} as Record<string, undefined>);
  const transfer = [preview, thumbnail, modelInput]
    .filter((b): b is Buffer => b !== undefined && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength)
    .map((b) => b.buffer as ArrayBuffer);
  if (transferable) {
    try {
      port.postMessage(reply, transfer);
      return;
    } catch {
      transferable = false;
    }
  }
  port.postMessage(reply);
});
