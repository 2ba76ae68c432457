/**
 * PHI canary: every attribute of Table E.1-1 gets a distinct canary value valid for its VR, at the
 * top level and in a sequence item three levels deep, plus canaries in private tags, curves and
 * overlays. After de-identification the written Part 10 bytes are scanned for every canary: none
 * may survive except those an enabled option keeps by design (computed below and asserted to be
 * exactly the ones found, so the scan is shown to see what it looks for).
 */

import { writePart10 } from '@medimg/dicom';
import { describe, expect, it } from 'vitest';
import { deidentify } from './deidentify.ts';
import { BASIC_PROFILE_OPTIONS, DEFAULT_DEID_OPTIONS } from './options.ts';
import {
  type Canary,
  canaryFile,
  CANARY_EXCLUDED_ROWS as excluded,
  keptByDesign,
  CANARY_ROWS as rows,
} from './testing/canary-fixture.ts';

const KEY = new Uint8Array(32).fill(0x5a);

describe('PHI canary over every Table E.1-1 attribute', () => {
  for (const [label, options] of [
    ['default options', DEFAULT_DEID_OPTIONS],
    ['basic profile, no retain options', BASIC_PROFILE_OPTIONS],
  ] as const) {
    it(`${label}: no canary survives except those kept by design`, () => {
      const canaries: Canary[] = [];
      const file = canaryFile(canaries);
      const out = Buffer.from(writePart10(deidentify(file, { key: KEY, options }).file)).toString('latin1');
      const found = canaries.filter((c) => c.text !== undefined && out.includes(c.text)).map((c) => c.name);
      const expected = canaries
        .filter((c) => c.text !== undefined && keptByDesign(options, c))
        .map((c) => c.name);
      expect(found.sort()).toEqual(expected.sort());
      // Sanity: the canaries are many, and the kept-by-design list is what the options promise.
      expect(canaries.length).toBeGreaterThan(2 * 600);
      if (options === BASIC_PROFILE_OPTIONS) expect(expected).toEqual([]);
    });
  }

  it('binary-valued rows (US) do not keep their canary value unless retained', () => {
    const canaries: Canary[] = [];
    const r = deidentify(canaryFile(canaries), { key: KEY, options: BASIC_PROFILE_OPTIONS });
    for (const key of ['00160075', '001021c0']) {
      const el = r.file.dataset.get(Number.parseInt(key, 16) >>> 0);
      expect(el === undefined || el.value[0] !== 0x39).toBe(true);
    }
  });

  it('covers every row except the group 0000/0002 and pattern rows, which are listed', () => {
    expect(rows.length + excluded.length).toBe(621);
    expect(excluded.sort()).toEqual([
      '00001000 Affected SOP Instance UID',
      '00001001 Requested SOP Instance UID',
      '00020003 Media Storage SOP Instance UID',
      '50xxxxxx Curve Data',
      '60xx3000 Overlay Data',
      '60xx4000 Overlay Comments',
      'private Private Attributes',
    ]);
  });
});
