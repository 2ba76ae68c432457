/**
 * The Lambda entry (`upload-api/src/lambda.ts`, export `handler`) behind an API Gateway HTTP API
 * with IAM authorization: API Gateway has verified the SigV4 signature before the function runs,
 * and the caller's principal ARN arrives in `requestContext.authorizer.iam.userArn`.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { parseLogLevel } from '@medimg/common';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { S3UploadStore } from './adapters/s3-upload-store.ts';
import { createUploadApi, type UploadApi } from './api.ts';
import { loadConfigFromEnv } from './config.ts';
import { createAuditLogger } from './logger.ts';

export function createApiFromEnv(env: NodeJS.ProcessEnv = process.env, client?: S3Client): UploadApi {
  const config = loadConfigFromEnv(env);
  return createUploadApi({
    store: new S3UploadStore({ rawBucket: config.rawBucket, ...(client ? { client } : {}) }),
    config,
    audit: createAuditLogger({ level: parseLogLevel(env.LOG_LEVEL) }),
  });
}

/** API Gateway HTTP API (payload format 2.0) to ApiRequest and back. */
export async function handleEvent(
  api: UploadApi,
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
): Promise<APIGatewayProxyStructuredResultV2> {
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  const caller = event.requestContext.authorizer?.iam?.userArn || undefined;
  const response = await api({ method: event.requestContext.http.method, path: event.rawPath, body, caller });
  return {
    statusCode: response.status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(response.body),
  };
}

let wired: UploadApi | undefined;

export async function handler(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
): Promise<APIGatewayProxyStructuredResultV2> {
  wired ??= createApiFromEnv();
  return handleEvent(wired, event);
}
