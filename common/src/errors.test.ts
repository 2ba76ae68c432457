import { describe, expect, it } from 'vitest';
import { CodedError, codeOf, ERROR_CODES, isErrorCode } from './errors.ts';
import { REASON_CODES } from './outcomes.ts';

class StoreError extends CodedError<'NOT_FOUND' | 'STORE_ERROR'> {
  override readonly name = 'StoreError';
}

describe('CodedError and codeOf', () => {
  it('keeps the code, the name and the cause of a module error', () => {
    const cause = new Error('socket closed');
    const err = new StoreError('NOT_FOUND', 'get: no such object', { cause });

    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'NOT_FOUND', name: 'StoreError', message: 'get: no such object' });
    expect(err.cause).toBe(cause);
    expect(codeOf(err)).toBe('NOT_FOUND');
  });

  it('reads a code-shaped code of a foreign error, and the fallback for anything else', () => {
    expect(codeOf(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(codeOf(Object.assign(new Error('x'), { code: 'patient Jane Doe' }), 'INTERNAL_ERROR')).toBe(
      'INTERNAL_ERROR',
    );
    expect(codeOf('boom')).toBe('UNEXPECTED');
    expect(codeOf(null, 'INTERNAL_ERROR')).toBe('INTERNAL_ERROR');
  });

  it('registers every file reason code, each with a description', () => {
    for (const code of Object.keys(REASON_CODES)) expect(isErrorCode(code)).toBe(true);
    for (const text of Object.values(ERROR_CODES)) expect(text.length).toBeGreaterThan(10);
    expect(isErrorCode('NO_SUCH_CODE')).toBe(false);
  });
});
