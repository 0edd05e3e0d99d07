// Whether a fault reached the workload's requests, from three sources the verdicts record side by side:
// the driver's own view of its target (FaultRecord.reach, e.g. bytes through a Toxiproxy proxy), exact
// counts where the driver injects the fault itself, and the traffic: the fault's window against the
// baseline window, beyond the baseline's own noise.
//
// The traffic rule (a fault window "differs from the baseline" when any of these holds):
//   - error rate: the Wilson 95% interval of the window's error rate lies wholly above the baseline's
//     (its low end above the baseline's high end); the same for each error class (4xx, 5xx, timeout,
//     connection-error, dropped), so a class absent from the baseline counts once it is too frequent
//     for the baseline's size to hide;
//   - latency: the window's p50 or p90 exceeds max(2 × the baseline's, the baseline's + 50 ms). p90 and
//     not p99: the p99 of a 150-request window is two requests, which one scheduler stall of the load
//     generator produces; a tenth of the window's requests takes a stall of a tenth of its length. The
//     factor 2 clears the run-to-run wobble of a healthy service's percentiles, the 50 ms a fast local
//     service's few milliseconds of jitter;
//   - longest gap without a successful answer: above max(2 × the baseline's, the baseline's + 500 ms),
//     a margin no pause of the machine reaches in practice but any outage does.
// Both windows need at least 20 requests to be compared. No difference proves nothing either way: a
// resilient system may hide the fault entirely, which is what the driver's evidence is for. A window
// overlapping a fault judged by another verdict cannot be attributed, so it proves nothing either.
import { formatDuration } from '../core/duration.js';
import { formatRatio } from '../core/ratio.js';
import type { FaultRecord } from '../engine/journal.js';
import type { OutcomeClass, WorkloadWindow } from '../workload/types.js';
import { wilson } from './confidence.js';
import type { ReachFinding } from './types.js';

export const TRAFFIC_RULE = {
  minRequests: 20,
  latencyFactor: 2,
  latencyMarginMs: 50,
  gapFactor: 2,
  gapMarginMs: 500,
} as const;

const ERROR_CLASSES: readonly OutcomeClass[] = ['4xx', '5xx', 'timeout', 'connection-error', 'dropped'];
const PERCENTILES = ['p50', 'p90'] as const;

const ms = (value: number) => formatDuration(Math.round(value));

/** True when `count` of `total` is a higher share than `baseCount` of `baseTotal` beyond both intervals. */
function shareRose(count: number, total: number, baseCount: number, baseTotal: number): boolean {
  return wilson(count, total).low > wilson(baseCount, baseTotal).high;
}

export interface TrafficComparison {
  /** true: the window differs from the baseline beyond its noise; null: it does not, or cannot be compared. */
  reached: true | null;
  summary: string;
}

