/**
 * sharp (libvips), loaded on first use and through its CommonJS build (decision 018, part 3):
 * - on first use, so that the main thread of `medimg process` loads it only when it scans pixels
 *   for text, annotates a report or renders without a pool (its render threads do the rendering);
 * - CommonJS, because its ES module build costs about twice the CPU to load (Node then parses the
 *   CommonJS sources it imports, semver's forty files among them, for their export names), and
 *   every render thread loads it.
 * Every module of the worker takes sharp from here, so that a thread never loads both builds.
 */
import { createRequire } from 'node:module';
import type sharp from 'sharp';

let loaded: typeof sharp | undefined;

export function loadSharp(): typeof sharp {
  loaded ??= createRequire(import.meta.url)('sharp') as typeof sharp;
  return loaded;
}
