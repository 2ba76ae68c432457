import net from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { awsClientConfig } from './client-config.ts';
import { S3ObjectStore } from './s3-object-store.ts';

/** A TCP server that accepts every connection, reads what comes, and never answers. */
async function silentServer(options: { trickle?: boolean } = {}) {
  const sockets = new Set<net.Socket>();
  let requests = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => {
      requests += 1;
      // The trickling variant answers one header byte at a time, never finishing the headers.
      if (options.trickle) {
        socket.write('HTTP/1.1 200 OK\r\n');
        const timer = setInterval(() => socket.write('x'), 100);
        socket.on('close', () => clearInterval(timer));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const client = (url: string, idleMs: number, requestMs = 60_000) =>
  new S3Client({
    ...awsClientConfig({ maxAttempts: 2, timeouts: { idleMs, requestMs } }),
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

let server: Awaited<ReturnType<typeof silentServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the shared AWS client configuration', () => {
  it('sets the standard retry strategy and every HTTP bound, with the request timeout thrown', () => {
    expect(awsClientConfig()).toEqual({
      maxAttempts: 5,
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: 3_000,
        socketTimeout: 10_000,
        requestTimeout: 300_000,
        throwOnRequestTimeout: true,
      },
    });
  });

  it('ends a call to an endpoint that accepts and never answers: retried, then STORE_UNAVAILABLE', async () => {
    server = await silentServer();
    const store = new S3ObjectStore({ client: client(server.url, 500) });
    await expect(store.get('raw', 'incoming/a.dcm')).rejects.toMatchObject({
      name: 'ObjectStoreError',
      code: 'STORE_UNAVAILABLE',
      message: 'get: storage unavailable (TimeoutError)',
    });
    expect(server.requests()).toBe(2);
  });

  it('ends a call whose answer trickles in without end (the request timeout is thrown, not logged)', async () => {
    server = await silentServer({ trickle: true });
    const store = new S3ObjectStore({ client: client(server.url, 60_000, 1_000) });
    await expect(store.head('raw', 'incoming/a.dcm')).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: 'head: storage unavailable (TimeoutError)',
    });
    expect(server.requests()).toBe(2);
  });
});
