// The Prometheus queries metric verdicts read, run by the engine once the method is over: a range
// query over each judged fault's window (retries), or until the metric is back (self-healing, bounded
// by its objective). Every sample goes into journal.metrics, so the verdicts, like everything else,
// are judged from the journal alone. Reading never throws: an unreadable query is recorded as such.
import { connectionFor, queryRange, type PrometheusTarget, type Series } from '../drivers/prometheus/client.js';
import { errorMessage } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { faultsFor } from '../verdicts/evaluate.js';
import { recoveryOf } from '../verdicts/metric.js';
import type { VerdictsSpec } from '../verdicts/schema.js';
import type { FaultRecord, Journal, MetricReading } from './journal.js';

/** Samples kept per series: a 10 min window at 1 s. */
const MAX_SAMPLES = 600;
/** Scrapes and rule evaluation lag behind the clock: wait this much past a window's end before reading it. */
const INGEST_LAG_MS = 2_000;

export interface MetricReadingContext {
  target: PrometheusTarget | undefined;
  cwd: string;
  clock: Clock;
  signal: AbortSignal;
}

function hasMetrics(spec: VerdictsSpec | undefined): boolean {
  return spec?.retries?.metric !== undefined || spec?.['self-healing']?.metric !== undefined;
}

const effective = (f: FaultRecord) => f.appliedAt !== undefined && ['applied', 'undone', 'undo-failed', 'irreversible', 'kept'].includes(f.status);

export async function readVerdictMetrics(spec: VerdictsSpec | undefined, journal: Journal, ctx: MetricReadingContext): Promise<MetricReading[]> {
  if (!hasMetrics(spec)) return [];
  const readings: MetricReading[] = [];
  const retries = spec?.retries;
  if (retries?.metric) {
    const faults = faultsFor(journal, retries.faults).filter(effective);
    const latestEnd = Math.max(0, ...faults.map((f) => Date.parse(f.undoneAt ?? journal.endedAt)));
    // The last samples of a window are scraped a moment after it closes.
    const wait = latestEnd + INGEST_LAG_MS - ctx.clock.date().getTime();
    if (wait > 0) await ctx.clock.sleep(wait, ctx.signal).catch(() => undefined);
    for (const fault of faults) {
      const from = Date.parse(fault.appliedAt!);
      const to = fault.undoneAt ? Date.parse(fault.undoneAt) : ctx.clock.date().getTime();
      readings.push(await read(ctx, 'retries', 'judged', fault.key, retries.metric.query, from, to, retries.metric.step));
      if (retries.metric.reached) readings.push(await read(ctx, 'retries', 'reached', fault.key, retries.metric.reached.query, from, to, retries.metric.step));
    }
  }
  const healing = spec?.['self-healing'];
  if (healing?.metric) {
    const faults = faultsFor(journal, healing.faults).filter(effective);
    const last = faults.reduce<FaultRecord | undefined>((a, b) => (a === undefined || (a.appliedAt ?? '') < (b.appliedAt ?? '') ? b : a), undefined);
    if (last) {
      const from = Date.parse(last.appliedAt!);
      const deadline = from + healing.within + INGEST_LAG_MS;
      // Polled until the metric is back or the objective (plus the scrape lag) has passed: bounded by `within`.
      for (;;) {
        const to = Math.min(ctx.clock.date().getTime(), deadline);
        const reading = await read(ctx, 'self-healing', 'judged', last.key, healing.metric.query, from, to, healing.metric.step);
        const recovery = reading.error === undefined ? recoveryOf(reading, healing.metric) : undefined;
        if (reading.error !== undefined || recovery?.backAt !== undefined || to >= deadline || ctx.signal.aborted) {
          readings.push(reading);
          break;
        }
        await ctx.clock.sleep(Math.max(500, healing.metric.step), ctx.signal).catch(() => undefined);
      }
    }
  }
  return readings;
}

async function read(
  ctx: MetricReadingContext,
  verdict: MetricReading['verdict'],
  role: MetricReading['role'],
  fault: string,
  query: string,
  from: number,
  to: number,
  stepMs: number,
): Promise<MetricReading> {
  const connection = connectionFor(ctx.target, ctx.cwd);
  const base = { verdict, role, fault, query, url: connection.url, from: new Date(from).toISOString(), to: new Date(to).toISOString(), stepMs };
  try {
    const series = await queryRange(connection, query, from, Math.max(to, from + stepMs), stepMs, ctx.signal);
    return { ...base, series: series.map(toJournalSeries) };
  } catch (error) {
    return { ...base, series: [], error: errorMessage(error) };
  }
}

function toJournalSeries(s: Series): MetricReading['series'][number] {
  return { labels: s.labels, samples: s.samples.slice(-MAX_SAMPLES).map(([t, v]) => [t, Number.isFinite(v) ? v : String(v)]) };
}
