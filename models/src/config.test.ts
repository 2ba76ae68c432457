import { PAYLOAD_LIMIT_REALTIME, PAYLOAD_LIMIT_SERVERLESS } from '@medimg/common/inference.ts';
import { describe, expect, it } from 'vitest';
import { readServerConfig } from './config.ts';

describe('readServerConfig', () => {
  it('defaults to the SageMaker contract: port 8080, /opt/ml/model, 6 MB', () => {
    expect(readServerConfig({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      modelDir: '/opt/ml/model',
      maxPayloadBytes: PAYLOAD_LIMIT_REALTIME,
    });
  });

  it('honours SAGEMAKER_BIND_TO_PORT and MODEL_DIR', () => {
    const config = readServerConfig({ SAGEMAKER_BIND_TO_PORT: '9001', MODEL_DIR: '/models/x' });
    expect(config.port).toBe(9001);
    expect(config.modelDir).toBe('/models/x');
  });

  it('uses the serverless limit when SERVERLESS=true', () => {
    expect(readServerConfig({ SERVERLESS: 'true' }).maxPayloadBytes).toBe(PAYLOAD_LIMIT_SERVERLESS);
  });

  it('prefers MAX_PAYLOAD_BYTES, then SAGEMAKER_MAX_PAYLOAD_IN_MB', () => {
    expect(readServerConfig({ SAGEMAKER_MAX_PAYLOAD_IN_MB: '2', SERVERLESS: 'true' }).maxPayloadBytes).toBe(
      2 * 1024 * 1024,
    );
    expect(
      readServerConfig({ MAX_PAYLOAD_BYTES: '1000', SAGEMAKER_MAX_PAYLOAD_IN_MB: '2' }).maxPayloadBytes,
    ).toBe(1000);
  });

  it('reads the reporting floor, the request timeout and threads', () => {
    const config = readServerConfig({
      REPORTING_FLOOR: '0.3',
      SAGEMAKER_MODEL_SERVER_TIMEOUT: '30',
      INFERENCE_THREADS: '2',
    });
    expect(config).toMatchObject({ reportingFloor: 0.3, requestTimeoutMs: 30_000, threads: 2 });
  });

  it.each([
    ['SAGEMAKER_BIND_TO_PORT', 'http'],
    ['SAGEMAKER_BIND_TO_PORT', '70000'],
    ['MAX_PAYLOAD_BYTES', '1.5'],
    ['REPORTING_FLOOR', '2'],
    ['SERVERLESS', 'maybe'],
    ['SAGEMAKER_MODEL_SERVER_TIMEOUT', '120'],
  ])('fails fast naming %s when it is %s', (name, value) => {
    expect(() => readServerConfig({ [name]: value })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => readServerConfig({ [name]: value })).toThrow(name);
  });
});
