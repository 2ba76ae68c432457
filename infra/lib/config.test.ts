import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, readPipelineConfig } from './config.ts';

const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

function configError(values: Record<string, unknown>): ConfigError {
  try {
    readPipelineConfig(context(values));
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('readPipelineConfig', () => {
  it('returns the documented defaults when no context is set', () => {
    expect(readPipelineConfig(context({}))).toEqual(DEFAULT_CONFIG);
  });

  it('accepts numbers and lists as strings, the way `cdk -c key=value` passes them', () => {
    const config = readPipelineConfig(
      context({
        rawUploadExpirationDays: '14',
        findingsEmails: 'a@example.org, b@example.org',
        opsEmails: '["ops@example.org"]',
        workerCpu: '4096',
        criticalThresholds: '{"suspicious_lesion":0.7,"nodule":0.9}',
        deidProfile: 'safe-harbor',
      }),
    );
    expect(config.worker.deidProfile).toBe('safe-harbor');
    expect(config.storage.rawUploadExpirationDays).toBe(14);
    expect(config.findingsEmails).toEqual(['a@example.org', 'b@example.org']);
    expect(config.opsEmails).toEqual(['ops@example.org']);
    expect(config.worker.cpu).toBe(4096);
    expect(config.worker.criticalThresholds).toEqual({ suspicious_lesion: 0.7, nodule: 0.9 });
  });

  it('accepts JSON values from cdk.json', () => {
    const config = readPipelineConfig(
      context({
        inferenceMode: 'instance',
        inferenceInstanceCount: 2,
        uploadCorsOrigins: ['https://a.example.org'],
      }),
    );
    expect(config.inference).toEqual(expect.objectContaining({ mode: 'instance', instanceCount: 2 }));
    expect(config.storage.uploadCorsOrigins).toEqual(['https://a.example.org']);
  });

  it('names the key and the expected form when a value is invalid', () => {
    const e = configError({ rawUploadExpirationDays: 'soon' });
    expect(e.code).toBe('INFRA_CONFIG_INVALID');
    expect(e.key).toBe('rawUploadExpirationDays');
    expect(e.message).toContain('an integer from 1');
  });

  it.each([
    ['inferenceMode', 'gpu'],
    ['workerCpu', 3000],
    ['logRetentionDays', 100],
    ['findingsEmails', 'not-an-email'],
    ['uploadCorsOrigins', '*'],
    ['uploadCorsOrigins', 'http://plain-http.example.org'],
    ['criticalThresholds', '{"suspicious_lesion": 2}'],
    ['criticalThresholds', '{not json'],
    ['inferenceServerlessMemoryMb', 1500],
    ['stackName', 'has spaces'],
    ['deidProfile', 'hipaa'],
  ])('rejects %s = %j', (key, value) => {
    expect(configError({ [key]: value }).key).toBe(key);
  });

  it('requires Glacier to come at least 30 days after Standard-IA', () => {
    const e = configError({ processedInfrequentAccessAfterDays: 100, processedGlacierAfterDays: 120 });
    expect(e.key).toBe('processedGlacierAfterDays');
  });
});
