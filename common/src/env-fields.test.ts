import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envFields, parseEnv } from './env-fields.ts';

const schema = z.object({
  BUCKET: envFields.bucket(),
  COUNT: envFields.int(1, 10).default(3),
  IDS: envFields.csv('ids (id-...)', /^id-\d+$/),
  ON: envFields.flag(false),
  LOG_LEVEL: envFields.logLevel(),
});
const fail = (problems: readonly { variable: string; expected: string }[]) =>
  new Error(problems.map((p) => `${p.variable}: ${p.expected}`).join('; '));

describe('parseEnv with the shared env fields', () => {
  it('reads and converts a valid environment, with defaults', () => {
    expect(parseEnv(schema, { BUCKET: 'my-bucket', IDS: 'id-1, id-2,', ON: 'true' }, fail)).toEqual({
      BUCKET: 'my-bucket',
      COUNT: 3,
      IDS: ['id-1', 'id-2'],
      ON: true,
      LOG_LEVEL: 'info',
    });
  });

  it('names every wrong variable and its expected form, never the value', () => {
    const secret = 'Bad_Bucket_Secret';
    let message = '';
    try {
      parseEnv(schema, { BUCKET: secret, COUNT: '11', IDS: 'x-1', ON: 'yes', LOG_LEVEL: 'loud' }, fail);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      'BUCKET: expected an S3 bucket name; COUNT: expected an integer from 1 to 10; ' +
        'IDS: expected a comma-separated list of ids (id-...); ON: expected true or false; ' +
        'LOG_LEVEL: expected debug, info, warn or error',
    );
    expect(message).not.toContain(secret);
  });

  it('says a missing variable is missing through its expected form', () => {
    expect(() => parseEnv(schema, { IDS: 'id-1' }, fail)).toThrow('BUCKET: expected an S3 bucket name');
    expect(() => parseEnv(schema, { BUCKET: 'b-1', IDS: ' , ' }, fail)).toThrow(
      'IDS: expected at least one of ids (id-...)',
    );
  });
});