/** The traffic rule above, for one fault window against the baseline window. */
export function compareWithBaseline(window: WorkloadWindow, baseline: WorkloadWindow | undefined): TrafficComparison {
  if (!baseline || baseline.requests < TRAFFIC_RULE.minRequests) {
    return { reached: null, summary: `no baseline to compare with (${baseline?.requests ?? 0} requests before the first fault, at least ${TRAFFIC_RULE.minRequests} needed): lengthen workload.before` };
  }
  if (window.requests < TRAFFIC_RULE.minRequests) {
    return { reached: null, summary: `too few requests to compare with the baseline (${window.requests}, at least ${TRAFFIC_RULE.minRequests} needed)` };
  }
  const signals: string[] = [];
  if (shareRose(window.errors, window.requests, baseline.errors, baseline.requests)) {
    signals.push(`error rate ${formatRatio(window.errorRate)} (${window.errors}/${window.requests}) against ${formatRatio(baseline.errorRate)} (${baseline.errors}/${baseline.requests}) in the baseline`);
  }
  for (const outcome of ERROR_CLASSES) {
    const count = window.outcomes[outcome] ?? 0;
    const base = baseline.outcomes[outcome] ?? 0;
    if (count > 0 && shareRose(count, window.requests, base, baseline.requests)) signals.push(`${outcome} ${count}/${window.requests} against ${base}/${baseline.requests}`);
  }
  const latencyShown: string[] = [];
  if (window.latency && baseline.latency) {
    for (const p of PERCENTILES) {
      const measured = window.latency[p];
      const base = baseline.latency[p];
      const threshold = Math.max(TRAFFIC_RULE.latencyFactor * base, base + TRAFFIC_RULE.latencyMarginMs);
      if (measured > threshold) signals.push(`${p} ${ms(measured)} against ${ms(base)} in the baseline`);
      else latencyShown.push(`${p} ${ms(measured)} against ${ms(base)}`);
    }
  }
  const gapThreshold = Math.max(TRAFFIC_RULE.gapFactor * baseline.longestGapMs, baseline.longestGapMs + TRAFFIC_RULE.gapMarginMs);
  if (window.longestGapMs > gapThreshold) signals.push(`longest gap ${ms(window.longestGapMs)} against ${ms(baseline.longestGapMs)} in the baseline`);
  if (signals.length > 0) return { reached: true, summary: `the traffic moved: ${signals.join('; ')}` };
  const seen = [...latencyShown, `errors ${window.errors}/${window.requests} against ${baseline.errors}/${baseline.requests}`, `longest gap ${ms(window.longestGapMs)} against ${ms(baseline.longestGapMs)}`];
  return { reached: null, summary: `the traffic did not differ from the baseline beyond its noise (${seen.join(', ')})` };
}

/** The fault's live span on the method's clock; open-ended faults (a kill) last to the window's end. */
export function liveSpan(fault: FaultRecord, window?: WorkloadWindow): { start: number; end: number } | undefined {
  if (fault.appliedAtMs === undefined) return undefined;
  return { start: fault.appliedAtMs, end: fault.undoneAtMs ?? window?.endMs ?? Number.POSITIVE_INFINITY };
}

export interface FaultReach {
  /** true: reached; false: the driver or the counts say it did not (decisive); null: nothing tells. */
  reached: boolean | null;
  findings: ReachFinding[];
}

/**
 * Every source of evidence for one fault, and the conclusion: the driver's or the counts' "not reached"
 * is decisive even when the traffic moved (something else moved it); otherwise any positive source counts.
 * `others`: faults judged elsewhere whose live span overlaps this one, so the traffic cannot tell them apart.
 */
export function judgeFaultReach(fault: FaultRecord, window: WorkloadWindow | undefined, baseline: WorkloadWindow | undefined, others: readonly FaultRecord[] = []): FaultReach {
  const findings: ReachFinding[] = [];
  const evidence = fault.reach;
  if (evidence) {
    const counts = evidence.counts;
    const reached = counts ? counts.faulted > 0 : evidence.reached;
    findings.push({ fault: fault.key, source: evidence.source, reached, summary: evidence.summary });
  }
  if (window) {
    const traffic = compareWithBaseline(window, baseline);
    if (traffic.reached && others.length > 0) {
      findings.push({ fault: fault.key, source: 'traffic', reached: null, summary: `the traffic moved, but ${others.map((o) => o.key).join(', ')} was live at the same time, so it cannot be told which fault moved it` });
    } else {
      findings.push({ fault: fault.key, source: 'traffic', reached: traffic.reached, summary: traffic.summary });
    }
  }
  const decisive = findings.find((f) => f.source !== 'traffic' && f.reached === false);
  if (decisive) return { reached: false, findings };
  return { reached: findings.some((f) => f.reached === true) ? true : null, findings };
}

/** Faults outside `judged` whose live span overlaps `fault`'s. */
export function overlappingFaults(fault: FaultRecord, judged: readonly FaultRecord[], all: readonly FaultRecord[], windows: readonly WorkloadWindow[]): FaultRecord[] {
  const span = liveSpan(fault, windows.find((w) => w.fault === fault.key));
  if (!span) return [];
  return all.filter((other) => {
    if (other === fault || judged.includes(other)) return false;
    const o = liveSpan(other, windows.find((w) => w.fault === other.key));
    return o !== undefined && o.start < span.end && span.start < o.end;
  });
}
