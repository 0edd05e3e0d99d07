// Journals made up from the report fixtures for what no fixture holds: a long, busy run (10 minutes
// at 1,000 requests a second, for the HTML report's size and speed) and a series of runs of one
// experiment days apart, the latest one worse (for the history page).
import type { Journal } from '../../src/engine/journal.js';
import type { VerdictRecord } from '../../src/verdicts/types.js';
import type { WorkloadSecond, WorkloadWindow } from '../../src/workload/types.js';

const clone = <T>(value: T): T => structuredClone(value);

/** Fault windows (seconds from the method start) of the long run: latency, resets, a freeze, a kill. */
const LONG_FAULTS = [
  { key: 'slow-db', name: 'orders-db answers 800ms late', ref: 'toxiproxy.latency', from: 60, to: 180 },
  { key: 'resets', name: 'payments resets 20% of connections', ref: 'toxiproxy.reset-peer', from: 240, to: 330 },
  { key: 'freeze', name: 'freeze payments-a (SIGSTOP)', ref: 'process.stop', from: 400, to: 430 },
  { key: 'kill', name: 'kill payments-a (SIGKILL)', ref: 'process.kill', from: 500, to: undefined },
] as const;

/**
 * A run of `seconds` seconds at `rate` requests a second with four faults, every per-second entry
 * filled (error classes too) and a probe every 5 s: the largest journal a 10-minute run can make.
 */
export function longRunJournal(base: Journal, seconds = 600, rate = 1000): Journal {
  const journal = clone(base);
  const start = Date.parse(journal.methodStartedAt ?? journal.startedAt);
  const iso = (offsetS: number) => new Date(start + offsetS * 1000).toISOString();
  const live = (t: number) => LONG_FAULTS.find((f) => t >= f.from && t < (f.to ?? f.from + 8));
  const series: WorkloadSecond[] = [];
  for (let t = 0; t < seconds; t++) {
    const fault = live(t - 2);
    const wobble = ((t * 7919) % 13) / 13;
    const errors = fault?.key === 'resets' ? Math.round(rate * 0.012) : fault?.key === 'freeze' ? Math.round(rate * 0.3) : fault?.key === 'kill' ? Math.round(rate * 0.05) : t % 37 === 0 ? 1 : 0;
    const p50 = fault?.key === 'slow-db' ? 840 + wobble * 30 : 18 + wobble * 6;
    const errorClasses = errors === 0 ? undefined : fault?.key === 'freeze' ? { timeout: errors } : fault?.key === 'resets' ? { 'connection-error': errors - 1, '5xx': 1 } : { '5xx': errors };
    series.push({
      t,
      requests: rate,
      ok: rate - errors,
      errors,
      ...(errorClasses ? { errorClasses } : {}),
      p50: Math.round(p50 * 100) / 100,
      p99: Math.round((p50 * 1.6 + wobble * 40) * 100) / 100,
      max: Math.round((p50 * 2.2 + wobble * 90) * 100) / 100,
    });
  }
  journal.runId = 'synthetic-10-minutes';
  journal.durationMs = (seconds + 4) * 1000;
  journal.endedAt = iso(seconds + 2);
  journal.workload = { model: 'open', method: 'GET', url: 'http://127.0.0.1:18080/api/checkout', rate, timeoutMs: 3000, startMs: -2000, endMs: (seconds - 2) * 1000, seconds: series, secondsPerEntry: 1 };
  journal.faults = LONG_FAULTS.map((f) => ({
    key: f.key,
    name: f.name,
    ref: f.ref,
    ledgerId: `${journal.runId}/${f.key}`,
    targets: [`${f.key} target`],
    undo: f.to === undefined ? null : { driver: f.ref.split('.')[0]!, op: 'undo', args: {} },
    scheduledAtMs: f.from * 1000,
    ...(f.to !== undefined ? { scheduledEndMs: f.to * 1000 } : {}),
    appliedAt: iso(f.from),
    appliedAtMs: f.from * 1000 + 12,
    ...(f.to !== undefined ? { undoneAt: iso(f.to), undoneAtMs: f.to * 1000 + 9, status: 'undone' as const } : { status: 'irreversible' as const }),
    effect: f.key === 'slow-db' ? { delayMs: 800 } : f.key === 'resets' ? { failShare: 0.2, perConnection: true } : { outage: 'black-hole' as const },
    reach: { source: 'driver' as const, reached: true, summary: `${f.name}: 48 MB crossed its target while it was live` },
  }));
  const window = (name: string, kind: WorkloadWindow['kind'], fromS: number, toS: number, fault?: string): WorkloadWindow => {
    const inside = series.filter((s) => s.t - 2 >= fromS && s.t - 2 < toS);
    const requests = inside.reduce((sum, s) => sum + s.requests, 0);
    const ok = inside.reduce((sum, s) => sum + s.ok, 0);
    const p99 = Math.max(0, ...inside.map((s) => s.p99 ?? 0));
    return {
      name,
      kind,
      ...(fault ? { fault } : {}),
      startMs: fromS * 1000,
      endMs: toS * 1000,
      requests,
      ok,
      errors: requests - ok,
      outcomes: { '2xx': ok, '3xx': 0, '4xx': 0, '5xx': requests - ok, timeout: 0, 'connection-error': 0, dropped: 0 },
      successRate: requests ? ok / requests : null,
      errorRate: requests ? (requests - ok) / requests : null,
      throughput: rate,
      latency: { count: requests, min: 5, mean: p99 / 2, p50: p99 / 2, p90: p99 * 0.8, p95: p99 * 0.9, p99, max: p99 * 1.3 },
      longestGapMs: 40,
    };
  };
  journal.windows = [
    window('baseline', 'baseline', -2, 60),
    ...LONG_FAULTS.map((f) => window(`fault ${f.key}`, 'fault', f.from, f.to ?? seconds - 2, f.key)),
    window('recovery', 'recovery', 430, 500),
    window('total', 'total', -2, seconds - 2),
  ];
  const probeTemplate = journal.activities.find((a) => a.kind === 'probe')!;
  journal.activities = [
    ...journal.activities.filter((a) => a.phase !== 'during'),
    ...Array.from({ length: Math.floor(seconds / 5) }, (_, i) => ({ ...clone(probeTemplate), key: `during-${i + 1}-1`, phase: 'during' as const, startedAt: iso(i * 5), endedAt: iso(i * 5 + 0.04) })),
  ];
  return journal;
}

