// Turns a journal into resilience verdicts: each declared verdict reads the windows of the faults it
// judges (or, for self-healing, its probe) and yields pass, fail or not-exercised with the numbers.
// A traffic verdict (timeouts, retries, failover) passes only when every fault it judges
//   1. took effect, with enough requests in its window (minRequests),
//   2. reached the workload's requests, on positive evidence (reach.ts: the driver's view, exact counts,
//      or the traffic against the baseline),
//   3. was strong enough to break the bounds on a system without the mechanism (strength.ts), and
//   4. every bound held: latency and gaps as measured, rates with their whole Wilson 95% interval on
//      the good side (confidence.ts).
// A bound broken beyond doubt fails the verdict whatever the evidence of reach; anything short of the
// four is not-exercised, with the reason and a hint. It must never pass on evidence it does not have.
import { formatDuration } from '../core/duration.js';
import { formatRatio } from '../core/ratio.js';
import type { ActivityRecord, FaultRecord, Journal } from '../engine/journal.js';
import type { WorkloadWindow } from '../workload/types.js';
import { combineVerdicts, judgeRetriesByMetric, judgeSelfHealingByMetric } from './metric.js';
import { decideRate, requestsNeeded, wilson, type BoundSide } from './confidence.js';
import { judgeFaultReach, liveSpan, overlappingFaults } from './reach.js';
import type { VerdictsSpec } from './schema.js';
import { failoverStrength, retriesStrength, timeoutsStrength, type FaultUnderTest } from './strength.js';
import type { ReachFinding, StrengthFinding, VerdictCheck, VerdictEvidence, VerdictName, VerdictRecord } from './types.js';

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

interface FaultWindow {
  fault: FaultRecord;
  window: WorkloadWindow;
}

/** Each effective fault's window, or the not-exercised verdict when traffic is missing or too thin. */
function faultWindows(judged: Judged, journal: Journal, minRequests: number): FaultWindow[] | VerdictRecord {
  const effective = effectiveFaults(judged);
  if (!Array.isArray(effective)) return effective;
  if (!journal.workload) return notExercised(judged, 'the experiment drives no workload, so there is no traffic to judge');
  const pairs = effective.flatMap((fault) => {
    const window = journal.windows.find((w) => w.kind === 'fault' && w.fault === fault.key);
    return window ? [{ fault, window }] : [];
  });
  const requests = pairs.reduce((sum, p) => sum + p.window.requests, 0);
  if (requests < minRequests) {
    return notExercised(judged, `only ${requests} request(s) while its faults were live (at least ${minRequests} needed to judge)`, {
      windows: pairs.map((p) => p.window.name),
      figures: { requests },
      hint: 'raise workload.rate or make the faults last longer',
    });
  }
  return pairs;
}

/** A check with how it was decided: rates may be undecided (their interval straddles the bound). */
interface JudgedCheck extends VerdictCheck {
  decision: 'held' | 'broken' | 'undecided';
  /** For undecided rates: the sentence saying how many requests would decide it. */
  needed?: string;
}

function measuredCheck(what: string, bound: string, measured: string, held: boolean): JudgedCheck {
  return { what, bound, measured, ok: held, decision: held ? 'held' : 'broken' };
}

/** A rate bound judged with its Wilson 95% interval. */
function rateCheck(what: string, count: number, trials: number, bound: number, side: BoundSide): JudgedCheck {
  const decision = decideRate(count, trials, bound, side);
  const share = trials > 0 ? count / trials : 0;
  const interval = wilson(count, trials);
  const symbol = side === 'at-most' ? '≤' : '≥';
  const measured = `${formatRatio(share)} (${count}/${trials}; 95% interval ${formatRatio(interval.low)} to ${formatRatio(interval.high)})`;
  const check: JudgedCheck = { what, bound: `${symbol} ${formatRatio(bound)}`, measured, ok: decision === 'held', decision };
  if (decision === 'undecided') {
    check.undecided = true;
    const needed = requestsNeeded(share, bound, side);
    check.needed = Number.isFinite(needed)
      ? `about ${needed} requests would be needed at ${formatRatio(share)}`
      : `the measured ${formatRatio(share)} sits on the bound, so no number of requests would decide it`;
  }
  return check;
}

/** What one verdict learnt about one of its faults. */
interface FaultEvidence {
  fault: FaultRecord;
  window: WorkloadWindow;
  reached: boolean | null;
  reach: ReachFinding[];
  strength: StrengthFinding;
}

function faultUnderTest(fault: FaultRecord, window: WorkloadWindow): FaultUnderTest {
  const span = liveSpan(fault, window);
  // A fault without an undo (a kill) ends when its target is back, which its window cannot say.
  const liveMs = span && fault.undoneAtMs !== undefined ? span.end - span.start : undefined;
  return { key: fault.key, effect: fault.effect, liveMs, counts: fault.reach?.counts };
}

