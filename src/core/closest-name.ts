// "Did you mean …?" for misspelt keys and names: the known name at the smallest edit distance.
// Names come from hostile files too, so the cost is bounded: long names get no suggestion, and the
// distance is computed only in the band of cells that can stay within the allowed number of edits.

/** Longer names get no suggestion: a 20 KB id with a typo is not a typo, and each one costs time. */
export const MAX_SUGGESTED_NAME_LENGTH = 100;

/**
 * Levenshtein distance between a and b; when it exceeds `limit`, some number above `limit`.
 * Only cells within `limit` of the diagonal are computed, so the cost is O(length × limit).
 */
export function editDistance(a: string, b: string, limit = Math.max(a.length, b.length)): number {
  const over = limit + 1;
  if (Math.abs(a.length - b.length) > limit) return over;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => (j <= limit ? j : over));
  let current = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const from = Math.max(1, i - limit);
    const to = Math.min(b.length, i + limit);
    current.fill(over);
    current[0] = i <= limit ? i : over;
    let rowBest = current[0];
    for (let j = from; j <= to; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution, over);
      current[j] = value;
      if (value < rowBest) rowBest = value;
    }
    // Every later row only grows from this one.
    if (rowBest > limit) return over;
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

/** The closest known name, if it is close enough to be a plausible typo. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  // Callers pass names read from files; a value of another type simply has no suggestion.
  if (typeof name !== 'string' || name.length > MAX_SUGGESTED_NAME_LENGTH) return undefined;
  const allowed = Math.max(2, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of known) {
    if (typeof candidate !== 'string' || Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const distance = editDistance(lower, candidate.toLowerCase(), bestDistance - 1);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
