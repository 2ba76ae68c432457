import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBounded } from '@medimg/common/testing/child.ts';
import { describe, expect, it } from 'vitest';
import { ConfigError, readWorkerConfig } from './config.ts';

const env = {
  JOB_SPEC_URI: 's3://raw/jobs/job-0123456789abcdef01234567.json',
  PROCESSED_BUCKET: 'processed',
  LINKAGE_BUCKET: 'linkage',
  SAGEMAKER_ENDPOINT_NAME: 'medimg-anomaly',
  FINDINGS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:findings',
};

const configErrorOf = (change: Record<string, string>): unknown => {
  try {
    readWorkerConfig({ ...env, ...change });
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('readWorkerConfig', () => {
  it('reads every variable once, with defaults for the optional ones', () => {
    const config = readWorkerConfig(env);

    expect(config).toMatchObject({
      S3_FORCE_PATH_STYLE: 'false',
      MEDIMG_MODE: 'production',
      LOG_LEVEL: 'info',
      BURNED_IN_POLICY: 'quarantine',
    });
    expect(config.MEDIMG_FAULT_EXIT_AFTER_STEP).toBeUndefined();
    expect(config.deidOptions.burnedInPolicy).toBe('quarantine');
  });

  it('merges DEID_OPTIONS with BURNED_IN_POLICY into validated de-identification options', () => {
    const config = readWorkerConfig({
      ...env,
      DEID_OPTIONS: JSON.stringify({ retainDeviceIdentity: false }),
      BURNED_IN_POLICY: 'blank',
      S3_FORCE_PATH_STYLE: 'true',
      MEDIMG_MODE: 'local',
      MEDIMG_FAULT_EXIT_AFTER_STEP: 'store',
    });

    expect(config.deidOptions).toMatchObject({ retainDeviceIdentity: false, burnedInPolicy: 'blank' });
    expect(config).toMatchObject({ S3_FORCE_PATH_STYLE: 'true', MEDIMG_MODE: 'local' });
    expect(config.MEDIMG_FAULT_EXIT_AFTER_STEP).toBe('store');
  });

  it('takes BURNED_IN_POLICY=redact with the text-scan limits of DEID_OPTIONS', () => {
    const config = readWorkerConfig({
      ...env,
      BURNED_IN_POLICY: 'redact',
      DEID_OPTIONS: JSON.stringify({ textScanMaxPixels: 1_000_000, textScanSkipModalities: ['CT'] }),
    });

    expect(config.deidOptions).toMatchObject({
      burnedInPolicy: 'redact',
      textScanMaxPixels: 1_000_000,
      textScanSkipModalities: ['CT'],
    });
  });

  it.each([
    ['BURNED_IN_POLICY', 'ocr'],
    ['DEID_OPTIONS', '{"textScanTimeoutMs":10}'],
    ['LOG_LEVEL', 'verbose'],
    ['S3_FORCE_PATH_STYLE', 'yes'],
    ['MEDIMG_MODE', 'dev'],
    ['MEDIMG_FAULT_EXIT_AFTER_STEP', 'upload'],
    ['DEID_OPTIONS', '{not json'],
    ['DEID_OPTIONS', '{"retainDeviceIdentity":"maybe"}'],
  ])('refuses %s=%s with a ConfigError naming the variable, not the value', (variable, value) => {
    const err = configErrorOf({ [variable]: value });

    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(variable);
    expect((err as Error).message).not.toContain(value);
  });
});

describe('readWorkerConfig messages (read through parseEnv, as every deployable reads its environment)', () => {
  it('names every bad variable in schema order, with the place inside a JSON value, never the value', () => {
    const err = configErrorOf({
      CRITICAL_THRESHOLDS: JSON.stringify({ nodule: 7 }),
      LOG_LEVEL: 'verbose',
      JOB_ATTEMPT: '0',
    });

    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toBe(
      'invalid worker configuration: CRITICAL_THRESHOLDS.nodule: Too big: expected number to be <=1; ' +
        'LOG_LEVEL: Invalid option: expected one of "debug"|"info"|"warn"|"error"; ' +
        'JOB_ATTEMPT: Too small: expected number to be >=1',
    );
    expect((err as Error).message).not.toContain('verbose');
  });

  it('says a required variable is missing', () => {
    const { PROCESSED_BUCKET: _, ...without } = env;

    expect(() => readWorkerConfig(without)).toThrow(
      'invalid worker configuration: PROCESSED_BUCKET: Invalid input: expected string, received undefined',
    );
  });
});

describe('the worker entry point', () => {
  it('exits 78 (configuration error) on an invalid LOG_LEVEL, before touching any service', () => {
    const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');

    const run = runBounded(process.execPath, ['--import', 'tsx', main], {
      name: 'the worker entry point',
      timeoutMs: 50_000,
      exit: 'any',
      env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'loud' },
    });

    expect(run.status).toBe(78);
    expect(run.stdout + run.stderr).toContain('LOG_LEVEL');
  });
});

const BASE = {
  JOB_SPEC_URI: 's3://raw/jobs/job-1.json',
  PROCESSED_BUCKET: 'processed',
  LINKAGE_BUCKET: 'linkage',
  SAGEMAKER_ENDPOINT_NAME: 'endpoint',
  FINDINGS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:findings',
};

describe('worker configuration: de-identification profile and decoded-size budget', () => {
  it('defaults to the research profile and a 256 MiB decoded-size budget', () => {
    const config = readWorkerConfig(BASE);
    expect(config.DEID_PROFILE).toBe('research');
    expect(config.MAX_DECODED_BYTES).toBe(256 * 1024 * 1024);
  });

  it('accepts the safe-harbor profile and a budget in bytes', () => {
    const config = readWorkerConfig({ ...BASE, DEID_PROFILE: 'safe-harbor', MAX_DECODED_BYTES: '67108864' });
    expect(config.DEID_PROFILE).toBe('safe-harbor');
    expect(config.deidOptions).toMatchObject({ retainDeviceIdentity: false, aggregateAgesOver89: true });
    expect(config.MAX_DECODED_BYTES).toBe(64 * 1024 * 1024);
  });

  it('refuses an unknown profile, naming the variable', () => {
    expect(() => readWorkerConfig({ ...BASE, DEID_PROFILE: 'hipaa' })).toThrow(ConfigError);
    expect(() => readWorkerConfig({ ...BASE, DEID_PROFILE: 'hipaa' })).toThrow(/DEID_PROFILE/);
  });

  it('refuses a budget under 1 MiB, naming the variable', () => {
    expect(() => readWorkerConfig({ ...BASE, MAX_DECODED_BYTES: '1000' })).toThrow(/MAX_DECODED_BYTES/);
  });
});
