import { describe, expect, it } from 'vitest';
import { describeBounds, findBreaches, valueHolds } from './series-bounds.js';

const series = (value: number, labels: Record<string, string> = { job: 'api' }) => ({ labels, samples: [[1_000, value]] as [number, number][] });

describe('series bounds', () => {
  it('reads max, min, between and equals', () => {
    expect(valueHolds(0.05, { max: 0.05 })).toBe(true);
    expect(valueHolds(0.06, { max: 0.05 })).toBe(false);
    expect(valueHolds(2, { min: 3 })).toBe(false);
    expect(valueHolds(2, { between: [1, 3] })).toBe(true);
    expect(valueHolds(4, { between: [1, 3] })).toBe(false);
    expect(valueHolds(1, { equals: 1 })).toBe(true);
    expect(describeBounds({ min: 1, max: 3 })).toBe('between 1 and 3');
  });

  it('counts NaN (a 0/0 ratio) as outside any bound', () => {
    expect(valueHolds(Number.NaN, { max: 1 })).toBe(false);
    expect(findBreaches([series(Number.NaN)], { max: 1 }, 'miss')[0]).toContain('= NaN');
  });

  it('checks every series and names the ones outside', () => {
    const breaches = findBreaches([series(1, { instance: 'a' }), series(0, { instance: 'b' })], { equals: 1 }, 'miss');
    expect(breaches).toEqual(['{instance="b"} = 0, expected = 1']);
  });

  it('misses on an empty result unless told that empty is healthy', () => {
    expect(findBreaches([], { max: 1 }, 'miss')[0]).toContain('returned no series');
    expect(findBreaches([], { max: 1 }, 'pass')).toEqual([]);
  });

  it('reports the worst sample of a range', () => {
    const range = { labels: {}, samples: [[1_000, 0.1], [2_000, 0.9], [3_000, 0.3]] as [number, number][] };
    expect(findBreaches([range], { max: 0.2 }, 'miss')[0]).toMatch(/^\{\} = 0.9, expected at most 0.2 \(2 of 3 samples outside/);
  });
});
