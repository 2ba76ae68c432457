import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from './s3-object-store.ts';
import { type LocalS3, startLocalS3 } from './testing/local-s3.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('S3ObjectStore on a local S3 server', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startLocalS3('raw');
  });
  afterAll(async () => {
    await s3.close();
  });

  it('heads an object with its size and an unquoted ETag', async () => {
    await s3.put('incoming/a b/ü+1.dcm', 'hello');
    const head = await s3.store.head('raw', 'incoming/a b/ü+1.dcm');
    expect(head).toEqual({ key: 'incoming/a b/ü+1.dcm', size: 5, etag: '5d41402abc4b2a76b9719d911017c592' });
  });

  it('answers undefined for a missing object on head and get', async () => {
    expect(await s3.store.head('raw', 'incoming/none.dcm')).toBeUndefined();
    expect(await s3.store.getIfExists('raw', 'incoming/none.dcm')).toBeUndefined();
  });

  it('writes once and then reports the object as already there', async () => {
    const once = { contentType: 'application/json', ifNoneMatch: true };
    expect(await s3.store.put('raw', 'jobs/j.json', bytes('{"a":1}'), once)).toBe(true);
    expect(await s3.store.put('raw', 'jobs/j.json', bytes('{"a":2}'), once)).toBe(false);
    expect(Buffer.from((await s3.store.getIfExists('raw', 'jobs/j.json'))!).toString()).toBe('{"a":1}');
  });

  it('throws NOT_FOUND from get when the object is missing', async () => {
    await expect(s3.store.get('raw', 'incoming/none.dcm')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('overwrites without ifNoneMatch', async () => {
    expect(await s3.store.put('raw', 'over/x', 'one')).toBe(true);
    expect(await s3.store.put('raw', 'over/x', 'two')).toBe(true);
    expect(Buffer.from(await s3.store.get('raw', 'over/x')).toString()).toBe('two');
  });

  it('treats a missing bucket on get as an error, not as a missing object', async () => {
    await expect(s3.store.getIfExists('no-such-bucket', 'x')).rejects.toMatchObject({
      name: 'ObjectStoreError',
    });
  });

  it('lists a prefix through the test helper', async () => {
    await s3.put('list/1', 'x');
    await s3.put('list/2', 'yy');
    const listed = await s3.list('list/');
    expect(listed.map((o) => [o.key, o.size])).toEqual([
      ['list/1', 1],
      ['list/2', 2],
    ]);
  });
});

describe('S3ObjectStore against SDK errors a local server cannot produce', () => {
  it('reports false when S3 refuses the write with 412 Precondition Failed', async () => {
    const client = new S3Client({ region: 'us-east-1' });
    const mock = mockClient(client);
    mock
      .on(HeadObjectCommand)
      .rejects(
        new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 } }),
      );
    mock.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      }),
    );
    const store = new S3ObjectStore({ client });

    expect(await store.put('raw', 'jobs/j.json', bytes('{}'), { ifNoneMatch: true })).toBe(false);
    expect(mock.commandCalls(PutObjectCommand)[0]?.args[0].input.IfNoneMatch).toBe('*');
  });

  it('turns an access error into ACCESS_DENIED with the SDK error name and no key', async () => {
    const client = new S3Client({ region: 'us-east-1' });
    mockClient(client)
      .on(HeadObjectCommand)
      .rejects(
        new S3ServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
        }),
      );

    await expect(new S3ObjectStore({ client }).head('raw', 'incoming/x.dcm')).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
      message: 'head: access denied (AccessDenied)',
    });
  });

  it('turns throttling and 503 into STORE_UNAVAILABLE, other 4xx into STORE_ERROR', async () => {
    const client = new S3Client({ region: 'us-east-1', maxAttempts: 1 });
    const mock = mockClient(client);
    const fail = (name: string, httpStatusCode: number) =>
      new S3ServiceException({
        name,
        $fault: httpStatusCode >= 500 ? 'server' : 'client',
        $metadata: { httpStatusCode },
      });
    const store = new S3ObjectStore({ client });

    mock.on(GetObjectCommand).rejectsOnce(fail('SlowDown', 503)).rejectsOnce(fail('InvalidRequest', 400));

    await expect(store.get('raw', 'a')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.get('raw', 'a')).rejects.toMatchObject({
      code: 'STORE_ERROR',
      message: 'get: storage error 400 (InvalidRequest)',
    });
  });
});
