import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { classifyAwsError, httpStatusOf } from './errors.ts';

const sdkError = (name: string, httpStatusCode?: number) =>
  new S3ServiceException({ name, $fault: 'client', $metadata: httpStatusCode ? { httpStatusCode } : {} });

describe('classifyAwsError', () => {
  it('reads a 429 or a throttling error name as throttling, retryable', () => {
    expect(classifyAwsError(sdkError('Whatever', 429))).toMatchObject({
      kind: 'throttling',
      retryable: true,
    });
    expect(classifyAwsError(sdkError('ThrottlingException', 400))).toMatchObject({
      kind: 'throttling',
      retryable: true,
      name: 'ThrottlingException',
      status: 400,
    });
  });

  it('reads 503, timeouts and reset connections as transient, retryable', () => {
    expect(classifyAwsError(sdkError('ServiceUnavailable', 503))).toMatchObject({ kind: 'transient' });
    expect(
      classifyAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })),
    ).toMatchObject({
      kind: 'transient',
      retryable: true,
    });
    expect(classifyAwsError(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toMatchObject({
      kind: 'transient',
    });
  });

  it('reads other 5xx as server errors, retryable', () => {
    expect(classifyAwsError(sdkError('NotImplemented', 501))).toMatchObject({
      kind: 'server',
      retryable: true,
    });
  });

  it('reads 4xx and unknown throws as client errors that a retry will not fix', () => {
    expect(classifyAwsError(sdkError('AccessDenied', 403))).toMatchObject({
      kind: 'client',
      retryable: false,
    });
    expect(classifyAwsError('a string')).toEqual({ kind: 'client', retryable: false, name: 'unknown' });
    expect(classifyAwsError(undefined)).toEqual({ kind: 'client', retryable: false, name: 'unknown' });
  });

  it('reads the HTTP status only from SDK metadata', () => {
    expect(httpStatusOf(sdkError('X', 404))).toBe(404);
    expect(httpStatusOf({ status: 404 })).toBeUndefined();
    expect(httpStatusOf(null)).toBeUndefined();
  });
});
