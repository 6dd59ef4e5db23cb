import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/sample-data/random.js';

const draw = (rng: Rng, n: number): number[] => Array.from({ length: n }, () => rng.next());

describe('Rng', () => {
  it('gives the same sequence for the same seed', () => {
    expect(draw(new Rng('bedside'), 100)).toEqual(draw(new Rng('bedside'), 100));
  });

  it('gives different sequences for different seeds, even close ones', () => {
    expect(draw(new Rng('seed-1'), 10)).not.toEqual(draw(new Rng('seed-2'), 10));
  });

  it('pins the first values, so an accidental change to the algorithm fails loudly', () => {
    const rng = new Rng('bedside');
    expect([rng.int(0, 1_000_000), rng.int(0, 1_000_000), rng.int(0, 1_000_000)]).toMatchInlineSnapshot(`
      [
        2911,
        658545,
        590445,
      ]
    `);
  });

  it('forks streams by name, independent of how far the parent has advanced', () => {
    const fresh = new Rng('s').fork('plan');
    const advanced = new Rng('s');
    draw(advanced, 50);
    expect(draw(advanced.fork('plan'), 5)).toEqual(draw(fresh, 5));
    expect(draw(new Rng('s').fork('other'), 5)).not.toEqual(draw(new Rng('s').fork('plan'), 5));
  });

  it('keeps every helper within its bounds', () => {
    const rng = new Rng('bounds');
    const ints = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      const n = rng.int(3, 7);
      ints.add(n);
      const normal = rng.normal(10, 2);
      expect(Math.abs(normal - 10)).toBeLessThanOrEqual(4.25 * 2);
    }
    expect([...ints].sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it('picks with the given weights, roughly', () => {
    const rng = new Rng('weights');
    let heavy = 0;
    for (let i = 0; i < 10_000; i++)
      if (
        rng.weighted([
          ['a', 9],
          ['b', 1],
        ] as const) === 'a'
      )
        heavy++;
    expect(heavy).toBeGreaterThan(8_700);
    expect(heavy).toBeLessThan(9_300);
  });

  it('refuses to pick from nothing', () => {
    expect(() => new Rng('x').pick([])).toThrow(RangeError);
  });
});
