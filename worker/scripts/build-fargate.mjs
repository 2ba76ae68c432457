#!/usr/bin/env node
// Builds the Fargate entry (src/main.ts) and its render thread into dist/fargate/ (ESM, no tsx at
// run time), as build-cli.mjs does for the `medimg` CLI. Unlike the CLI, the workspace packages AND
// the pure-JavaScript npm dependencies (the AWS SDK, zod) are bundled: the image then holds only the
// node_modules listed in RUNTIME_EXTERNAL (native or WebAssembly modules that load files from their
// own folders), which scripts/runtime-modules.mjs copies. Run in the image build (worker/Dockerfile).
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const outdir = path.join(root, 'dist/fargate');

/**
 * What stays in node_modules at run time: sharp (native libvips), tesseract.js (its worker thread and
 * WebAssembly core load from its own folder) and its traineddata, and the codecs, which
 * imaging/codecs.ts loads with require() (each finds its .wasm beside its JavaScript).
 */
export const RUNTIME_EXTERNAL = [
  'sharp',
  'tesseract.js',
  '@tesseract.js-data/eng',
  '@tesseract.js-data/fra',
  '@cornerstonejs/codec-charls',
  '@cornerstonejs/codec-libjpeg-turbo-8bit',
  '@cornerstonejs/codec-openjpeg',
  '@cornerstonejs/codec-openjph',
  'dcmjs-codecs',
  'jpeg-lossless-decoder-js',
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    external: RUNTIME_EXTERNAL.flatMap((name) => [name, `${name}/*`]),
    // Bundled CommonJS (the AWS SDK) may call require(): give the ESM file one.
    banner: {
      js: "import { createRequire as __medimgCreateRequire } from 'node:module'; const require = __medimgCreateRequire(import.meta.url);",
    },
    minifySyntax: true,
    minifyWhitespace: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  };
  const main = await build({
    ...common,
    entryPoints: [path.join(root, 'src/main.ts')],
    outfile: path.join(outdir, 'main.mjs'),
  });
  // render-pool.ts opens ./render-thread.mjs beside the module that creates the pool (main.mjs here).
  await build({
    ...common,
    entryPoints: [path.join(root, 'src/imaging/render-thread.ts')],
    outfile: path.join(outdir, 'render-thread.mjs'),
  });
  // The local ECS agent of docker-compose.yml (node builtins only), beside main.mjs which it starts.
  await build({
    ...common,
    entryPoints: [path.join(root, 'src/local/ecs-agent.ts')],
    outfile: path.join(outdir, 'ecs-agent.mjs'),
  });
  // The bundle must not import a package left out of both the bundle and RUNTIME_EXTERNAL.
  const imports = new Set(
    Object.values(main.metafile.outputs).flatMap((o) =>
      o.imports.filter((i) => i.external).map((i) => i.path),
    ),
  );
  const stray = [...imports].filter(
    (i) =>
      !i.startsWith('node:') &&
      !RUNTIME_EXTERNAL.some((e) => i === e || i.startsWith(`${e}/`)) &&
      !/^[a-z_]+$/.test(i),
  );
  if (stray.length > 0) throw new Error(`external imports not in RUNTIME_EXTERNAL: ${stray.join(', ')}`);
  await writeFile(path.join(outdir, 'externals.json'), `${JSON.stringify(RUNTIME_EXTERNAL, null, 2)}\n`);
  const files = await readdir(outdir);
  process.stdout.write(`built dist/fargate/ (${files.join(', ')})\n`);
}
