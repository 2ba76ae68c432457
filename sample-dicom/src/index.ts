export {
  CT_STUDY,
  ctLesionSlices,
  generateSamples,
  SAMPLE_ROOT,
  type SampleFile,
  SEED,
  writeSamples,
} from './generate.ts';
export * from './phantoms.ts';
export { type Rng, rng, seedOf, uidOf } from './random.ts';
