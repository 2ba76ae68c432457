import { Worker } from 'node:worker_threads';
const w = new Worker(new URL('./dist/render-thread.mjs', import.meta.url), { stderr: true });
w.stderr.on('data', (d) => process.stdout.write('STDERR ' + d));
w.on('error', (e) => console.log('ERROR', e));
w.on('exit', (c) => console.log('EXIT', c));
w.on('online', () => console.log('ONLINE'));
