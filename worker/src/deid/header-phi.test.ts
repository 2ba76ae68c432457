import { stringElement } from '@medimg/dicom';
import { describe, expect, it } from 'vitest';
import { dateForms, HeaderPhi } from './header-phi.ts';

const header = new Map(
  [
    stringElement(0x00100010, 'PN', 'Müller^Anna^Maria'),
    stringElement(0x00100020, 'LO', 'PID-5501234'),
    stringElement(0x00100030, 'DA', '19610412'),
    stringElement(0x00080050, 'SH', 'A2024001'),
    stringElement(0x00080080, 'LO', 'Clinique du Parc'),
  ].map((e) => [e.tag, e]),
);

describe('header PHI matching', () => {
  const phi = new HeaderPhi(header);

  it('matches name parts (accents and case aside), IDs and their digits, accession and institution words', () => {
    expect(phi.matches(['MULLER', 'ANNA'])).toBe(true);
    expect(phi.matches(['maria'])).toBe(true);
    expect(phi.matches(['ID:', '5501234'])).toBe(true);
    expect(phi.matches(['PID-5501234'])).toBe(true);
    expect(phi.matches(['Acc', 'A2024001'])).toBe(true);
    expect(phi.matches(['Parc'])).toBe(true);
  });

  it('matches the birth date written in the usual forms, also split into several words', () => {
    for (const words of [
      ['1961-04-12'],
      ['12/04/1961'],
      ['04/12/1961'],
      ['12.04.61'],
      ['12-APR-1961'],
      ['12', '04', '1961'],
    ]) {
      expect(phi.matches(words), words.join(' ')).toBe(true);
    }
  });

  it('forgives one misread letter in long words only', () => {
    expect(phi.matches(['PID-55O1234'])).toBe(true); // O for 0
    expect(phi.matches(['ANNE'])).toBe(false);
  });

  it('does not match generic words, other dates or other numbers', () => {
    expect(phi.matches(['Clinique', 'Hospital', 'DU'])).toBe(false);
    expect(phi.matches(['1961-04-13'])).toBe(false);
    expect(phi.matches(['5.0', 'MHz', 'GAIN', '45'])).toBe(false);
  });

  it('writes a DA value in every form it matches', () => {
    expect(dateForms('19610412')).toContain('12APR1961');
    expect(dateForms('not a date')).toEqual([]);
  });
});
