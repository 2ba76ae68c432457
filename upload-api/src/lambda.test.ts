import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ApiRequest } from './api.ts';
import { loadConfigFromEnv } from './config.ts';
import { handleEvent } from './lambda.ts';

/** An HTTP API (payload 2.0) event with IAM authorization, as API Gateway sends it (fields trimmed). */
function event(authorizer: unknown, body?: string): APIGatewayProxyEventV2WithIAMAuthorizer {
  return {
    version: '2.0',
    routeKey: 'POST /batches',
    rawPath: '/batches',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    isBase64Encoded: true,
    ...(body !== undefined ? { body: Buffer.from(body).toString('base64') } : {}),
    requestContext: {
      accountId: '111122223333',
      apiId: 'a1b2c3',
      domainName: 'a1b2c3.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'a1b2c3',
      http: {
        method: 'POST',
        path: '/batches',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.9',
        userAgent: 'medimg',
      },
      requestId: 'req-1',
      routeKey: 'POST /batches',
      stage: '$default',
      time: '01/Dec/2026:07:00:00 +0000',
      timeEpoch: 0,
      authorizer: authorizer as never,
    },
  } as APIGatewayProxyEventV2WithIAMAuthorizer;
}

describe('the Lambda adapter', () => {
  it('hands the IAM caller, the method, the path and the decoded body to the API', async () => {
    const seen: ApiRequest[] = [];
    const api = async (request: ApiRequest) => {
      seen.push(request);
      return { status: 201, body: { ok: true } };
    };
    const userArn = 'arn:aws:sts::111122223333:assumed-role/medimg-uploader/site-lyon';

    const res = await handleEvent(
      api,
      event({ iam: { userArn, accountId: '111122223333' } }, '{"files":[]}'),
    );

    expect(seen).toEqual([{ method: 'POST', path: '/batches', body: '{"files":[]}', caller: userArn }]);
    expect(res).toMatchObject({ statusCode: 201, body: '{"ok":true}' });
    expect(res.headers).toMatchObject({ 'content-type': 'application/json' });
  });

  it('passes no caller when the event has no IAM identity', async () => {
    const seen: ApiRequest[] = [];
    await handleEvent(async (r) => {
      seen.push(r);
      return { status: 401, body: {} };
    }, event(undefined));

    expect(seen[0]?.caller).toBeUndefined();
  });
});

describe('the Lambda configuration', () => {
  const base = { RAW_BUCKET: 'medimg-raw', PROCESSED_BUCKET: 'medimg-processed' };

  it('takes the defaults: 15-minute URLs, 64 MiB multipart threshold', () => {
    const config = loadConfigFromEnv(base);

    expect(config.limits).toMatchObject({ urlExpirySeconds: 900, multipartThresholdBytes: 64 * 1024 * 1024 });
  });

  it('refuses URLs that would live longer than 15 minutes, naming the variable', () => {
    expect(() => loadConfigFromEnv({ ...base, URL_EXPIRY_SECONDS: '3600' })).toThrow(/URL_EXPIRY_SECONDS/);
  });

  it('refuses parts smaller than S3 accepts', () => {
    expect(() => loadConfigFromEnv({ ...base, PART_SIZE_BYTES: '1024' })).toThrow(/PART_SIZE_BYTES/);
  });
});
