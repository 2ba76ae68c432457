/** Seeded, platform-independent randomness for the sample generator (no Date.now, no Math.random). */
import { createHash } from 'node:crypto';
import { mulberry32 } from '@medimg/common/testing/random.ts';

export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;
  /** Standard normal (Box-Muller). */
  readonly gaussian: () => number;
}

export function rng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    next,
    gaussian: () => {
      const u = Math.max(next(), 1e-12);
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}

/** A 32-bit seed derived from a label, so each image gets its own stream. */
export function seedOf(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('/')).digest().readUInt32LE(0);
}

/** A deterministic `2.25.<decimal>` UID from the seed and a label (128 bits of SHA-256, UUID v4/variant bits set). */
export function uidOf(...parts: (string | number)[]): string {
  const h = createHash('sha256')
    .update(`uid/${parts.join('/')}`)
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`).toString(10)}`;
}
