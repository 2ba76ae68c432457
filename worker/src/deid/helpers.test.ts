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
  it('keeps a value whole when every word is an imaging word or a short technical token', () => {
    expect(cleanText('CT CHEST W/O CONTRAST 5mm')).toBe('CT CHEST W/O CONTRAST 5mm');
    expect(cleanText('T1_MPRAGE SAG')).toBe('T1_MPRAGE SAG');
  });

  it('removes a value whole when any word is unknown: names, ids, dates', () => {
    expect(cleanText('T1_MPRAGE SAG Dr. Smith 12345678')).toBe('');
    expect(cleanText('Müller Kopf 20240101')).toBe('');
  });

  it('keeps French descriptors whole, negation included, so meaning cannot flip', () => {
    expect(cleanText('CT THORAX SANS INJECTION')).toBe('CT THORAX SANS INJECTION');
    expect(cleanText('TDM abdomino-pelvienne avec injection de produit de contraste')).toBe(
      'TDM abdomino-pelvienne avec injection de produit de contraste',
    );
    expect(cleanText('TDM THORAX SANS INJECTION Dr Martin')).toBe('');
    expect(cleanText('SCANNER ABDOMINO-PELVIEN AVEC INJECTION')).toBe(
      'SCANNER ABDOMINO-PELVIEN AVEC INJECTION',
    );
  });

  it('keeps German descriptors whole, umlauts and "nativ" included', () => {
    expect(cleanText('MRT Schädel nativ')).toBe('MRT Schädel nativ');
    expect(cleanText('CT Thorax mit KM')).toBe('CT Thorax mit KM');
    expect(cleanText('MRT Schädel ohne KM Müller')).toBe('');
  });

  it('removes an English descriptor whole when it names a person, even with vocabulary words', () => {
    expect(cleanText('CT CHEST WITHOUT CONTRAST for Dr Max Field')).toBe('');
    expect(cleanText('CT CHEST WITHOUT CONTRAST')).toBe('CT CHEST WITHOUT CONTRAST');
  });

  it('refuses values with characters a descriptor has no use for', () => {
    expect(cleanText('CHEST @ROOM')).toBe('');
    expect(cleanText('CHEST#3')).toBe('');
  });

  it("removes a value with a word of the patient's name even when it is an imaging word", () => {
    expect(cleanText('HEAD CT', identifyingWords(['HEAD^MARY']))).toBe('');
    expect(cleanText('CHEST CT', identifyingWords(['HEAD^MARY']))).toBe('CHEST CT');
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
