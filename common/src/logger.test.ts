import { describe, expect, it } from 'vitest';
import { parseLogLevel } from './logger.ts';

describe('parseLogLevel', () => {
  it('reads a level in any case, and info when unset', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(parseLogLevel(undefined)).toBe('info');
    expect(parseLogLevel('')).toBe('info');
  });

  it('refuses anything else as a configuration error instead of defaulting', () => {
    expect(() => parseLogLevel('verbose')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
