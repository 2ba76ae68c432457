import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('ByteBudget', () => {
  it('never holds more bytes in flight than its budget', async () => {
    const budget = new ByteBudget(100, 10);
    let inFlight = 0;
    let peak = 0;
    const sizes = [60, 30, 50, 20, 40, 10, 70];
    await Promise.all(
      sizes.map((size) =>
        budget.run(size, async () => {
          inFlight += size;
          peak = Math.max(peak, inFlight);
          await tick();
          inFlight -= size;
        }),
      ),
    );
    expect(peak).toBeLessThanOrEqual(100);
    expect(peak).toBeGreaterThan(60);
  });

  it('runs an item larger than the budget alone instead of waiting forever', async () => {
    const budget = new ByteBudget(10, 4);
    const order: string[] = [];
    await Promise.all([
      budget.run(5, async () => {
        order.push('small-start');
        await tick();
        order.push('small-end');
      }),
      budget.run(1000, async () => {
        order.push('huge-start');
        await tick();
        order.push('huge-end');
      }),
    ]);
    expect(order).toEqual(['small-start', 'small-end', 'huge-start', 'huge-end']);
  });

  it('caps the number of concurrent items', async () => {
    const budget = new ByteBudget(1_000_000, 2);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        budget.run(1, async () => {
          running += 1;
          peak = Math.max(peak, running);
          await tick();
          running -= 1;
        }),
      ),
    );
    expect(peak).toBe(2);
  });

  it('releases its bytes when the work throws', async () => {
    const budget = new ByteBudget(10, 1);
    await expect(budget.run(10, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(budget.run(10, async () => 'ran')).resolves.toBe('ran');
  });
});