function gatherEvidence(pairs: FaultWindow[], journal: Journal, strengthOf: (fault: FaultUnderTest) => StrengthFinding): FaultEvidence[] {
  const baseline = journal.windows.find((w) => w.kind === 'baseline');
  const judged = pairs.map((p) => p.fault);
  return pairs.map(({ fault, window }) => {
    const others = overlappingFaults(fault, judged, journal.faults, journal.windows);
    const reach = judgeFaultReach(fault, window, baseline, others);
    return { fault, window, reached: reach.reached, reach: reach.findings, strength: strengthOf(faultUnderTest(fault, window)) };
  });
}

/** Why a fault proves nothing for this verdict, with the remedy; undefined when it was exercised. */
function unexercisedReason(e: FaultEvidence): { reason: string; hint: string } | undefined {
  if (e.reached === false) {
    const decisive = e.reach.find((r) => r.source !== 'traffic' && r.reached === false)!;
    return { reason: `${e.fault.key} did not reach the workload's requests (${decisive.source}: ${decisive.summary})`, hint: `point the fault at what the workload's requests cross (${e.fault.targets.join(', ') || e.fault.key} saw none of them)` };
  }
  if (e.reached === null) {
    const said = e.reach.map((r) => `${r.source}: ${r.summary}`).join('; ');
    return {
      reason: `no evidence that ${e.fault.key} reached the workload's requests (${said || 'no source could tell'})`,
      hint: e.fault.reach
        ? 'make the fault leave a trace the traffic shows (a longer delay, a larger share), or check that the requests cross its target'
        : 'its driver cannot tell whether the fault met any request: make the fault leave a trace the traffic shows, or use a driver that can (Toxiproxy with -proxy-metrics, the http fault proxy)',
    };
  }
  if (e.strength.strong === false) return { reason: e.strength.summary, hint: e.strength.hint ?? 'make the fault stronger than the bound' };
  return undefined;
}

/** The absorption sentence where a driver counted the failures it injected: "18 injected, 0 reached the client". */
function absorption(e: FaultEvidence): { text: string; absorbed: number } | undefined {
  const counts = e.fault.reach?.counts;
  if (!counts || counts.faulted === 0) return undefined;
  const seen = Math.min(e.window.errors, counts.faulted);
  const absorbed = (counts.faulted - seen) / counts.faulted;
  return { text: `${counts.faulted} failures injected into ${e.fault.key}, ${e.window.errors} reached the client: retries absorbed ${formatRatio(absorbed)}`, absorbed };
}

function label(pairs: FaultWindow[], window: WorkloadWindow): string {
  return pairs.length > 1 ? ` (${window.fault ?? window.name})` : '';
}

function decide(judged: Judged, pairs: FaultWindow[], checks: JudgedCheck[], figures: Record<string, number | null>, evidence: FaultEvidence[], notes: string[] = []): VerdictRecord {
  const windows = pairs.map((p) => p.window);
  const requests = windows.reduce((sum, w) => sum + w.requests, 0);
  const where = windows.length === 1 ? `while ${windows[0]!.name.replace(/^fault /, '')} was live` : `over ${windows.length} fault windows`;
  const plainChecks: VerdictCheck[] = checks.map(({ decision: _d, needed: _n, ...check }) => check);
  const base: VerdictEvidence = {
    summary: '',
    faults: pairs.map((p) => p.fault.key),
    windows: windows.map((w) => w.name),
    checks: plainChecks,
    figures,
    reach: evidence.flatMap((e) => e.reach),
    strength: evidence.map((e) => e.strength),
  };
  const broken = checks.filter((c) => c.decision === 'broken');
  if (broken.length > 0) {
    // A bound broken beyond doubt is a failure whatever reached what: the system did not hold.
    const summary = `${broken.map((c) => `${c.what} ${c.measured}, bound ${c.bound}`).join('; ')}: ${where}, ${requests} requests`;
    return record(judged, 'fail', { ...base, summary });
  }
  const unexercised = evidence.map(unexercisedReason).filter((r): r is { reason: string; hint: string } => r !== undefined);
  if (unexercised.length > 0) {
    return record(judged, 'not-exercised', { ...base, summary: unexercised.map((u) => u.reason).join('; '), hint: [...new Set(unexercised.map((u) => u.hint))].join('; ') });
  }
  const undecided = checks.filter((c) => c.decision === 'undecided');
  if (undecided.length > 0) {
    const summary = `too few requests to decide ${undecided.map((c) => `${c.what} ${c.bound} (measured ${c.measured}; ${c.needed})`).join('; ')} at 95% confidence: ${where}, ${requests} requests`;
    return record(judged, 'not-exercised', { ...base, summary, hint: 'raise workload.rate or lengthen the fault so its window holds that many requests' });
  }
  const reachNotes = evidence.map((e) => {
    const positive = e.reach.find((r) => r.reached === true)!;
    return `${e.fault.key} reached the traffic (${positive.source}: ${positive.summary.replace(/^the traffic moved: /, '')})`;
  });
  const unchecked = evidence.filter((e) => e.strength.strong === null).map((e) => e.fault.key);
  const strengthNote = unchecked.length > 0 ? [`strength of ${unchecked.join(', ')} not checked (no declared effect)`] : [];
  const summary = `${checks.map((c) => `${c.what} ${c.measured}, bound ${c.bound}`).join('; ')}: ${where}, ${requests} requests; ${[...notes, ...reachNotes, ...strengthNote].join('; ')}`;
  return record(judged, 'pass', { ...base, summary });
}

