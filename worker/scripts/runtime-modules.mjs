#!/usr/bin/env node
// Copies into OUT/node_modules only what the bundled Fargate worker (build-fargate.mjs) loads at run
// time: the packages of RUNTIME_EXTERNAL and their dependencies, as npm installed them (lockfile
// versions), less the files nothing loads. Two pure-JavaScript codecs are re-bundled in place into
// one file each (dcmjs-codecs pulls dcmjs, core-js and babel's runtime, ~30 MB as installed).
//   node worker/scripts/runtime-modules.mjs <node_modules of an npm ci> <out dir>
import { cp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { RUNTIME_EXTERNAL } from './build-fargate.mjs';

const [from, out] = process.argv.slice(2).map((p) => path.resolve(p));
if (!from || !out) throw new Error('usage: runtime-modules.mjs <node_modules> <out dir>');
const to = path.join(out, 'node_modules');

/** Re-bundled into their `main` file; their dependencies are not copied. */
const REBUNDLE = new Set(['dcmjs-codecs', 'jpeg-lossless-decoder-js']);

/** Dependencies that only a browser build or an install script loads (tesseract.js's browser gunzip
 * and IndexedDB cache; its donation banner). */
const SKIP = new Set(['zlibjs', 'idb-keyval', 'opencollective-postinstall']);

/** Files no code path of the worker loads (relative to the package folder). */
const DROP = [
  /\.(map|d\.ts|d\.cts|d\.mts|md|markdown|ts)$/i,
  /^(test|tests|docs?|examples?|\.github)\//,
  /^jpeg-lossless-decoder-js\/(src|release)\//,
  // tesseract.js 7's Node getCore() picks the core by WebAssembly support (relaxed SIMD, SIMD,
  // neither) and compares its boolean lstmOnly with OEM numbers, so it always loads a core WITHOUT
  // -lstm (checked: the *-lstm files absent, OCR runs). Node loads the .wasm beside each core's .js;
  // the .wasm.js copies (base64 inside) are for browsers.
  /^tesseract\.js-core\/tesseract-core(-simd|-relaxedsimd)?-lstm\.(js|wasm)$/,
  /^tesseract\.js-core\/.*\.wasm\.js$/,
  // ocr.ts reads langPath (4.0.0); the best_int models are not used.
  /^@tesseract\.js-data\/(eng|fra)\/4\.0\.0_best_int\//,
  // codecs.ts loads the decoders only (…wasm_decode.js + .wasm); openjph ships one build.
  /^@cornerstonejs\/codec-(charls|libjpeg-turbo-8bit|openjpeg)\/dist\/(?!\w+wasm_decode\.)[^/]+$/,
  /^dcmjs-codecs\/build\/index\.html$/,
  // tesseract.js: the browser builds.
  /^tesseract\.js\/dist\//,
];

async function exists(p) {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Where Node would find `name` from the package at `dir` (nested node_modules first). */
async function resolvePackage(name, dir) {
  for (let d = dir; d.startsWith(from); d = path.dirname(d)) {
    const candidate = path.join(d, d === from ? '' : 'node_modules', name);
    if (await exists(path.join(candidate, 'package.json'))) return candidate;
    if (d === from) break;
  }
  return undefined;
}

const copied = new Set();
async function copyPackage(dir) {
  if (copied.has(dir)) return;
  copied.add(dir);
  const rel = path.relative(from, dir);
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
  const dropped = (file) => DROP.some((re) => re.test(file) || re.test(`${pkg.name}/${file}`));
  await cp(dir, path.join(to, rel), {
    recursive: true,
    filter: (src) => {
      const file = path.relative(dir, src);
      if (file === '') return true;
      if (file === 'node_modules' || file.startsWith(`node_modules${path.sep}`)) return false;
      return !dropped(file) && !dropped(`${file}/`);
    },
  });
  if (REBUNDLE.has(pkg.name)) {
    await build({
      entryPoints: [path.join(dir, pkg.main)],
      outfile: path.join(to, rel, pkg.main),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20.19',
      minify: true,
      legalComments: 'none',
      allowOverwrite: true,
      logLevel: 'warning',
    });
    return;
  }
  const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
  for (const name of Object.keys(deps)) {
    if (SKIP.has(name)) continue;
    const found = await resolvePackage(name, dir);
    if (found) await copyPackage(found);
    else if (!pkg.optionalDependencies?.[name])
      throw new Error(`${pkg.name}: dependency ${name} not installed`);
  }
}

await rm(to, { recursive: true, force: true });
await mkdir(to, { recursive: true });
for (const name of RUNTIME_EXTERNAL) {
  const dir = await resolvePackage(name, from);
  if (!dir) throw new Error(`${name} is not installed in ${from}`);
  await copyPackage(dir);
}
const list = (await readdir(to)).sort();
process.stdout.write(
  `copied ${copied.size} packages to ${path.relative(process.cwd(), to) || to}: ${list.join(' ')}\n`,
);
