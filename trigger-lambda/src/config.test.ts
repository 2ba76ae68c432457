import { describe, expect, it } from 'vitest';
import { loadConfigFromEnv, MANAGED_BATCH_ID_PATTERN, triggerConfig } from './config.ts';
import { ConfigError } from './errors.ts';

const env = {
  RAW_BUCKET: 'medimg-raw-123456789012',
  CLUSTER_ARN: 'arn:aws:ecs:us-east-1:123456789012:cluster/medimg',
  TASK_DEFINITION_ARN: 'arn:aws:ecs:us-east-1:123456789012:task-definition/medimg-worker:3',
  CONTAINER_NAME: 'worker',
  SUBNET_IDS: 'subnet-0a1b2c3d, subnet-4e5f6a7b',
  SECURITY_GROUP_IDS: 'sg-0123abcd',
  ASSIGN_PUBLIC_IP: 'DISABLED',
};

describe('loadConfigFromEnv', () => {
  it('reads the Lambda environment', () => {
    const config = loadConfigFromEnv(env);
    expect(config.ecs).toEqual({
      clusterArn: env.CLUSTER_ARN,
      taskDefinitionArn: env.TASK_DEFINITION_ARN,
      containerName: 'worker',
      subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
      securityGroupIds: ['sg-0123abcd'],
      assignPublicIp: 'DISABLED',
    });
    expect(config.trigger).toMatchObject({
      rawBucket: env.RAW_BUCKET,
      keysUrlEncoded: true,
      managedBatchIdPattern: MANAGED_BATCH_ID_PATTERN,
    });
  });

  it('reads LOG_LEVEL, info by default', () => {
    expect(loadConfigFromEnv(env).logLevel).toBe('info');
    expect(loadConfigFromEnv({ ...env, LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
  });

  it('defaults ASSIGN_PUBLIC_IP to DISABLED and reads the key-encoding switch', () => {
    const { ASSIGN_PUBLIC_IP: _omit, ...rest } = env;
    const config = loadConfigFromEnv({ ...rest, S3_EVENT_KEYS_URL_ENCODED: 'false' });
    expect(config.ecs?.assignPublicIp).toBe('DISABLED');
    expect(config.trigger.keysUrlEncoded).toBe(false);
  });

  it.each([
    ['SUBNET_IDS', { SUBNET_IDS: undefined }],
    ['SUBNET_IDS', { SUBNET_IDS: 'vpc-123' }],
    ['SECURITY_GROUP_IDS', { SECURITY_GROUP_IDS: ' , ' }],
    ['ASSIGN_PUBLIC_IP', { ASSIGN_PUBLIC_IP: 'yes' }],
    ['RAW_BUCKET', { RAW_BUCKET: 'Not_A_Bucket' }],
    ['CONTAINER_NAME', { CONTAINER_NAME: '' }],
    ['MANAGED_BATCH_ID_PATTERN', { MANAGED_BATCH_ID_PATTERN: '([' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
  ])('fails fast naming %s', (variable, change) => {
    const err = (() => {
      try {
        loadConfigFromEnv({ ...env, ...change });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', variable });
    expect((err as Error).message).toContain(variable);
  });
});

describe('triggerConfig', () => {
  it('fills defaults and checks the bucket name', () => {
    expect(triggerConfig({ rawBucket: 'raw' })).toMatchObject({ keysUrlEncoded: true, jobConcurrency: 4 });
    expect(() => triggerConfig({ rawBucket: 'x' })).toThrow(ConfigError);
    expect(() => triggerConfig({ rawBucket: 'raw', jobConcurrency: 0 })).toThrow(/jobConcurrency/);
  });
});
