// A pool thread (render-thread.ts, the real one) whose RLE codec never returns in one kind of
// request: the test seam for a codec stuck in the burned-in text scan ('scan') or in the re-encoding
// of blanked compressed pixel data ('blank'). Every other request is served by the real thread. When
// it gets stuck it says so on the BroadcastChannel STUCK_CHANNEL (the tests count the timer ticks of
// their event loop from then on).
import { BroadcastChannel, parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

export const STUCK_CHANNEL = 'medimg-stuck-codec';
const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

/** Starts the thread; requests of `kind` on RLE pixel data loop forever, as a stuck codec would. */
export async function stuckOn(kind) {
  const channel = new BroadcastChannel(STUCK_CHANNEL);
  channel.unref();
  // The real thread's message handler, wrapped: no listener is attached before it is (a port
  // holds its messages until one is), and the stuck request never reaches it.
  const on = parentPort.on.bind(parentPort);
  parentPort.on = (event, handler) =>
    on(event, (request) => {
      if (
        event === 'message' &&
        request.kind === kind &&
        request.file?.transferSyntax?.uid === RLE_LOSSLESS
      ) {
        channel.postMessage(kind);
        for (;;) {}
      }
      return handler(request);
    });
  register();
  await import('../render-thread.ts');
}
