// How sure a share measured on a window of requests is: Wilson's score interval at 95% confidence,
// the test whether a rate bound is decided by it (the whole interval on one side of the bound), and
// how many requests would decide it. Rate bounds (retries' error rate, failover's success rate) and
// the traffic's error rate against the baseline are judged with these.

/** z for a two-sided 95% interval. */
export const Z95 = 1.959964;

export interface Interval {
  low: number;
  high: number;
}

/** Wilson's score interval for `successes` of `trials`; [0, 1] without trials. */
export function wilson(successes: number, trials: number, z = Z95): Interval {
  if (trials <= 0) return { low: 0, high: 1 };
  const p = Math.min(1, Math.max(0, successes / trials));
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  // Rounding must not put the interval outside [0, 1] or off the observed share when it is 0 or 1.
  return { low: p === 0 ? 0 : Math.max(0, centre - half), high: p === 1 ? 1 : Math.min(1, centre + half) };
}

/** `at most` bounds (an error rate) and `at least` bounds (a success rate). */
export type BoundSide = 'at-most' | 'at-least';

export type RateDecision = 'held' | 'broken' | 'undecided';

/** held: the whole interval is on the good side of the bound; broken: the whole interval is on the bad side. */
export function decideRate(count: number, trials: number, bound: number, side: BoundSide): RateDecision {
  const { low, high } = wilson(count, trials);
  if (side === 'at-most') return high <= bound ? 'held' : low > bound ? 'broken' : 'undecided';
  return low >= bound ? 'held' : high < bound ? 'broken' : 'undecided';
}

/** More requests than any experiment should ask for: the answer when the observed share sits on the bound. */
const NEVER = Number.POSITIVE_INFINITY;
const MAX_TRIALS = 1e9;

/**
 * About how many requests a window would need for its interval to clear the bound, if the share stayed
 * what was measured; Infinity when the share equals the bound (no number of requests decides it).
 */
export function requestsNeeded(share: number, bound: number, side: BoundSide): number {
  if (share === bound) return NEVER;
  const decided = (n: number) => decideRate(share * n, n, bound, side) !== 'undecided';
  let high = 1;
  while (!decided(high)) {
    high *= 2;
    if (high > MAX_TRIALS) return NEVER;
  }
  let low = Math.floor(high / 2);
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (decided(mid)) high = mid;
    else low = mid;
  }
  return high;
}
