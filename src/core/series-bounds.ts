// Tolerances on the series a PromQL query returns (max, min, between, equals), checked on every sample
// of every series, and what an empty result means. In the core because the prometheus probe and the
// metric verdicts both read bounds, and neither layer may import the other: both explain a breach in
// the same words.
import { z } from 'zod';

/** One series of a query result: its labels and its samples as [epoch ms, value]. */
export interface Series {
  labels: Record<string, string>;
  samples: [number, number][];
}

/** `{job="api",instance="a"}`, or `{}` for a series without labels (a scalar, a sum). */
export function seriesName(labels: Record<string, string>): string {
  const { __name__: name, ...rest } = labels;
  const inner = Object.entries(rest)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${name ?? ''}{${inner}}`;
}

export const boundsShape = {
  max: z.number().optional().meta({ description: 'Every value of every series must be at most this.' }),
  min: z.number().optional().meta({ description: 'Every value of every series must be at least this.' }),
  between: z
    .tuple([z.number(), z.number()])
    .optional()
    .meta({ description: 'Every value must lie in [low, high], bounds included.' }),
  equals: z.number().optional().meta({ description: 'Every value must equal this (up/down: 1 or 0).' }),
};

export const emptyShape = {
  empty: z
    .enum(['miss', 'pass'])
    .default('miss')
    .meta({ description: 'What a query returning no series means: a miss (default: a typo in a label looks like an empty result) or a pass.' }),
};

export interface SeriesBounds {
  max?: number | undefined;
  min?: number | undefined;
  between?: [number, number] | undefined;
  equals?: number | undefined;
}

export function hasBounds(bounds: SeriesBounds): boolean {
  return bounds.max !== undefined || bounds.min !== undefined || bounds.between !== undefined || bounds.equals !== undefined;
}

/** The bounds in words: "at most 0.05", "between 1 and 3", "= 1". */
export function describeBounds(bounds: SeriesBounds): string {
  const parts: string[] = [];
  if (bounds.equals !== undefined) parts.push(`= ${bounds.equals}`);
  if (bounds.between !== undefined) parts.push(`between ${bounds.between[0]} and ${bounds.between[1]}`);
  if (bounds.min !== undefined && bounds.max !== undefined) parts.push(`between ${bounds.min} and ${bounds.max}`);
  else if (bounds.min !== undefined) parts.push(`at least ${bounds.min}`);
  else if (bounds.max !== undefined) parts.push(`at most ${bounds.max}`);
  return parts.length > 0 ? parts.join(' and ') : 'any value';
}

/** NaN (0/0: a ratio with no traffic) holds no bound: it says nothing about health. */
export function valueHolds(value: number, bounds: SeriesBounds): boolean {
  if (Number.isNaN(value)) return !hasBounds(bounds);
  if (bounds.max !== undefined && value > bounds.max) return false;
  if (bounds.min !== undefined && value < bounds.min) return false;
  if (bounds.between !== undefined && (value < bounds.between[0] || value > bounds.between[1])) return false;
  if (bounds.equals !== undefined && value !== bounds.equals) return false;
  return true;
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(Number(value.toPrecision(6)));
}

/**
 * One readable line per series outside its bounds (its worst sample), or one for an empty result that
 * counts as a miss; an empty list means the tolerances hold.
 */
export function findBreaches(series: Series[], bounds: SeriesBounds, empty: 'miss' | 'pass'): string[] {
  if (series.length === 0 || series.every((s) => s.samples.length === 0)) {
    return empty === 'miss' ? ['the query returned no series (a label that matches nothing looks the same; set `empty: pass` if none is healthy)'] : [];
  }
  const breaches: string[] = [];
  for (const s of series) {
    const outside = s.samples.filter(([, v]) => !valueHolds(v, bounds));
    if (outside.length === 0) continue;
    const worst = outside.reduce((a, b) => (distance(b[1], bounds) > distance(a[1], bounds) ? b : a));
    const where = s.samples.length > 1 ? ` (${outside.length} of ${s.samples.length} samples outside, worst at ${new Date(worst[0]).toISOString()})` : '';
    breaches.push(`${seriesName(s.labels)} = ${formatValue(worst[1])}, expected ${describeBounds(bounds)}${where}`);
  }
  return breaches;
}

/** How far a value lies outside its bounds, to pick the worst sample; NaN counts as furthest. */
function distance(value: number, bounds: SeriesBounds): number {
  if (Number.isNaN(value)) return Infinity;
  let d = 0;
  if (bounds.max !== undefined) d = Math.max(d, value - bounds.max);
  if (bounds.min !== undefined) d = Math.max(d, bounds.min - value);
  if (bounds.between !== undefined) d = Math.max(d, bounds.between[0] - value, value - bounds.between[1]);
  if (bounds.equals !== undefined) d = Math.max(d, Math.abs(value - bounds.equals));
  return d;
}
