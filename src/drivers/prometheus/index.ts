// The `prometheus` driver: a probe that runs a PromQL query (instant, or over a trailing window) and
// checks every returned series against its tolerances, so a steady state, a method probe, an `until`
// poll or an abort condition can read what a team already watches. Read-only: no actions, no undo.
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import type { Driver, DriverContext, Output, ProbeDefinition } from '../types.js';
import { boundsShape, describeBounds, emptyShape, findBreaches, formatValue } from '../../core/series-bounds.js';
import { checkReady, connectionFor, queryInstant, queryRange, seriesName, targetSchema, type PrometheusTarget, type Series } from './client.js';

const queryArgs = z.strictObject({
  query: z.string().min(1).meta({ description: 'The PromQL expression, e.g. sum(rate(http_errors_total[30s])) / sum(rate(http_requests_total[30s])).' }),
  over: durationSchema.optional().meta({ description: 'Run a range query over this trailing window (e.g. 1m) and check every sample, not only the latest.' }),
  step: durationSchema.optional().meta({ description: 'Resolution of the range query (default: over / 60, at least 1s).' }),
  url: z.url({ protocol: /^https?$/ }).optional().meta({ description: 'Another Prometheus than targets.prometheus.url (same auth and TLS).' }),
  ...boundsShape,
  ...emptyShape,
});
type QueryArgs = z.output<typeof queryArgs>;

/** How many series the output lists in full; the count and the breaches cover them all. */
const MAX_SERIES_SHOWN = 50;

export interface SeriesReading {
  series: string;
  labels: Record<string, string>;
  /** The latest value. */
  value: number | string;
  min?: number | string;
  max?: number | string;
  samples?: number;
}

/** A number for the output, or its text when JSON cannot hold it (NaN, ±Inf). */
function jsonNumber(value: number): number | string {
  return Number.isFinite(value) ? value : formatValue(value);
}

export function readingsOf(series: Series[]): SeriesReading[] {
  return series.slice(0, MAX_SERIES_SHOWN).map((s) => {
    const values = s.samples.map(([, v]) => v);
    const reading: SeriesReading = { series: seriesName(s.labels), labels: s.labels, value: jsonNumber(values.at(-1) ?? Number.NaN) };
    if (values.length > 1) {
      const finite = values.filter((v) => !Number.isNaN(v));
      reading.min = jsonNumber(finite.length ? Math.min(...finite) : Number.NaN);
      reading.max = jsonNumber(finite.length ? Math.max(...finite) : Number.NaN);
      reading.samples = values.length;
    }
    return reading;
  });
}

export async function runQueryProbe(args: QueryArgs, ctx: DriverContext): Promise<Output> {
  const connection = connectionFor(ctx.target as PrometheusTarget | undefined, ctx.cwd, args.url);
  const now = Date.now();
  let series: Series[];
  let window: Record<string, unknown>;
  if (args.over !== undefined) {
    const step = args.step ?? Math.max(1000, Math.round(args.over / 60));
    series = await queryRange(connection, args.query, now - args.over, now, step, ctx.signal);
    window = { over: formatDuration(args.over), step: formatDuration(step), from: new Date(now - args.over).toISOString(), to: new Date(now).toISOString() };
  } else {
    series = await queryInstant(connection, args.query, ctx.signal, now);
    window = { at: new Date(now).toISOString() };
  }
  const breaches = findBreaches(series, args, args.empty);
  const readings = readingsOf(series);
  return {
    query: args.query,
    url: connection.url,
    ...window,
    tolerance: describeBounds(args),
    count: series.length,
    // One series (a sum, a ratio): its value at the top level, so `expect: {value: …}` reads naturally.
    ...(series.length === 1 ? { value: readings[0]!.value } : {}),
    series: readings,
    breaches,
  };
}

const query: ProbeDefinition<QueryArgs> = {
  description: 'Run a PromQL query (instant, or a range over `over`) and check every series against max/min/between/equals.',
  args: queryArgs,
  outputs: {
    query: 'the PromQL expression run',
    url: 'the Prometheus queried',
    at: 'evaluation time of an instant query',
    from: 'start of a range query (with to, over, step)',
    tolerance: 'the bounds in words, e.g. "at most 0.05"',
    count: 'how many series the query returned',
    value: 'the latest value, when the query returned exactly one series',
    series: `each series (up to ${MAX_SERIES_SHOWN}): labels, latest value, and over a range its min, max and sample count`,
    breaches: 'one line per series outside the bounds, or for an empty result; empty when the tolerances hold',
  },
  // The tolerances live in `with`; a probe holds when no series breaches them.
  defaultExpect: { breaches: { equals: [] } },
  run: (args, ctx) => runQueryProbe(args, ctx),
};

export const prometheusDriver = {
  name: 'prometheus',
  description: 'PromQL queries as probes, with tolerances on every returned series; read-only.',
  target: targetSchema,
  async preflight(ctx) {
    const connection = connectionFor(ctx.target as PrometheusTarget | undefined, ctx.cwd);
    // A steady state or an abort read from a Prometheus that is down would judge nothing: refuse first.
    await checkReady(connection, ctx.signal);
  },
  defaultProbe: 'query',
  actions: {},
  probes: { query },
  undos: {},
} satisfies Driver;