/** `result` may be one this version does not know yet (`unstable`): reports must show it as it is. */
function withVerdictResult(verdicts: VerdictRecord[], name: string, result: string, summary: string): VerdictRecord[] {
  return verdicts.map((v) => (v.name === name ? { ...v, result: result as VerdictRecord['result'], evidence: { ...v.evidence, summary } } : v));
}

/**
 * Five runs of the passed-verdicts experiment, a day apart, returned out of time order: the latest
 * fails its timeouts verdict with p99 under the slow fault up from about 1.2 s to 2.9 s, and takes
 * longer to recover.
 */
export function historyJournals(base: Journal): Journal[] {
  const runs: Journal[] = [];
  for (let day = 0; day < 5; day++) {
    const run = clone(base);
    const latest = day === 4;
    const startedAt = new Date(Date.parse(base.startedAt) + day * 86_400_000 + day * 3_600_000);
    run.startedAt = startedAt.toISOString();
    run.runId = `2026050${4 + day}-history-${day + 1}`;
    const slow = run.windows.find((w) => w.fault === 'slow-payments')!;
    slow.latency = { ...slow.latency!, p99: latest ? 2910 : 1180 + day * 40 };
    slow.errorRate = latest ? 0.03 : 0.005;
    const recovery = run.verdicts.find((v) => v.name === 'self-healing')!;
    recovery.evidence.figures.recoveryMs = latest ? 7400 : 3214 - day * 100;
    if (latest) {
      run.status = 'deviated';
      run.reason = 'verdict timeouts failed';
      run.verdicts = withVerdictResult(run.verdicts, 'timeouts', 'fail', 'p99 latency 2.91s, bound ≤ 2.5s while slow-payments was live, 200 requests');
    }
    if (day === 2) run.verdicts = withVerdictResult(run.verdicts, 'retries', 'unstable', 'error rate 0.5% and 1.5% in two repetitions, bound ≤ 1%');
    runs.push(run);
  }
  return [runs[3]!, runs[0]!, runs[4]!, runs[1]!, runs[2]!];
}
