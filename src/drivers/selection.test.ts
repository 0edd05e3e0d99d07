import { describe, expect, it } from 'vitest';
import { FaultlineError } from '../core/errors.js';
import { checkMinHealthy, isExcluded, requireMatches, selectionModeSchema, selectionSize, selectTargets } from './selection.js';

const names = Array.from({ length: 20 }, (_, i) => `pod-${String(i).padStart(2, '0')}`);
const pick = (mode: unknown, seed: number, candidates = names, salt = 'step-1') =>
  selectTargets(candidates, { mode: selectionModeSchema.parse(mode), seed, salt, key: (n) => n });

describe('selection modes', () => {
  it('sizes: one, all, count (clamped), percent (rounded up, at least one)', () => {
    expect(selectionSize('one', 20)).toBe(1);
    expect(selectionSize('all', 20)).toBe(20);
    expect(selectionSize({ count: 3 }, 20)).toBe(3);
    expect(selectionSize({ count: 30 }, 20)).toBe(20);
    expect(selectionSize({ percent: 10 }, 1000)).toBe(100);
    expect(selectionSize({ percent: 10 }, 15)).toBe(2);
    expect(selectionSize({ percent: 1 }, 5)).toBe(1);
    expect(selectionSize({ percent: 100 }, 7)).toBe(7);
    expect(selectionSize('one', 0)).toBe(0);
  });

  it('the same seed and step pick the same targets whatever order the API listed them in', () => {
    const shuffled = [...names].reverse();
    expect(pick({ count: 5 }, 42)).toEqual(pick({ count: 5 }, 42, shuffled));
    expect(pick('one', 7)).toEqual(pick('one', 7, shuffled));
  });

  it('different seeds or steps draw differently, and every candidate can be drawn', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 400; seed++) seen.add(pick('one', seed)[0]!);
    expect(seen.size).toBe(names.length);
    const bySeed = new Set(Array.from({ length: 20 }, (_, seed) => pick({ count: 3 }, seed).join()));
    expect(bySeed.size).toBeGreaterThan(15);
    expect(pick({ count: 3 }, 1, names, 'a')).not.toEqual(pick({ count: 3 }, 1, names, 'b'));
  });

  it('draws without repeats, roughly uniformly', () => {
    const counts = new Map<string, number>();
    for (let seed = 0; seed < 2000; seed++) {
      const hit = pick({ percent: 25 }, seed);
      expect(new Set(hit).size).toBe(5);
      for (const n of hit) counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    // Each of 20 names is expected 500 times out of 2000 draws of 5.
    for (const n of names) expect(counts.get(n)).toBeGreaterThan(400);
    for (const n of names) expect(counts.get(n)).toBeLessThan(600);
  });

  it('rejects modes that make no sense', () => {
    expect(selectionModeSchema.safeParse({ count: 0 }).success).toBe(false);
    expect(selectionModeSchema.safeParse({ percent: 0 }).success).toBe(false);
    expect(selectionModeSchema.safeParse({ percent: 101 }).success).toBe(false);
    expect(selectionModeSchema.safeParse('some').success).toBe(false);
  });
});

describe('exclusions and guards', () => {
  it('excludes by exact name or whole-name pattern', () => {
    expect(isExcluded('db-0', ['db-0'])).toBe(true);
    expect(isExcluded('db-10', ['db-.'])).toBe(false);
    expect(isExcluded('db-1', ['db-.'])).toBe(true);
    expect(isExcluded('api', undefined)).toBe(false);
  });

  it('min-healthy refuses a fault that leaves too few healthy targets', () => {
    expect(() => checkMinHealthy({ minHealthy: 2, healthy: 3, hitHealthy: 1, what: 'pods' })).not.toThrow();
    expect(() => checkMinHealthy({ minHealthy: 2, healthy: 3, hitHealthy: 2, what: 'pods' })).toThrow(/leave 1 healthy pods.*minimum of 2/);
    expect(() => checkMinHealthy({ minHealthy: undefined, healthy: 0, hitHealthy: 0, what: 'pods' })).not.toThrow();
  });

  it('an empty selection is an error unless allowed', () => {
    expect(() => requireMatches(0, { what: 'container', selector: 'label app=x' })).toThrow(FaultlineError);
    expect(() => requireMatches(0, { what: 'container', selector: 'label app=x', allowEmpty: true })).not.toThrow();
    expect(() => requireMatches(2, { what: 'container', selector: 'label app=x' })).not.toThrow();
  });
});
