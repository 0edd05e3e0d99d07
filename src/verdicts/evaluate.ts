// Turns a journal into resilience verdicts: each declared verdict reads the windows of the faults it
// judges (or, for self-healing, its probe) and yields pass, fail or not-exercised with the numbers.
// A verdict whose faults never took effect, or whose windows saw too little traffic, is
// not-exercised: it must never pass on evidence it does not have.
import { formatDuration } from '../core/duration.js';
import { formatRatio } from '../core/ratio.js';
import type { ActivityRecord, FaultRecord, Journal } from '../engine/journal.js';
import type { WorkloadWindow } from '../workload/types.js';
import { combineVerdicts, judgeRetriesByMetric, judgeSelfHealingByMetric } from './metric.js';
import type { VerdictsSpec } from './schema.js';
import type { VerdictCheck, VerdictEvidence, VerdictName, VerdictRecord } from './types.js';

/** Statuses of a fault that did take effect at some point. */
const TOOK_EFFECT = new Set<FaultRecord['status']>(['applied', 'undone', 'undo-failed', 'irreversible', 'kept']);

const ms = (value: number) => formatDuration(Math.round(value));

export function faultsFor(journal: Pick<Journal, 'faults'>, ids: readonly string[] | undefined): FaultRecord[] {
  if (!ids) return journal.faults;
  return journal.faults.filter((f) => ids.some((id) => f.key === id || f.key.startsWith(`${id}#`)));
}

function tookEffect(fault: FaultRecord): boolean {
  return TOOK_EFFECT.has(fault.status) && fault.appliedAtMs !== undefined;
}

interface Judged {
  name: VerdictName;
  title: string | undefined;
  faults: FaultRecord[];
}

function notExercised(judged: Judged, summary: string, extra: Partial<VerdictEvidence> = {}): VerdictRecord {
  return record(judged, 'not-exercised', { summary, faults: judged.faults.map((f) => f.key), windows: [], checks: [], figures: {}, ...extra });
}

function record(judged: Judged, result: VerdictRecord['result'], evidence: VerdictEvidence): VerdictRecord {
  return { name: judged.name, ...(judged.title ? { title: judged.title } : {}), result, evidence };
}

/** The faults that took effect, or the not-exercised verdict that says why there are none. */
function effectiveFaults(judged: Judged): FaultRecord[] | VerdictRecord {
  if (judged.faults.length === 0) return notExercised(judged, 'no fault of the method is judged by this verdict');
  const effective = judged.faults.filter(tookEffect);
  if (effective.length === 0) {
    const how = judged.faults.map((f) => `${f.key} ${f.status}${f.error ? ` (${f.error.message})` : ''}`).join(', ');
    return notExercised(judged, `its faults never took effect: ${how}`);
  }
  return effective;
}

/** Each effective fault's window, or the not-exercised verdict when traffic is missing or too thin. */
function faultWindows(judged: Judged, journal: Journal, minRequests: number): { faults: FaultRecord[]; windows: WorkloadWindow[] } | VerdictRecord {
  const effective = effectiveFaults(judged);
  if (!Array.isArray(effective)) return effective;
  if (!journal.workload) return notExercised(judged, 'the experiment drives no workload, so there is no traffic to judge');
  const windows = effective.map((f) => journal.windows.find((w) => w.kind === 'fault' && w.fault === f.key)).filter((w): w is WorkloadWindow => w !== undefined);
  const requests = windows.reduce((sum, w) => sum + w.requests, 0);
  if (requests < minRequests) {
    return notExercised(judged, `only ${requests} request(s) while its faults were live (at least ${minRequests} needed to judge)`, {
      windows: windows.map((w) => w.name),
      figures: { requests },
    });
  }
  return { faults: effective, windows };
}

function conclude(judged: Judged, faults: FaultRecord[], windows: WorkloadWindow[], checks: VerdictCheck[], figures: Record<string, number | null>): VerdictRecord {
  const failed = checks.filter((c) => !c.ok);
  const shown = (failed.length > 0 ? failed : checks).map((c) => `${c.what} ${c.measured}, bound ${c.bound}`);
  const where = windows.length === 1 ? `while ${windows[0]!.name.replace(/^fault /, '')} was live` : `over ${windows.length} fault windows`;
  const requests = windows.reduce((sum, w) => sum + w.requests, 0);
  const summary = `${shown.join('; ')}: ${where}, ${requests} requests`;
  return record(judged, failed.length > 0 ? 'fail' : 'pass', { summary, faults: faults.map((f) => f.key), windows: windows.map((w) => w.name), checks, figures });
}

