import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeidConfigError, loadDeidKey } from './key.ts';

const HEX = 'ab'.repeat(32);
const dir = mkdtempSync(path.join(tmpdir(), 'deid-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadDeidKey', () => {
  it('reads a hex DEID_KEY outside production', async () => {
    const key = await loadDeidKey({ DEID_KEY: HEX }, { production: false });
    expect(key.length).toBe(32);
    expect(key[0]).toBe(0xab);
  });

  it('reads a base64 key from DEID_KEY_FILE', async () => {
    const file = path.join(dir, 'key');
    writeFileSync(file, `${Buffer.alloc(48, 7).toString('base64')}\n`);
    expect((await loadDeidKey({ DEID_KEY_FILE: file }, { production: true })).length).toBe(48);
  });

  it('prefers DEID_KEY_SECRET_ARN through the injected fetcher', async () => {
    const arns: string[] = [];
    const key = await loadDeidKey(
      { DEID_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:k', DEID_KEY: 'cd'.repeat(32) },
      {
        production: true,
        secretsFetcher: async (arn) => {
          arns.push(arn);
          return HEX;
        },
      },
    );
    expect(arns).toEqual(['arn:aws:secretsmanager:eu-west-1:1:secret:k']);
    expect(key[0]).toBe(0xab);
  });

  it('refuses a missing key, naming the variables, with no default', async () => {
    await expect(loadDeidKey({}, { production: false })).rejects.toMatchObject({
      code: 'DEID_KEY_MISSING',
      message: expect.stringContaining('DEID_KEY_FILE'),
    });
  });

  it('refuses a short key and never echoes it', async () => {
    const err = await loadDeidKey({ DEID_KEY: 'abcd'.repeat(4) }, { production: false }).catch((e) => e);
    expect(err).toBeInstanceOf(DeidConfigError);
    expect(err.code).toBe('DEID_KEY_INVALID');
    expect(err.message).toContain('DEID_KEY');
    expect(err.message).not.toContain('abcd');
  });

  it('refuses DEID_KEY in production, and a secret ARN without a fetcher', async () => {
    await expect(loadDeidKey({ DEID_KEY: HEX }, { production: true })).rejects.toMatchObject({
      code: 'DEID_KEY_INVALID',
    });
    await expect(loadDeidKey({ DEID_KEY_SECRET_ARN: 'arn:x' }, { production: true })).rejects.toMatchObject({
      code: 'DEID_KEY_UNREADABLE',
    });
  });

  it('wraps an unreadable key file', async () => {
    await expect(
      loadDeidKey({ DEID_KEY_FILE: path.join(dir, 'absent') }, { production: false }),
    ).rejects.toMatchObject({
      code: 'DEID_KEY_UNREADABLE',
    });
  });
});
