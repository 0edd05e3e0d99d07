// Verdicts judged from Prometheus: the samples the engine read after the method (journal.metrics).
// retries: every sample of the error-ratio query within its bounds over each fault window, with
// evidence that the fault reached the traffic. self-healing: the time from the fault until the query
// holds again, after the metric showed the loss. A metric that never saw the fault proves nothing:
// not-exercised, never a pass.
import { formatDuration } from '../core/duration.js';
import { describeBounds, findBreaches, formatValue, valueHolds, type Series, type SeriesBounds } from '../core/series-bounds.js';
import type { FaultRecord, Journal, MetricReading } from '../engine/journal.js';
import type { VerdictsSpec } from './schema.js';
import type { VerdictCheck, VerdictName, VerdictRecord, VerdictResult } from './types.js';

type RetriesSpec = NonNullable<VerdictsSpec['retries']>;
type SelfHealingSpec = NonNullable<VerdictsSpec['self-healing']>;
type MetricBounds = SeriesBounds & { empty: 'miss' | 'pass' };

const ms = (value: number) => formatDuration(Math.round(value));

export function seriesOf(reading: MetricReading): Series[] {
  return reading.series.map((s) => ({ labels: s.labels, samples: s.samples.map(([t, v]) => [t, Number(v)] as [number, number]) }));
}

function sampleCount(reading: MetricReading): number {
  return reading.series.reduce((sum, s) => sum + s.samples.length, 0);
}

/**
 * When the query first stopped holding after the fault (the loss), and when it held again after that.
 * At each evaluation time the query holds when every series present holds; no series at all counts
 * per `empty` (an instance gone from a `up == 1` filter is a miss by default).
 */
export function recoveryOf(reading: MetricReading, bounds: MetricBounds): { lostAt?: number; backAt?: number } {
  const byTime = new Map<number, number[]>();
  for (const s of seriesOf(reading)) for (const [t, v] of s.samples) byTime.set(t, [...(byTime.get(t) ?? []), v]);
  const from = Date.parse(reading.from);
  const to = Date.parse(reading.to);
  const times: number[] = [];
  for (let t = from; t <= to; t += reading.stepMs) times.push(t);
  let lostAt: number | undefined;
  for (const t of times) {
    // Range query timestamps are aligned to `from`; match each to the nearest sample within half a step.
    const values = [...byTime.entries()].filter(([at]) => Math.abs(at - t) <= reading.stepMs / 2).flatMap(([, v]) => v);
    const holds = values.length === 0 ? bounds.empty === 'pass' : values.every((v) => valueHolds(v, bounds));
    if (lostAt === undefined && !holds) lostAt = t;
    else if (lostAt !== undefined && holds) return { lostAt, backAt: t };
  }
  return lostAt === undefined ? {} : { lostAt };
}

function verdict(name: VerdictName, title: string | undefined, result: VerdictResult, summary: string, faults: string[], checks: VerdictCheck[], figures: Record<string, number | null>): VerdictRecord {
  return { name, ...(title ? { title } : {}), result, evidence: { summary, faults, windows: [], checks, figures } };
}

/** Worst first: a fail outweighs a not-exercised, which outweighs a pass. */
function worst(results: VerdictResult[]): VerdictResult {
  if (results.includes('fail')) return 'fail';
  if (results.includes('not-exercised')) return 'not-exercised';
  return 'pass';
}

/** The metric's judgement and the workload's (or probe's), when a verdict declares both: both must hold. */
export function combineVerdicts(metric: VerdictRecord, other: VerdictRecord | undefined): VerdictRecord {
  if (!other) return metric;
  return {
    ...metric,
    result: worst([metric.result, other.result]),
    evidence: {
      summary: `${other.evidence.summary}; from Prometheus: ${metric.evidence.summary}`,
      faults: [...new Set([...other.evidence.faults, ...metric.evidence.faults])],
      windows: other.evidence.windows,
      checks: [...other.evidence.checks, ...metric.evidence.checks],
      figures: { ...other.evidence.figures, ...metric.evidence.figures },
    },
  };
}

function readingsFor(journal: Journal, name: MetricReading['verdict'], fault: string, role: MetricReading['role']): MetricReading | undefined {
  return (journal.metrics ?? []).find((r) => r.verdict === name && r.fault === fault && r.role === role);
}

function judgedFaults(journal: Journal, ids: readonly string[] | undefined): FaultRecord[] {
  const all = ids ? journal.faults.filter((f) => ids.some((id) => f.key === id || f.key.startsWith(`${id}#`))) : journal.faults;
  return all;
}