type TimeoutsSpec = NonNullable<VerdictsSpec['timeouts']>;
type RetriesSpec = NonNullable<VerdictsSpec['retries']>;
type FailoverSpec = NonNullable<VerdictsSpec['failover']>;
type SelfHealingSpec = NonNullable<VerdictsSpec['self-healing']>;

function judgeTimeouts(spec: TimeoutsSpec, journal: Journal): VerdictRecord {
  const judged: Judged = { name: 'timeouts', title: spec.title, faults: faultsFor(journal, spec.faults) };
  const found = faultWindows(judged, journal, spec.minRequests);
  if (!('windows' in found)) return found;
  const checks: VerdictCheck[] = [];
  const figures: Record<string, number | null> = {};
  for (const window of found.windows) {
    const label = found.windows.length > 1 ? ` (${window.fault ?? window.name})` : '';
    for (const [key, bound] of Object.entries(spec.latency) as [keyof TimeoutsSpec['latency'], number | undefined][]) {
      if (bound === undefined) continue;
      const measured = window.latency?.[key] ?? null;
      figures[`${key}${label}`] = measured;
      checks.push({ what: `${key} latency${label}`, bound: `≤ ${ms(bound)}`, measured: measured === null ? 'no answers' : ms(measured), ok: measured !== null && measured <= bound });
    }
    // A request the workload could not even send (every slot held by a hanging one) has no latency,
    // and leaving it out would flatter the percentiles.
    if (window.outcomes.dropped > 0) {
      checks.push({ what: `requests dropped${label}`, bound: '= 0', measured: `${window.outcomes.dropped} (all slots held by slow requests)`, ok: false });
    }
  }
  return conclude(judged, found.faults, found.windows, checks, figures);
}

function judgeRetries(spec: RetriesSpec & { errorRate: number }, journal: Journal): VerdictRecord {
  const judged: Judged = { name: 'retries', title: spec.title, faults: faultsFor(journal, spec.faults) };
  const found = faultWindows(judged, journal, spec.minRequests);
  if (!('windows' in found)) return found;
  const checks = found.windows.map((w): VerdictCheck => {
    const label = found.windows.length > 1 ? ` (${w.fault ?? w.name})` : '';
    return { what: `error rate${label}`, bound: `≤ ${formatRatio(spec.errorRate)}`, measured: `${formatRatio(w.errorRate ?? 0)} (${w.errors}/${w.requests})`, ok: (w.errorRate ?? 0) <= spec.errorRate };
  });
  const figures = Object.fromEntries(found.windows.map((w) => [`errorRate (${w.fault ?? w.name})`, w.errorRate]));
  return conclude(judged, found.faults, found.windows, checks, figures);
}

function judgeFailover(spec: FailoverSpec, journal: Journal): VerdictRecord {
  const judged: Judged = { name: 'failover', title: spec.title, faults: faultsFor(journal, spec.faults) };
  const found = faultWindows(judged, journal, spec.minRequests);
  if (!('windows' in found)) return found;
  const checks: VerdictCheck[] = [];
  const figures: Record<string, number | null> = {};
  for (const w of found.windows) {
    const label = found.windows.length > 1 ? ` (${w.fault ?? w.name})` : '';
    const rate = w.successRate ?? 0;
    figures[`successRate${label}`] = w.successRate;
    figures[`longestGapMs${label}`] = w.longestGapMs;
    checks.push({ what: `success rate${label}`, bound: `≥ ${formatRatio(spec.successRate)}`, measured: `${formatRatio(rate)} (${w.ok}/${w.requests})`, ok: rate >= spec.successRate });
    if (spec.longestGap !== undefined) {
      checks.push({ what: `longest outage${label}`, bound: `≤ ${ms(spec.longestGap)}`, measured: ms(w.longestGapMs), ok: w.longestGapMs <= spec.longestGap });
    }
  }
  return conclude(judged, found.faults, found.windows, checks, figures);
}

/** The probe's last record in the method: the one that says whether the instance came back. */
function recoveryProbe(journal: Journal, id: string): ActivityRecord | undefined {
  return journal.activities.filter((a) => a.phase === 'method' && a.kind === 'probe' && (a.key === id || a.key.startsWith(`${id}#`))).at(-1);
}

