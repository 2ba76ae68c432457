/**
 * What the build (worker/scripts/build-cli.mjs, esbuild `define`) tells the bundled CLI: its version,
 * and that the reference model travels beside it in `model/`. Unset when run from the sources.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

declare const MEDIMG_BUILD: { readonly version: string } | undefined;

const build = typeof MEDIMG_BUILD === 'undefined' ? undefined : MEDIMG_BUILD;

export function cliVersion(): string {
  if (build) return build.version;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The reference model's folder: beside the bundle when built, in the models workspace otherwise. */
export async function defaultModelDir(): Promise<string> {
  if (build) return fileURLToPath(new URL('./model/', import.meta.url));
  const { ARTIFACTS_DIR } = await import('@medimg/models');
  return ARTIFACTS_DIR;
}
