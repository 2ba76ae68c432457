import { describe, expect, it } from 'vitest';
import { ConfigError, readWorkerConfig } from './config.ts';

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
