/**
 * The de-identification key: the HMAC-SHA256 secret behind pseudonyms, new UIDs and date shifts.
 *
 * Sources, first one set wins:
 *   DEID_KEY_SECRET_ARN  a Secrets Manager secret (through the injected fetcher; AWS adapter)
 *   DEID_KEY_FILE        a file holding the key
 *   DEID_KEY             the key itself
 * The key text is hex (64+ hex digits) or base64, and must decode to at least 32 bytes. There is no
 * default key in any mode: a missing or short key is a DeidConfigError naming the variable.
 * Error messages never contain the key or any part of it.
 */
import { readFile } from 'node:fs/promises';
import { CodedError } from '@medimg/common';

export const MIN_KEY_BYTES = 32;

export type DeidConfigErrorCode = 'DEID_KEY_MISSING' | 'DEID_KEY_INVALID' | 'DEID_KEY_UNREADABLE';

export class DeidConfigError extends CodedError<DeidConfigErrorCode> {
  override readonly name = 'DeidConfigError';
}

export interface LoadDeidKeyOptions {
  /** Production refuses DEID_KEY (a key in the environment) and wants a secret or a file. */
  readonly production: boolean;
  /** Reads a secret's string value (the AWS adapter supplies it). */
  readonly secretsFetcher?: (arn: string) => Promise<string>;
}

/** Decodes hex or base64 key text; undefined when it is neither. */
export function decodeKeyText(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (t.length === 0) return undefined;
  if (/^[0-9a-fA-F]+$/.test(t) && t.length % 2 === 0) return Uint8Array.from(Buffer.from(t, 'hex'));
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    const bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return bytes.length > 0 ? Uint8Array.from(bytes) : undefined;
  }
  return undefined;
}

function checkKey(text: string, variable: string): Uint8Array {
  const key = decodeKeyText(text);
  if (!key) {
    throw new DeidConfigError('DEID_KEY_INVALID', `${variable}: the key must be hex or base64 text`);
  }
  if (key.length < MIN_KEY_BYTES) {
    throw new DeidConfigError(
      'DEID_KEY_INVALID',
      `${variable}: the key decodes to ${key.length} bytes; at least ${MIN_KEY_BYTES} are required`,
    );
  }
  return key;
}

/** Where the key may come from: the worker's validated configuration, or the CLI's environment. */
export interface DeidKeySources {
  readonly DEID_KEY_SECRET_ARN?: string | undefined;
  readonly DEID_KEY_FILE?: string | undefined;
  readonly DEID_KEY?: string | undefined;
}

export async function loadDeidKey(env: DeidKeySources, opts: LoadDeidKeyOptions): Promise<Uint8Array> {
  const arn = env.DEID_KEY_SECRET_ARN?.trim();
  if (arn) {
    if (!opts.secretsFetcher) {
      throw new DeidConfigError(
        'DEID_KEY_UNREADABLE',
        'DEID_KEY_SECRET_ARN is set but no secrets fetcher was wired in',
      );
    }
    let text: string;
    try {
      text = await opts.secretsFetcher(arn);
    } catch (cause) {
      throw new DeidConfigError('DEID_KEY_UNREADABLE', 'DEID_KEY_SECRET_ARN: the secret could not be read', {
        cause,
      });
    }
    return checkKey(text, 'DEID_KEY_SECRET_ARN');
  }
  const file = env.DEID_KEY_FILE?.trim();
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      throw new DeidConfigError('DEID_KEY_UNREADABLE', 'DEID_KEY_FILE: the key file could not be read', {
        cause,
      });
    }
    return checkKey(text, 'DEID_KEY_FILE');
  }
  const inline = env.DEID_KEY?.trim();
  if (inline) {
    if (opts.production) {
      throw new DeidConfigError(
        'DEID_KEY_INVALID',
        'DEID_KEY is not accepted in production: set DEID_KEY_SECRET_ARN (or DEID_KEY_FILE)',
      );
    }
    return checkKey(inline, 'DEID_KEY');
  }
  throw new DeidConfigError(
    'DEID_KEY_MISSING',
    `no de-identification key: set DEID_KEY_SECRET_ARN, DEID_KEY_FILE or DEID_KEY (hex or base64, >= ${MIN_KEY_BYTES} bytes)`,
  );
}
