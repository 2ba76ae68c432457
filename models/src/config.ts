import { PAYLOAD_LIMIT_REALTIME, PAYLOAD_LIMIT_SERVERLESS } from '@medimg/common/inference.ts';
import { ModelServerError } from './errors.ts';
import type { ModelServerOptions } from './server.ts';

export const DEFAULT_MODEL_DIR = '/opt/ml/model';
export const DEFAULT_PORT = 8080;

/**
 * Server options from the environment, validated once at start-up:
 * - SAGEMAKER_BIND_TO_PORT: port (default 8080); HOST: interface (default 0.0.0.0)
 * - MODEL_DIR: folder with model.json and the ONNX file (default /opt/ml/model)
 * - MAX_PAYLOAD_BYTES, else SAGEMAKER_MAX_PAYLOAD_IN_MB, else 4 MB when SERVERLESS=true, else 6 MB
 * - REPORTING_FLOOR: findings floor in [0, 1] (default: model.json's reportingFloor)
 * - SAGEMAKER_MODEL_SERVER_TIMEOUT: seconds to receive a request, 1 to 59 (default 50)
 * - INFERENCE_THREADS: onnxruntime intra-op threads, 1 to 64 (default 1)
 */
export function readServerConfig(env: NodeJS.ProcessEnv): ModelServerOptions {
  const port = intVar(env, 'SAGEMAKER_BIND_TO_PORT', 0, 65535) ?? DEFAULT_PORT;
  const serverless = boolVar(env, 'SERVERLESS');
  const payloadMb = numVar(env, 'SAGEMAKER_MAX_PAYLOAD_IN_MB', 0.001, 100);
  const maxPayloadBytes =
    intVar(env, 'MAX_PAYLOAD_BYTES', 1, 100 * 1024 * 1024) ??
    (payloadMb !== undefined ? Math.floor(payloadMb * 1024 * 1024) : undefined) ??
    (serverless ? PAYLOAD_LIMIT_SERVERLESS : PAYLOAD_LIMIT_REALTIME);
  const timeoutS = intVar(env, 'SAGEMAKER_MODEL_SERVER_TIMEOUT', 1, 59);
  const reportingFloor = numVar(env, 'REPORTING_FLOOR', 0, 1);
  const threads = intVar(env, 'INFERENCE_THREADS', 1, 64);
  return {
    port,
    host: env.HOST || '0.0.0.0',
    modelDir: env.MODEL_DIR || DEFAULT_MODEL_DIR,
    maxPayloadBytes,
    ...(timeoutS !== undefined && { requestTimeoutMs: timeoutS * 1000 }),
    ...(reportingFloor !== undefined && { reportingFloor }),
    ...(threads !== undefined && { threads }),
  };
}

function numVar(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ModelServerError('CONFIG_INVALID', `${name} must be a number from ${min} to ${max}`);
  }
  return value;
}

function intVar(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const value = numVar(env, name, min, max);
  if (value !== undefined && !Number.isInteger(value)) {
    throw new ModelServerError('CONFIG_INVALID', `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function boolVar(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new ModelServerError('CONFIG_INVALID', `${name} must be true or false`);
}
