export { DEFAULT_MODEL_DIR, DEFAULT_PORT, readServerConfig } from './config.ts';
export { decodeModelInput } from './decode.ts';
export { ModelServerError, type ModelServerErrorCode } from './errors.ts';
export { EVAL_KINDS, type EvalSet, evalImagePng, readEvalSet } from './eval-set.ts';
export { operatingPoint, rocAuc } from './metrics.ts';
export {
  type LoadedModel,
  loadModel,
  MAX_RUN_BATCH,
  type ModelManifest,
  type ModelOutput,
  metadataOf,
} from './model.ts';
export { hottestBox } from './postprocess.ts';
export { type InProcessPredictor, loadInProcessPredictor, type PredictItem, predict } from './predict.ts';
export { attributesInside, ruleNamed } from './scope-example.ts';
export { type ModelServer, type ModelServerOptions, startModelServer } from './server.ts';

import { fileURLToPath } from 'node:url';

/** The committed reference model (model.json, model.onnx, eval-set.bin.gz), for tests and local runs. */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../artifacts', import.meta.url));
