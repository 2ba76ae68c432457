import { describe, expect, it } from 'vitest';
import { hottestBox } from './postprocess.ts';

const map = (grid: number, hot: Record<number, number>, base = -5): Float32Array => {
  const heat = new Float32Array(grid * grid).fill(base);
  for (const [cell, value] of Object.entries(hot)) heat[Number(cell)] = value;
  return heat;
};

describe('hottestBox', () => {
  it('boxes the single hottest cell in normalised coordinates', () => {
    // grid 4: cell 6 is row 1, column 2
    expect(hottestBox(map(4, { 6: 3 }), 4)).toEqual({ x: 0.5, y: 0.25, width: 0.25, height: 0.25 });
  });

  it('grows over 4-connected cells within the drop of the maximum', () => {
    // cells 5 and 6 (row 1) and 10 (row 2, column 2) are hot; 0 is hot but not connected
    const box = hottestBox(map(4, { 5: 2.5, 6: 3, 10: 2.2, 0: 2.9 }), 4);
    expect(box).toEqual({ x: 0.25, y: 0.25, width: 0.5, height: 0.5 });
  });

  it('leaves out neighbours colder than the drop', () => {
    expect(hottestBox(map(4, { 6: 3, 7: 1.5 }), 4)).toEqual({ x: 0.5, y: 0.25, width: 0.25, height: 0.25 });
  });

  it('refuses a map of the wrong size', () => {
    expect(() => hottestBox(new Float32Array(10), 4)).toThrow(RangeError);
  });
});
