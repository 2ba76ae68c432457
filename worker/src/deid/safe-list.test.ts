/**
 * Review guards for the safe list (safe-list.ts): every entry names a dictionary attribute that
 * Table E.1-1 does not list, free text is never on it, and each reason is described.
 */

import { keywordToTag, lookupTag } from '@medimg/dicom';
import { describe, expect, it } from 'vitest';
import { profileRowOf } from './rules.ts';
import { SAFE_ATTRIBUTES, SAFE_REASONS, SAFE_VALUE_REPRESENTATIONS } from './safe-list.ts';

const FREE_TEXT = ['PN', 'LT', 'ST', 'UT', 'UC', 'UR', 'AE'];

describe('the safe list', () => {
  it('names only dictionary attributes, each once, none of them in Table E.1-1', () => {
    const keywords = SAFE_ATTRIBUTES.map((a) => a.keyword);
    expect(new Set(keywords).size).toBe(keywords.length);
    for (const k of keywords) {
      const t = keywordToTag(k);
      expect(t, k).toBeDefined();
      expect(profileRowOf(t!), k).toBeUndefined();
    }
  });

  it('never keeps free text (PN, LT, ST, UT, UC, UR, AE), by entry or by value representation', () => {
    for (const a of SAFE_ATTRIBUTES) {
      const vrs = lookupTag(keywordToTag(a.keyword)!)!.vrs;
      expect(
        vrs.some((vr) => FREE_TEXT.includes(vr)),
        a.keyword,
      ).toBe(false);
    }
    for (const vr of FREE_TEXT) expect(Object.hasOwn(SAFE_VALUE_REPRESENTATIONS, vr), vr).toBe(false);
    for (const vr of ['LO', 'SH', 'OB', 'OW', 'UN'])
      expect(Object.hasOwn(SAFE_VALUE_REPRESENTATIONS, vr), vr).toBe(false);
  });

  it('keeps LO and SH attributes only under a condition: device identity, a vocabulary or whole-value cleaning', () => {
    for (const a of SAFE_ATTRIBUTES) {
      const vr = lookupTag(keywordToTag(a.keyword)!)!.vr;
      if (vr === 'LO' || vr === 'SH') expect(a.keep, a.keyword).not.toBe('always');
    }
  });

  it('describes every reason it uses', () => {
    for (const a of SAFE_ATTRIBUTES) expect(SAFE_REASONS[a.reason].length, a.keyword).toBeGreaterThan(20);
  });
});
