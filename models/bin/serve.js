#!/usr/bin/env node
// `serve`: the SageMaker container entry (SageMaker runs `docker run <image> serve`).
// In the repository it runs the TypeScript source through tsx. The image carries no source, only
// dist/main.js, which esbuild bundled at build time (`npm run build -w models`), and runs on plain Node.
import { existsSync } from 'node:fs';

const source = new URL('../src/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/main.js', import.meta.url).href);
}
