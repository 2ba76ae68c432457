#!/usr/bin/env node
// Builds the `medimg` CLI into dist/medimg.js (one ESM file, no tsx at run time) with esbuild, and
// copies the reference model beside it (dist/model/). The workspace packages (@medimg/common,
// @medimg/models) are bundled; every npm dependency of this package stays external (native and
// WebAssembly modules load from their own folders). Run: npm run build -w @medimg/worker.
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies ?? {}).flatMap((name) => [name, `${name}/*`]);
const outdir = path.join(root, 'dist');

// Earlier builds' chunks go too (their names carry a content hash).
for (const f of await readdir(outdir).catch(() => []))
  if (f.endsWith('.js') || f.endsWith('.mjs')) await rm(path.join(outdir, f), { force: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  external,
  define: { MEDIMG_BUILD: JSON.stringify({ version: pkg.version }) },
  // Bundled CommonJS helpers may call require(): give the ESM file one.
  banner: {
    js: "import { createRequire as __medimgCreateRequire } from 'node:module'; const require = __medimgCreateRequire(import.meta.url);",
  },
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
};
// Split at dynamic imports: what only some commands need (the upload API client and the AWS SDK,
// the in-process model and onnxruntime) is in chunks loaded when used, so `medimg process` starts
// without them. Chunks sit beside medimg.js (render-pool.ts finds render-thread.mjs beside the
// module that holds it).
await build({
  ...common,
  entryPoints: { medimg: path.join(root, 'src/cli/run.ts') },
  outdir,
  splitting: true,
  chunkNames: 'chunk-[hash]',
});
// The render threads' entry (imaging/render-pool.ts opens ./render-thread.mjs beside the module that
// creates the pool, which is medimg.js once bundled): bundled too, so no thread needs tsx.
await build({
  ...common,
  entryPoints: [path.join(root, 'src/imaging/render-thread.ts')],
  outfile: path.join(outdir, 'render-thread.mjs'),
});
const modelSource = path.resolve(root, '../models/artifacts');
const model = JSON.parse(await readFile(path.join(modelSource, 'model.json'), 'utf8'));
await mkdir(path.join(outdir, 'model'), { recursive: true });
for (const file of ['model.json', model.file])
  await copyFile(path.join(modelSource, file), path.join(outdir, 'model', file));
process.stdout.write(
  `built ${path.relative(process.cwd(), path.join(outdir, 'medimg.js'))} (medimg ${pkg.version}) and dist/model/\n`,
);
