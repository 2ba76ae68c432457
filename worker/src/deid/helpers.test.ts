import { describe, expect, it } from 'vitest';
import { cleanText, identifyingWords } from './clean.ts';
import { shiftDA, shiftDT } from './dates.ts';
import { DEFAULT_DEID_OPTIONS } from './options.ts';
import { PROFILE_TABLE } from './profile-table.ts';
import { actionFor, enabledColumns, profileRowOf, resolveBasic } from './rules.ts';

describe('date shifting', () => {
  it('shifts DA across month and leap-year boundaries', () => {
    expect(shiftDA('20240301', -1)).toBe('20240229');
    expect(shiftDA('2024.03.01', -366)).toBe('20230301');
    expect(shiftDA('20240230', -1)).toBeUndefined();
    expect(shiftDA('UNKNOWN', -1)).toBeUndefined();
  });

  it('shifts the date part of DT and keeps time, fraction, offset and precision', () => {
    expect(shiftDT('20240101235959.123456-0500', -1)).toBe('20231231235959.123456-0500');
    expect(shiftDT('202403', -1)).toBe('202402');
    expect(shiftDT('2024', -1)).toBe('2023');
  });
});

describe('clean descriptors', () => {
  it('keeps imaging words and short technical tokens, drops names, ids and dates', () => {
    expect(cleanText('CT CHEST W/O CONTRAST 5mm')).toBe('CT CHEST W/O CONTRAST 5mm');
    expect(cleanText('T1_MPRAGE SAG Dr. Smith 12345678')).toBe('T1_MPRAGE SAG');
    expect(cleanText('Müller Kopf 20240101')).toBe('');
  });

  it("drops words of the patient's name even when they are imaging words", () => {
    expect(cleanText('HEAD CT', identifyingWords(['HEAD^MARY']))).toBe('CT');
  });
});

describe('profile table and rules', () => {
  it('has all 621 rows and resolves repeating groups', () => {
    expect(PROFILE_TABLE.length).toBe(621);
    expect(profileRowOf(0x60023000)?.name).toBe('Overlay Data');
    expect(profileRowOf(0x501e0010)?.name).toBe('Curve Data');
    expect(profileRowOf(0x00100010)?.basic).toBe('Z');
  });

  it('resolves combined actions conservatively without per-IOD type', () => {
    expect(resolveBasic('X/Z', true)).toBe('Z');
    expect(resolveBasic('X/D', true)).toBe('D');
    expect(resolveBasic('X/D', false)).toBe('X');
    expect(resolveBasic('X/Z/D', false)).toBe('Z');
    expect(resolveBasic('Z/D', true)).toBe('D');
    expect(resolveBasic('X/Z/U*', true)).toBe('U');
  });

  it('lets the temporal option decide for dates that another option would keep', () => {
    const row = profileRowOf(0x0018700c)!; // Date of Last Detector Calibration: rtnDevIdOpt K, dates K/C
    expect(actionFor(row, enabledColumns(DEFAULT_DEID_OPTIONS), 'DA', true).action).toBe('C');
  });
});