type TimeoutsSpec = NonNullable<VerdictsSpec['timeouts']>;
type RetriesSpec = NonNullable<VerdictsSpec['retries']>;
type FailoverSpec = NonNullable<VerdictsSpec['failover']>;
type SelfHealingSpec = NonNullable<VerdictsSpec['self-healing']>;

function judgeTimeouts(spec: TimeoutsSpec, journal: Journal): VerdictRecord {
  const judged: Judged = { name: 'timeouts', title: spec.title, faults: faultsFor(journal, spec.faults) };
  const pairs = faultWindows(judged, journal, spec.minRequests);
  if (!Array.isArray(pairs)) return pairs;
  const checks: JudgedCheck[] = [];
  const figures: Record<string, number | null> = {};
  for (const { window } of pairs) {
    const l = label(pairs, window);
    for (const [key, bound] of Object.entries(spec.latency) as [keyof TimeoutsSpec['latency'], number | undefined][]) {
      if (bound === undefined) continue;
      const measured = window.latency?.[key] ?? null;
      figures[`${key}${l}`] = measured;
      checks.push(measuredCheck(`${key} latency${l}`, `≤ ${ms(bound)}`, measured === null ? 'no answers' : ms(measured), measured !== null && measured <= bound));
    }
    // A request the workload could not even send (every slot held by a hanging one) has no latency,
    // and leaving it out would flatter the percentiles.
    if (window.outcomes.dropped > 0) checks.push(measuredCheck(`requests dropped${l}`, '= 0', `${window.outcomes.dropped} (all slots held by slow requests)`, false));
  }
  const evidence = gatherEvidence(pairs, journal, (f) => timeoutsStrength(f, spec.latency));
  return decide(judged, pairs, checks, figures, evidence);
}

function judgeRetries(spec: RetriesSpec & { errorRate: number }, journal: Journal): VerdictRecord {
  const judged: Judged = { name: 'retries', title: spec.title, faults: faultsFor(journal, spec.faults) };
  const pairs = faultWindows(judged, journal, spec.minRequests);
  if (!Array.isArray(pairs)) return pairs;
  const checks = pairs.map(({ window }) => rateCheck(`error rate${label(pairs, window)}`, window.errors, window.requests, spec.errorRate, 'at-most'));
  const figures: Record<string, number | null> = Object.fromEntries(pairs.map(({ window }) => [`errorRate (${window.fault ?? window.name})`, window.errorRate]));
  const evidence = gatherEvidence(pairs, journal, (f) => retriesStrength(f, spec.errorRate));
  const notes: string[] = [];
  for (const e of evidence) {
    const absorbed = absorption(e);
    if (!absorbed) continue;
    notes.push(absorbed.text);
    figures[`absorbed (${e.fault.key})`] = absorbed.absorbed;
  }
  return decide(judged, pairs, checks, figures, evidence, notes);
}

function judgeFailover(spec: FailoverSpec, journal: Journal): VerdictRecord {
  const judged: Judged = { name: 'failover', title: spec.title, faults: faultsFor(journal, spec.faults) };
  const pairs = faultWindows(judged, journal, spec.minRequests);
  if (!Array.isArray(pairs)) return pairs;
  const checks: JudgedCheck[] = [];
  const figures: Record<string, number | null> = {};
  for (const { window } of pairs) {
    const l = label(pairs, window);
    figures[`successRate${l}`] = window.successRate;
    figures[`longestGapMs${l}`] = window.longestGapMs;
    checks.push(rateCheck(`success rate${l}`, window.ok, window.requests, spec.successRate, 'at-least'));
    if (spec.longestGap !== undefined) checks.push(measuredCheck(`longest outage${l}`, `≤ ${ms(spec.longestGap)}`, ms(window.longestGapMs), window.longestGapMs <= spec.longestGap));
  }
  const evidence = gatherEvidence(pairs, journal, (f) => failoverStrength(f, spec.successRate, spec.longestGap));
  return decide(judged, pairs, checks, figures, evidence);
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
