// A render thread for the RenderPool tests: 'hang' loops forever (as a stuck codec would),
// 'die' ends the thread, 'throw' throws a value-carrying error out of the thread, 'slow' works
// (synchronously) for 1 s, then like anything else answers NO_PIXEL_DATA.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ id, file }) => {
  const what = file?.transferSyntax?.uid;
  if (what === 'hang') for (;;) {}
  if (what === 'die') process.exit(3);
  if (what === 'throw') throw new RangeError('Doe^Jane 19700101');
  if (what === 'slow') for (const end = Date.now() + 1000; Date.now() < end; ) {}
  parentPort.postMessage({ id, ok: false, name: 'ImagingError', code: 'NO_PIXEL_DATA' });
});