export function judgeRetriesByMetric(spec: RetriesSpec, journal: Journal): VerdictRecord {
  const metric = spec.metric!;
  const faults = judgedFaults(journal, spec.faults);
  const name = 'retries';
  const keys = faults.map((f) => f.key);
  const readFaults = faults.filter((f) => readingsFor(journal, name, f.key, 'judged'));
  if (readFaults.length === 0) {
    const how = faults.length === 0 ? 'no fault of the method is judged by this verdict' : `its faults never took effect: ${faults.map((f) => `${f.key} ${f.status}`).join(', ')}`;
    return verdict(name, spec.title, 'not-exercised', how, keys, [], {});
  }
  const checks: VerdictCheck[] = [];
  const figures: Record<string, number | null> = {};
  const results: VerdictResult[] = [];
  const notes: string[] = [];
  for (const fault of readFaults) {
    const reading = readingsFor(journal, name, fault.key, 'judged')!;
    const label = readFaults.length > 1 ? ` (${fault.key})` : '';
    if (reading.error !== undefined) {
      results.push('not-exercised');
      notes.push(`Prometheus could not be read for ${fault.name}: ${reading.error}`);
      continue;
    }
    const samples = sampleCount(reading);
    figures[`samples${label}`] = samples;
    const series = seriesOf(reading);
    const values = series.flatMap((s) => s.samples.map(([, v]) => v)).filter((v) => !Number.isNaN(v));
    figures[`max${label}`] = values.length ? Math.max(...values) : null;
    const breaches = findBreaches(series, metric, metric.empty);
    const bound = describeBounds(metric);
    checks.push({ what: `${metric.query}${label}`, bound, measured: breaches.length ? breaches.join('; ') : `${samples} samples, highest ${values.length ? formatValue(Math.max(...values)) : 'none'}`, ok: breaches.length === 0 });
    if (breaches.length > 0) {
      results.push('fail');
      continue;
    }
    if (samples < metric.minSamples) {
      results.push('not-exercised');
      notes.push(`only ${samples} sample(s) while ${fault.name} was live (at least ${metric.minSamples} needed)`);
      continue;
    }
    // Reach: the experiment's own evidence query, or the driver's; a quiet metric alone proves nothing.
    const reached = readingsFor(journal, name, fault.key, 'reached');
    let reachedBy: string | undefined;
    if (reached && reached.error === undefined && metric.reached) {
      const hit = seriesOf(reached).flatMap((s) => s.samples).find(([, v]) => valueHolds(v, metric.reached!));
      if (hit) reachedBy = `${metric.reached.query} = ${formatValue(hit[1])} (${describeBounds(metric.reached)})`;
      checks.push({ what: `reached${label}: ${metric.reached.query}`, bound: `${describeBounds(metric.reached)} at least once`, measured: hit ? formatValue(hit[1]) : 'never', ok: hit !== undefined });
    } else if (fault.reach?.reached === true) {
      reachedBy = fault.reach.summary;
    }
    if (reachedBy === undefined) {
      results.push('not-exercised');
      notes.push(
        metric.reached
          ? `no evidence that ${fault.name} reached the traffic: ${metric.reached.query} never met ${describeBounds(metric.reached)}${reached?.error ? ` (${reached.error})` : ''}`
          : `no evidence that ${fault.name} reached the traffic: add metric.reached, a query that shows it (failed backend calls, min: 1)`,
      );
      continue;
    }
    results.push('pass');
  }
  const result = worst(results);
  const failed = checks.filter((c) => !c.ok && !c.what.startsWith('reached'));
  const summary =
    result === 'fail'
      ? failed.map((c) => `${c.measured}`).join('; ')
      : result === 'not-exercised'
        ? notes.join('; ')
        : `${checks.filter((c) => !c.what.startsWith('reached')).map((c) => `${c.what}: ${c.measured}, bound ${c.bound}`).join('; ')} while ${readFaults.map((f) => f.name).join(', ')} ${readFaults.length > 1 ? 'were' : 'was'} live`;
  return verdict(name, spec.title, result, summary, readFaults.map((f) => f.key), checks, figures);
}

export function judgeSelfHealingByMetric(spec: SelfHealingSpec, journal: Journal): VerdictRecord {
  const metric = spec.metric!;
  const name = 'self-healing';
  const reading = (journal.metrics ?? []).find((r) => r.verdict === name && r.role === 'judged');
  const faults = judgedFaults(journal, spec.faults);
  if (!reading) {
    const how = faults.length === 0 ? 'no fault of the method is judged by this verdict' : `its faults never took effect: ${faults.map((f) => `${f.key} ${f.status}`).join(', ')}`;
    return verdict(name, spec.title, 'not-exercised', how, faults.map((f) => f.key), [], {});
  }
  const fault = journal.faults.find((f) => f.key === reading.fault)!;
  if (reading.error !== undefined) return verdict(name, spec.title, 'not-exercised', `Prometheus could not be read: ${reading.error}`, [fault.key], [], { recoveryMs: null });
  const { lostAt, backAt } = recoveryOf(reading, metric);
  const applied = Date.parse(fault.appliedAt!);
  if (lostAt === undefined) {
    return verdict(name, spec.title, 'not-exercised', `${metric.query} held (${describeBounds(metric)}) on every sample after ${fault.name}: the metric never saw the loss, so it cannot tell a recovery`, [fault.key], [], { recoveryMs: null });
  }
  const recoveryMs = backAt === undefined ? null : Math.max(0, backAt - applied);
  const checks: VerdictCheck[] = [
    {
      what: `time until ${metric.query} is back (${describeBounds(metric)})`,
      bound: `≤ ${ms(spec.within)}`,
      measured: recoveryMs === null ? `not back by ${reading.to}` : `${ms(recoveryMs)} (lost ${ms(lostAt - applied)} after the fault; ${ms(reading.stepMs)} resolution)`,
      ok: recoveryMs !== null && recoveryMs <= spec.within,
    },
  ];
  if (spec.steadyState && journal.hypothesis.before !== undefined) {
    const after = journal.hypothesis.after;
    checks.push({ what: 'steady state after', bound: 'met', measured: after === undefined ? 'not checked' : after.met ? 'met' : 'missed', ok: after?.met === true });
  }
  const failed = checks.filter((c) => !c.ok);
  const summary =
    failed.length === 0
      ? `${metric.query} back ${ms(recoveryMs!)} after ${fault.name} (objective ${ms(spec.within)})`
      : failed.map((c) => `${c.what}: ${c.measured} (expected ${c.bound})`).join('; ');
  return verdict(name, spec.title, failed.length > 0 ? 'fail' : 'pass', summary, [fault.key], checks, { recoveryMs, lostAfterMs: lostAt - applied });
}
