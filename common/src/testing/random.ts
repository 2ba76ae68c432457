/**
 * The one seeded random source of the test data generators (sample DICOM studies, burned-in text
 * images, bench corpora, fuzz mutations): the same seed gives the same sequence on every platform
 * and Node version, so that generated files and inputs are byte-identical from run to run. Not for
 * anything secret (keys, ids): use node:crypto there.
 */

/** mulberry32: a small 32-bit PRNG; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
