import { describe, expect, it } from 'vitest';
import { splitShares, workerShares } from './split.js';

describe('splitShares', () => {
  it('adds up to the whole, the remainder one each to the first workers', () => {
    expect(splitShares(100, 3)).toEqual([34, 33, 33]);
    expect(splitShares(10, 4)).toEqual([3, 3, 2, 2]);
    expect(splitShares(64, 64)).toEqual(Array.from({ length: 64 }, () => 1));
    expect(splitShares(7, 1)).toEqual([7]);
  });

  it('gives a fractional rest to the last worker, the one with the fewest', () => {
    expect(splitShares(10.5, 3)).toEqual([4, 3, 3.5]);
    expect(splitShares(2.25, 2)).toEqual([1, 1.25]);
  });

  it('always sums to the total, whatever the total and the number of parts', () => {
    for (let parts = 1; parts <= 64; parts += 7) {
      for (const total of [parts, 97, 1000, 12_345, 999_999, 50.5, 1234.75]) {
        if (total < parts) continue;
        const shares = splitShares(total, parts);
        expect(shares).toHaveLength(parts);
        expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('workerShares', () => {
  it('splits rate and maxInFlight and staggers the open model so the merged arrivals are even', () => {
    const shares = workerShares({ rate: 300, maxInFlight: 1000 }, 3);
    expect(shares.map((s) => s.rate)).toEqual([100, 100, 100]);
    expect(shares.map((s) => s.maxInFlight)).toEqual([334, 333, 333]);
    // Worker i's k-th request is due at (i + 3k) / 300 s: every 3.33 ms one of them sends.
    expect(shares.map((s) => s.phaseMs)).toEqual([0, 1000 / 300, 2000 / 300]);
  });

  it('splits the users of the closed model', () => {
    const shares = workerShares({ concurrency: 10, maxInFlight: 1000 }, 4);
    expect(shares.map((s) => s.concurrency)).toEqual([3, 3, 2, 2]);
    expect(shares.every((s) => s.rate === undefined && s.phaseMs === 0)).toBe(true);
  });
});
