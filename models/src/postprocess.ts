import type { FindingBox } from '@medimg/common/inference.ts';

/**
 * The box of the hottest heat-map region, in normalised input coordinates: the cells 4-connected to the
 * hottest cell whose logit is within `drop` of the maximum. models/training/train.py (`hottest_box`) uses
 * the same rule when it measures localisation for the model card.
 */
export function hottestBox(heat: ArrayLike<number>, grid: number, drop = 1.0): FindingBox {
  if (heat.length !== grid * grid)
    throw new RangeError(`heat map has ${heat.length} cells, expected ${grid}²`);
  let best = 0;
  for (let i = 1; i < heat.length; i++) if (heat[i]! > heat[best]!) best = i;
  const floor = heat[best]! - drop;
  const seen = new Uint8Array(heat.length);
  const stack = [best];
  seen[best] = 1;
  let minX = grid;
  let minY = grid;
  let maxX = -1;
  let maxY = -1;
  while (stack.length > 0) {
    const cell = stack.pop()!;
    const y = Math.floor(cell / grid);
    const x = cell % grid;
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
    const neighbours = [
      y > 0 ? cell - grid : -1,
      y < grid - 1 ? cell + grid : -1,
      x > 0 ? cell - 1 : -1,
      x < grid - 1 ? cell + 1 : -1,
    ];
    for (const n of neighbours) {
      if (n >= 0 && seen[n] === 0 && heat[n]! >= floor) {
        seen[n] = 1;
        stack.push(n);
      }
    }
  }
  return {
    x: minX / grid,
    y: minY / grid,
    width: (maxX + 1 - minX) / grid,
    height: (maxY + 1 - minY) / grid,
  };
}
