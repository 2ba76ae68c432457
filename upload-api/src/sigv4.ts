/**
 * SigV4 for `execute-api` (@smithy/signature-v4, the signer inside the AWS SDK): the client signs
 * every API call with the caller's AWS credentials; the local server (local-server.ts) checks the
 * signature the way API Gateway does with IAM authorization.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The hash the signer needs, on node:crypto. */
class NodeSha256 {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {}
}

export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

function signer(credentials: AwsCredentials | (() => Promise<AwsCredentials>), region: string): SignatureV4 {
  return new SignatureV4({
    credentials,
    region,
    service: 'execute-api',
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: true,
  });
}

function toHttpRequest(request: SignableRequest) {
  const query: Record<string, string> = {};
  for (const [k, v] of request.url.searchParams) query[k] = v;
  return {
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    ...(request.url.port ? { port: Number(request.url.port) } : {}),
    path: request.url.pathname,
    query,
    headers: { ...request.headers, host: request.url.host },
    ...(request.body !== undefined ? { body: request.body } : {}),
  };
}

/** The headers to send: the request's own plus `authorization`, `x-amz-date` (and the session token). */
export async function signRequest(
  request: SignableRequest,
  credentials: AwsCredentials | (() => Promise<AwsCredentials>),
  region: string,
): Promise<Record<string, string>> {
  const signed = await signer(credentials, region).sign(toHttpRequest(request));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers as Record<string, string>)) {
    if (k.toLowerCase() !== 'host') headers[k] = v;
  }
  return headers;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/execute-api\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Checks a request's SigV4 signature against known secrets; resolves to the access key id that
 * signed it, or undefined when the signature is missing, unknown, malformed or wrong.
 */
export async function verifyRequest(
  request: SignableRequest,
  secrets: ReadonlyMap<string, string>,
  options: { readonly now: Date; readonly maxSkewMs?: number },
): Promise<string | undefined> {
  const m = AUTH.exec(request.headers.authorization ?? '');
  const date = request.headers['x-amz-date'];
  if (!m || !date || !/^\d{8}T\d{6}Z$/.test(date)) return undefined;
  const [, accessKeyId, , region, signedList, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) return undefined;
  const signingDate = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  if (Math.abs(options.now.getTime() - signingDate.getTime()) > (options.maxSkewMs ?? 15 * 60_000))
    return undefined;
  const headers: Record<string, string> = {};
  for (const name of signedList.split(';')) {
    if (name === 'host') continue;
    const value = request.headers[name];
    if (value === undefined) return undefined;
    headers[name] = value;
  }
  const again = await signer({ accessKeyId, secretAccessKey: secret }, region).sign(
    toHttpRequest({ ...request, headers }),
    { signingDate },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(
    String((again.headers as Record<string, string>).authorization),
  )?.[1];
  if (expected === undefined) return undefined;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(signature)) ? accessKeyId : undefined;
}
