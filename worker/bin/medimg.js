#!/usr/bin/env node
// `medimg`: runs the built CLI (dist/medimg.js, plain JavaScript). In a checkout, build it first:
// `npm run build` at the repository root (or `npm run build -w @medimg/worker`).
import { existsSync } from 'node:fs';

const built = new URL('../dist/medimg.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('medimg: the CLI is not built; run `npm run build` in the repository first\n');
  process.exit(70);
}
await import(built.href);