function judgeSelfHealing(spec: SelfHealingSpec & { probe: string }, journal: Journal): VerdictRecord {
  const judged: Judged = { name: 'self-healing', title: spec.title, faults: faultsFor(journal, spec.faults) };
  const effective = effectiveFaults(judged);
  if (!Array.isArray(effective)) return effective;
  const probe = recoveryProbe(journal, spec.probe);
  if (!probe || probe.status === 'skipped' || probe.status === 'cancelled') {
    return notExercised(judged, `the recovery probe ${spec.probe} did not run${probe ? ` (${probe.status})` : ''}`);
  }
  const lastFault = effective.reduce((a, b) => ((a.appliedAt ?? '') >= (b.appliedAt ?? '') ? a : b));
  const output = (probe.output ?? {}) as { recovered?: unknown; recoveryMs?: unknown };
  // A driver that measures recovery itself (docker, kubernetes) says so; otherwise the probe's
  // success time, counted from the fault's application, is the time to recover.
  const measuredByDriver = typeof output.recoveryMs === 'number' || typeof output.recovered === 'boolean';
  if (!measuredByDriver && lastFault.appliedAt && Date.parse(probe.startedAt) < Date.parse(lastFault.appliedAt)) {
    // Its answer may predate the fault: the instance it saw may be the one about to be lost.
    return notExercised(judged, `the recovery probe ${spec.probe} started before ${lastFault.name} had taken effect, so it may have seen the instance before the fault; start it with \`after: ${lastFault.key.split('#')[0]}\``, {
      checks: [],
      figures: { recoveryMs: null },
    });
  }
  const recovered = probe.status === 'succeeded' && output.recovered !== false;
  let recoveryMs: number | null = null;
  if (recovered) {
    if (typeof output.recoveryMs === 'number') recoveryMs = output.recoveryMs;
    else if (lastFault.appliedAt) recoveryMs = Math.max(0, Date.parse(probe.endedAt) - Date.parse(lastFault.appliedAt));
  }
  const checks: VerdictCheck[] = [
    {
      what: 'time to recover',
      bound: `≤ ${ms(spec.within)}`,
      measured: recoveryMs !== null ? ms(recoveryMs) : `not back (${probe.name} ${probe.status}${probe.attempts ? ` after ${probe.attempts} tries` : ''}${probe.error ? `: ${probe.error.message}` : ''})`,
      ok: recoveryMs !== null && recoveryMs <= spec.within,
    },
  ];
  const hasHypothesis = journal.hypothesis.before !== undefined;
  if (spec.steadyState && hasHypothesis) {
    const after = journal.hypothesis.after;
    checks.push({
      what: 'steady state after',
      bound: 'met',
      measured: after === undefined ? 'not checked' : after.met ? 'met' : 'missed',
      ok: after?.met === true,
    });
  }
  const failed = checks.filter((c) => !c.ok);
  const summary =
    failed.length === 0
      ? `back ${ms(recoveryMs!)} after ${lastFault.name} (objective ${ms(spec.within)})${checks.length > 1 ? '; steady state met after' : ''}`
      : failed.map((c) => `${c.what}: ${c.measured} (expected ${c.bound})`).join('; ');
  return record(judged, failed.length > 0 ? 'fail' : 'pass', {
    summary,
    faults: effective.map((f) => f.key),
    windows: [],
    checks,
    figures: { recoveryMs, ...(measuredByDriver ? { measuredByDriver: 1 } : {}) },
  });
}

/** Every declared verdict, in the fixed order timeouts, retries, failover, self-healing. */
export function evaluateVerdicts(spec: VerdictsSpec | undefined, journal: Journal): VerdictRecord[] {
  if (!spec) return [];
  const verdicts: VerdictRecord[] = [];
  if (spec.timeouts) verdicts.push(judgeTimeouts(spec.timeouts, journal));
  if (spec.retries) verdicts.push(fromMetricAndTraffic(spec.retries, journal));
  if (spec.failover) verdicts.push(judgeFailover(spec.failover, journal));
  if (spec['self-healing']) verdicts.push(fromMetricAndProbe(spec['self-healing'], journal));
  return verdicts;
}

// Verdicts read from Prometheus (verdicts/metric.ts), alone or besides the workload or the probe.
function fromMetricAndTraffic(spec: RetriesSpec, journal: Journal): VerdictRecord {
  const traffic = spec.errorRate !== undefined ? judgeRetries({ ...spec, errorRate: spec.errorRate }, journal) : undefined;
  return spec.metric ? combineVerdicts(judgeRetriesByMetric(spec, journal), traffic) : traffic!;
}

function fromMetricAndProbe(spec: SelfHealingSpec, journal: Journal): VerdictRecord {
  const probe = spec.probe !== undefined ? judgeSelfHealing({ ...spec, probe: spec.probe }, journal) : undefined;
  return spec.metric ? combineVerdicts(judgeSelfHealingByMetric(spec, journal), probe) : probe!;
}
