import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, readPipelineConfig } from './config.ts';

const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

function configError(values: Record<string, unknown>, recipients = false): ConfigError {
  try {
    readPipelineConfig(context(recipients ? { allowNoRecipients: true, ...values } : values));
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('readPipelineConfig', () => {
  it('returns the documented defaults when only the recipients are set', () => {
    const emails = { findingsEmails: 'rad@example.org', opsEmails: 'ops@example.org' };
    expect(readPipelineConfig(context(emails))).toEqual({
      ...DEFAULT_CONFIG,
      findingsEmails: ['rad@example.org'],
      opsEmails: ['ops@example.org'],
    });
  });

  it('refuses a stack without findings or operations recipients unless allowNoRecipients is set', () => {
    expect(configError({ opsEmails: 'ops@example.org' }).key).toBe('findingsEmails');
    expect(configError({ findingsEmails: 'rad@example.org' }).key).toBe('opsEmails');
    expect(configError({}).message).toContain('allowNoRecipients=true');
    expect(readPipelineConfig(context({ allowNoRecipients: 'true' })).allowNoRecipients).toBe(true);
  });

  it('reserves no trigger concurrency by default and bounds it by the event source instead', () => {
    const config = readPipelineConfig(context({ allowNoRecipients: true }));
    expect(config.trigger.reservedConcurrency).toBeUndefined();
    expect(config.trigger.maxConcurrency).toBe(5);
    expect(
      readPipelineConfig(context({ allowNoRecipients: true, triggerReservedConcurrency: '1' })).trigger,
    ).toEqual(expect.objectContaining({ reservedConcurrency: 1 }));
  });

  it('matches the serverless endpoint concurrency to the task cap unless it is set', () => {
    const config = readPipelineConfig(context({ allowNoRecipients: true, maxRunningTasks: 25 }));
    expect(config.jobs.maxRunningTasks).toBe(25);
    expect(config.inference.serverlessMaxConcurrency).toBe(25);
    const set = readPipelineConfig(
      context({ allowNoRecipients: true, maxRunningTasks: 25, inferenceServerlessMaxConcurrency: 8 }),
    );
    expect(set.inference.serverlessMaxConcurrency).toBe(8);
  });

  it('accepts numbers and lists as strings, the way `cdk -c key=value` passes them', () => {
    const config = readPipelineConfig(
      context({
        rawUploadExpirationDays: '14',
        findingsEmails: 'a@example.org, b@example.org',
        allowNoRecipients: true,
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
        allowNoRecipients: true,
        inferenceMode: 'instance',
        inferenceInstanceCount: 2,
        uploadCorsOrigins: ['https://a.example.org'],
      }),
    );
    expect(config.inference).toEqual(expect.objectContaining({ mode: 'instance', instanceCount: 2 }));
    expect(config.storage.uploadCorsOrigins).toEqual(['https://a.example.org']);
  });

  it('names the key and the expected form when a value is invalid', () => {
    const e = configError({ rawUploadExpirationDays: 'soon' }, true);
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
    ['triggerMaxConcurrency', 1],
    ['adminRoleArn', 'arn:aws:iam::123456789012:user/alice'],
    ['reidentifierPrincipalArns', 'alice'],
    ['allowNoRecipients', 'maybe'],
    ['maxTaskAttempts', 0],
    ['deidProfile', 'hipaa'],
  ])('rejects %s = %j', (key, value) => {
    expect(configError({ [key]: value }, true).key).toBe(key);
  });

  it('requires Glacier to come at least 30 days after Standard-IA', () => {
    const e = configError({ processedInfrequentAccessAfterDays: 100, processedGlacierAfterDays: 120 }, true);
    expect(e.key).toBe('processedGlacierAfterDays');
  });
});
