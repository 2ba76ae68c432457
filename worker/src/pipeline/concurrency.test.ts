import { describe, expect, it } from 'vitest';
import { concurrencyFor, MAX_DEFAULT_CONCURRENCY, renderThreadsFor } from './concurrency.ts';

describe('the default number of files processed at once', () => {
  it('is two files per CPU', () => {
    expect(concurrencyFor(4)).toBe(8);
  });

  it('is at least two, so that encoding overlaps parsing even on one CPU', () => {
    expect(concurrencyFor(1)).toBe(2);
  });

  it('stays under a ceiling on large machines', () => {
    expect(concurrencyFor(64)).toBe(MAX_DEFAULT_CONCURRENCY);
  });
});

describe('render threads', () => {
  it('are one per CPU the file count was made for, at least one', () => {
    expect(renderThreadsFor(concurrencyFor(2))).toBe(2);
    expect(renderThreadsFor(5)).toBe(3);
    expect(renderThreadsFor(1)).toBe(1);
  });
});
