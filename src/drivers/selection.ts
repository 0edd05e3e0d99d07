// Target selection shared by the drivers that pick among many targets (containers, pods): the
// modes `one` (seeded random), `count`, `percent` and `all`, exclusions, and the min-healthy guard.
// The pick depends only on the seed, the step and the candidates' names, never on the order an API
// listed them in, so `run --seed <n>` and `plan --seed <n>` hit the same targets.
import { z } from 'zod';
import { FaultlineError } from '../core/errors.js';
import { fnv1a32 } from '../core/hash.js';

export const selectionModeSchema = z
  .union([
    z.literal('one'),
    z.literal('all'),
    z.strictObject({ count: z.int().positive().meta({ description: 'Hit this many (all of them when fewer match).' }) }),
    z.strictObject({ percent: z.number().gt(0).max(100).meta({ description: 'Hit this share, rounded up to at least one.' }) }),
  ])
  .meta({ description: 'How many of the matching targets to hit: one (seeded random), all, {count: N} or {percent: P}.' });

export type SelectionMode = z.infer<typeof selectionModeSchema>;

export function describeMode(mode: SelectionMode): string {
  if (mode === 'one' || mode === 'all') return mode;
  return 'count' in mode ? `count ${mode.count}` : `${mode.percent}%`;
}

/** How many of `total` candidates a mode hits. */
export function selectionSize(mode: SelectionMode, total: number): number {
  if (total === 0) return 0;
  if (mode === 'one') return 1;
  if (mode === 'all') return total;
  if ('count' in mode) return Math.min(mode.count, total);
  return Math.min(total, Math.max(1, Math.ceil((total * mode.percent) / 100 - 1e-9)));
}

/** mulberry32: small, fast and good enough to shuffle targets; Math.random cannot be seeded. */
export function seededRandom(seed: number, salt = ''): () => number {
  let state = (fnv1a32(`${seed}:${salt}`) ^ seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SelectOptions<T> {
  mode: SelectionMode;
  seed: number;
  /** Mixed into the seed so two steps of one run draw independently (the step's key is a good salt). */
  salt?: string;
  /** A stable, unique name per candidate: the order and identity the draw is based on. */
  key: (candidate: T) => string;
}

/** The candidates a mode hits, in a stable order; deterministic for a given seed, salt and candidate set. */
export function selectTargets<T>(candidates: readonly T[], options: SelectOptions<T>): T[] {
  const sorted = [...candidates].sort((a, b) => (options.key(a) < options.key(b) ? -1 : options.key(a) > options.key(b) ? 1 : 0));
  const size = selectionSize(options.mode, sorted.length);
  if (size === sorted.length) return sorted;
  const random = seededRandom(options.seed, options.salt);
  // Partial Fisher-Yates: the first `size` places are a uniform random sample.
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (sorted.length - i));
    [sorted[i], sorted[j]] = [sorted[j]!, sorted[i]!];
  }
  return sorted.slice(0, size).sort((a, b) => (options.key(a) < options.key(b) ? -1 : 1));
}

export function isValidPattern(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

export const exclusionSchema = z
  .array(z.string().min(1).refine(isValidPattern, 'expected a name or a regular expression'))
  .meta({ description: 'Names, or regular expressions matched against the whole name, that are never hit.' });

/** True when `name` equals one of the exclusions or matches one as a whole-name regular expression. */
export function isExcluded(name: string, exclusions: readonly string[] | undefined): boolean {
  return (exclusions ?? []).some((rule) => rule === name || new RegExp(`^(?:${rule})$`).test(name));
}

/**
 * The min-healthy guard: refuses a fault that would leave fewer than `minHealthy` healthy targets.
 * `healthy` counts all healthy candidates now; `hitHealthy` those the fault would take out.
 */
export function checkMinHealthy(options: { minHealthy: number | undefined; healthy: number; hitHealthy: number; what: string }): void {
  const { minHealthy, healthy, hitHealthy, what } = options;
  if (minHealthy === undefined) return;
  const left = healthy - hitHealthy;
  if (left < minHealthy) {
    throw new FaultlineError('E_PREFLIGHT', `refused: this fault would leave ${left} healthy ${what} (${healthy} now, ${hitHealthy} hit), below the minimum of ${minHealthy}`, {
      hint: 'lower the count or percent, or the minimum, if this blast radius is intended',
    });
  }
}

/** A selector that matched nothing is an error unless the experiment says it may. */
export function requireMatches(count: number, options: { allowEmpty?: boolean | undefined; what: string; selector: string; hint?: string }): void {
  if (count > 0 || options.allowEmpty) return;
  throw new FaultlineError('E_PREFLIGHT', `no ${options.what} matches ${options.selector}`, {
    hint: options.hint ?? 'check the selector, or set allowEmpty: true if an empty selection is expected',
  });
}
