import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from './closest-name.js';

describe('closestName', () => {
  it('measures edits', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('suggests a near name', () => expect(closestName('hypothessis', ['method', 'hypothesis'])).toBe('hypothesis'));
  it('suggests a dotted driver entry', () => expect(closestName('toxiproxy.latncy', ['toxiproxy.latency', 'toxiproxy.down'])).toBe('toxiproxy.latency'));
  it('stays quiet when nothing is close', () => expect(closestName('banana', ['method', 'hypothesis'])).toBeUndefined());
});

describe('bounded cost on hostile names', () => {
  it('gives the exact distance within the limit, and something above it beyond', () => {
    const words = ['', 'a', 'ab', 'kitten', 'sitting', 'hypothesis', 'hypothessis', 'toxiproxy.latency', 'toxiproxy.latncy', 'xyz'];
    for (const a of words) {
      for (const b of words) {
        const exact = editDistance(a, b);
        for (const limit of [0, 1, 2, 3, 5]) {
          const banded = editDistance(a, b, limit);
          if (exact <= limit) expect(banded, `${a} ~ ${b} within ${limit}`).toBe(exact);
          else expect(banded, `${a} ~ ${b} within ${limit}`).toBeGreaterThan(limit);
        }
      }
    }
  });

  it('suggests nothing for a name longer than any typo, however close', () => {
    const long = 'a'.repeat(20_000);
    expect(closestName(`${long}b`, [long, 'method'])).toBeUndefined();
  });

  it('skips candidates whose length alone rules them out', () => {
    expect(closestName('method', ['m'.repeat(20_000), 'metod'])).toBe('metod');
  });

  it('has no suggestion for a value that is not text', () => {
    expect(closestName(1 as unknown as string, ['method'])).toBeUndefined();
    expect(closestName('method', [1 as unknown as string, 'method'])).toBe('method');
  });
});
