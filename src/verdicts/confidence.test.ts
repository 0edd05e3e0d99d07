import { describe, expect, it } from 'vitest';
import { decideRate, requestsNeeded, wilson } from './confidence.js';

describe('wilson', () => {
  it('matches the published interval (Newcombe 1998: 81 of 263 gives 0.2553 to 0.3662)', () => {
    const { low, high } = wilson(81, 263);
    expect(low).toBeCloseTo(0.2553, 3);
    expect(high).toBeCloseTo(0.3662, 3);
  });

  it('never leaves [0, 1] and stays on the observed share at the edges', () => {
    expect(wilson(0, 10)).toEqual({ low: 0, high: expect.closeTo(0.2775, 3) });
    expect(wilson(10, 10)).toEqual({ low: expect.closeTo(0.7225, 3), high: 1 });
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
  });
});

describe('decideRate', () => {
  it('an error-rate bound holds only when the whole interval is at or under it', () => {
    expect(decideRate(0, 150, 0.06, 'at-most')).toBe('held'); // 0 to 2.5%
    expect(decideRate(0, 50, 0.06, 'at-most')).toBe('undecided'); // 0 to 7.1%
    expect(decideRate(3, 150, 0.06, 'at-most')).toBe('held'); // 0.7% to 5.7%
    expect(decideRate(5, 150, 0.06, 'at-most')).toBe('undecided');
    expect(decideRate(20, 150, 0.06, 'at-most')).toBe('broken'); // 8.8% to 19.7%
  });

  it('a success-rate bound holds only when the whole interval is at or over it', () => {
    expect(decideRate(150, 150, 0.5, 'at-least')).toBe('held');
    expect(decideRate(3, 3, 0.5, 'at-least')).toBe('undecided'); // 44% to 100%
    expect(decideRate(75, 150, 0.9, 'at-least')).toBe('broken');
    expect(decideRate(75, 150, 0.5, 'at-least')).toBe('undecided');
  });
});

describe('requestsNeeded', () => {
  it('finds the smallest window that would decide the bound at the measured share', () => {
    // No error at all: the interval's top is 3.84/(n+3.84), under 6% from 61 requests.
    expect(requestsNeeded(0, 0.06, 'at-most')).toBe(61);
    expect(decideRate(0, 61, 0.06, 'at-most')).toBe('held');
    expect(decideRate(0, 60, 0.06, 'at-most')).toBe('undecided');
    // Every request answered: 35 requests show a 90% success rate at 95% confidence.
    expect(requestsNeeded(1, 0.9, 'at-least')).toBe(35);
    // Further from the bound, fewer are needed.
    expect(requestsNeeded(0.02, 0.06, 'at-most')).toBeLessThan(requestsNeeded(0.04, 0.06, 'at-most'));
  });

  it('a share sitting on the bound can never be decided', () => {
    expect(requestsNeeded(0.06, 0.06, 'at-most')).toBe(Number.POSITIVE_INFINITY);
  });
});
