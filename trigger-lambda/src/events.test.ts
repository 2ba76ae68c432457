import { describe, expect, it } from 'vitest';
import { decodeEventKey, isObjectCreated, parseMessageBody } from './events.ts';
import { encodeKeyLikeS3, fixtureBody, s3NotificationBody, snsWrappedBody } from './testing/events.ts';

const encoded = { keysUrlEncoded: true };

describe('decodeEventKey', () => {
  it('turns "+" into a space and "%2B" into a plus, and decodes UTF-8', () => {
    expect(decodeEventKey('incoming/loose+study/CT+scan%2B1+%C3%A9t%C3%A9.dcm', true)).toBe(
      'incoming/loose study/CT scan+1 été.dcm',
    );
  });

  it('leaves the key as it is when keys are not URL-encoded (s3rver)', () => {
    expect(decodeEventKey('incoming/a b/c+d%2B.dcm', false)).toBe('incoming/a b/c+d%2B.dcm');
  });

  it('rejects broken percent-encoding with EVENT_INVALID', () => {
    expect(() => decodeEventKey('incoming/a%E9%/b.dcm', true)).toThrow(
      expect.objectContaining({ code: 'EVENT_INVALID' }),
    );
  });

  it('round-trips keys encoded the way S3 encodes them', () => {
    for (const key of ['incoming/x/ü ñ+ 中文.dcm', 'incoming/a&b=c?d#e/%.dcm', 'incoming/plain/1.dcm']) {
      expect(decodeEventKey(encodeKeyLikeS3(key), true)).toBe(key);
    }
  });
});

describe('parseMessageBody', () => {
  it('reads the object of the real S3 notification fixture', () => {
    expect(parseMessageBody(fixtureBody('s3-object-created.json'), encoded)).toEqual({
      kind: 's3',
      events: [
        {
          eventName: 'ObjectCreated:Put',
          bucket: 'raw',
          key: 'incoming/loose study/CT scan+1 été.dcm',
          size: 1024,
          etag: 'd41d8cd98f00b204e9800998ecf8427e',
          versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
        },
      ],
    });
  });

  it('recognises the s3:TestEvent', () => {
    expect(parseMessageBody(fixtureBody('s3-test-event.json'), encoded)).toEqual({ kind: 'test' });
  });

  it('unwraps an SNS notification', () => {
    const parsed = parseMessageBody(
      snsWrappedBody(s3NotificationBody({ key: 'incoming/a/b c.dcm' })),
      encoded,
    );
    expect(parsed).toMatchObject({ kind: 's3', events: [{ key: 'incoming/a/b c.dcm' }] });
  });

  it('unwraps an SNS-wrapped s3:TestEvent as a test event', () => {
    expect(parseMessageBody(snsWrappedBody(fixtureBody('s3-test-event.json')), encoded)).toEqual({
      kind: 'test',
    });
  });

  it('ignores SNS messages that are not notifications', () => {
    expect(
      parseMessageBody(JSON.stringify({ Type: 'SubscriptionConfirmation', Message: 'x' }), encoded),
    ).toEqual({
      kind: 'ignored',
    });
  });

  it('keeps removal events so the caller can ignore them', () => {
    const parsed = parseMessageBody(fixtureBody('s3-object-removed.json'), encoded);
    expect(parsed.kind === 's3' && parsed.events.map(isObjectCreated)).toEqual([false]);
  });

  it.each([
    ['not JSON', 'hello'],
    ['JSON of another shape', '{"Records":[{"eventName":"ObjectCreated:Put"}]}'],
    ['an SNS notification with a non-JSON message', JSON.stringify({ Type: 'Notification', Message: 'x' })],
  ])('rejects %s with EVENT_INVALID and no key in the message', (_what, body) => {
    expect(() => parseMessageBody(body, encoded)).toThrow(expect.objectContaining({ code: 'EVENT_INVALID' }));
  });
});
