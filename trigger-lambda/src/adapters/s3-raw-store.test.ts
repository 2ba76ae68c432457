import { HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalS3, startLocalS3 } from '../testing/local-s3.ts';
import { S3RawStore } from './s3-raw-store.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('S3RawStore on a local S3 server', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startLocalS3('raw');
  });
  afterAll(async () => {
    await s3.close();
  });

  it('heads an object with its size and an unquoted ETag', async () => {
    await s3.put('incoming/a b/ü+1.dcm', 'hello');
    const head = await s3.store.headObject('raw', 'incoming/a b/ü+1.dcm');
    expect(head).toEqual({ size: 5, etag: '5d41402abc4b2a76b9719d911017c592' });
  });

  it('answers undefined for a missing object on head and get', async () => {
    expect(await s3.store.headObject('raw', 'incoming/none.dcm')).toBeUndefined();
    expect(await s3.store.getObject('raw', 'incoming/none.dcm')).toBeUndefined();
  });

  it('writes once and then reports the object as already there', async () => {
    expect(await s3.store.putObjectIfAbsent('raw', 'jobs/j.json', bytes('{"a":1}'), 'application/json')).toBe(
      true,
    );
    expect(await s3.store.putObjectIfAbsent('raw', 'jobs/j.json', bytes('{"a":2}'), 'application/json')).toBe(
      false,
    );
    expect(Buffer.from((await s3.store.getObject('raw', 'jobs/j.json'))!).toString()).toBe('{"a":1}');
  });

  it('lists a prefix', async () => {
    await s3.put('list/1', 'x');
    await s3.put('list/2', 'yy');
    const listed = await s3.store.listObjects('raw', 'list/');
    expect(listed.map((o) => [o.key, o.size])).toEqual([
      ['list/1', 1],
      ['list/2', 2],
    ]);
  });
});

describe('S3RawStore conditional put on AWS', () => {
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
    const store = new S3RawStore({ client });

    expect(await store.putObjectIfAbsent('raw', 'jobs/j.json', bytes('{}'), 'application/json')).toBe(false);
    expect(mock.commandCalls(PutObjectCommand)[0]?.args[0].input.IfNoneMatch).toBe('*');
  });

  it('turns an access error into STORE_FAILED', async () => {
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

    await expect(new S3RawStore({ client }).headObject('raw', 'incoming/x.dcm')).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: 'S3 head failed: AccessDenied',
    });
  });
});
