/**
 * The upload API on a local HTTP port, for the demo and the end-to-end tests: the same core as the
 * Lambda, with SigV4 checked here against known local credentials (API Gateway does it in AWS).
 * The caller is `arn:aws:iam::000000000000:user/<access key id>`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UploadApi } from './api.ts';
import { verifyRequest } from './sigv4.ts';

export interface LocalUploadApi {
  readonly url: string;
  close(): Promise<void>;
}

export const LOCAL_ACCOUNT = '000000000000';

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startLocalUploadApi(options: {
  readonly api: UploadApi;
  /** Access key id -> secret access key of the callers this server accepts. */
  readonly credentials: Readonly<Record<string, string>>;
  readonly port?: number;
  readonly host?: string;
  /** Bodies above this are refused before they reach the API (API Gateway: 10 MB). */
  readonly maxBodyBytes?: number;
}): Promise<LocalUploadApi> {
  const secrets = new Map(Object.entries(options.credentials));
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const body = await readBody(req, options.maxBodyBytes ?? 10 * 1024 * 1024);
      if (body === undefined) {
        send(413, { error: { code: 'REQUEST_TOO_LARGE', message: 'the request body is too large' } });
        return;
      }
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? host}`);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const accessKeyId = await verifyRequest(
        { method: req.method ?? 'GET', url, headers, body: body === '' ? undefined : body },
        secrets,
        { now: new Date() },
      );
      const answer = await options.api({
        method: req.method ?? 'GET',
        path: url.pathname,
        body: body === '' ? undefined : body,
        caller: accessKeyId === undefined ? undefined : `arn:aws:iam::${LOCAL_ACCOUNT}:user/${accessKeyId}`,
      });
      send(answer.status, answer.body);
    })().catch(() => send(500, { error: { code: 'INTERNAL', message: 'internal error' } }));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
