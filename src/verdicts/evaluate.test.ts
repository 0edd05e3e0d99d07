import { describe, expect, it } from 'vitest';
import type { ActivityRecord, FaultRecord, Journal } from '../engine/journal.js';
import { OUTCOME_CLASSES, type WorkloadWindow } from '../workload/types.js';
import { evaluateVerdicts } from './evaluate.js';
import { verdictsSchema } from './schema.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

function fault(key: string, status: FaultRecord['status'], appliedAtMs?: number, undoneAtMs?: number): FaultRecord {
  return {
    key,
    name: `fault ${key}`,
    ref: 'process.stop',
    ledgerId: `run/${key}`,
    targets: ['pid 1'],
    undo: null,
    scheduledAtMs: appliedAtMs ?? 0,
    status,
    ...(appliedAtMs !== undefined ? { appliedAt: iso(appliedAtMs), appliedAtMs } : {}),
    ...(undoneAtMs !== undefined ? { undoneAt: iso(undoneAtMs), undoneAtMs } : {}),
  };
}

function window(fault: string, requests: number, ok: number, latency: { p50: number; p99: number; max?: number } | null, extra: Partial<WorkloadWindow> = {}): WorkloadWindow {
  const outcomes = Object.fromEntries(OUTCOME_CLASSES.map((c) => [c, 0])) as WorkloadWindow['outcomes'];
  outcomes['2xx'] = ok;
  outcomes['5xx'] = requests - ok;
  return {
    name: `fault fault ${fault}`,
    kind: 'fault',
    fault,
    startMs: 1000,
    endMs: 5000,
    requests,
    ok,
    errors: requests - ok,
    outcomes,
    successRate: requests ? ok / requests : null,
    errorRate: requests ? (requests - ok) / requests : null,
    throughput: requests / 4,
    latency: latency ? { count: requests, min: 1, mean: latency.p50, p90: latency.p99, p95: latency.p99, max: latency.max ?? latency.p99, ...latency } : null,
    longestGapMs: 50,
    ...extra,
  };
}

function journal(parts: Partial<Journal>): Journal {
  return {
    journalVersion: 1,
    faultline: 'test',
    runId: 'run',
    seed: 1,
    experiment: { file: 'x.yaml', title: 'x', tags: [], source: {} },
    startedAt: iso(-2000),
    endedAt: iso(10_000),
    durationMs: 12_000,
    status: 'passed',
    reason: '',
    dryRun: false,
    rollbackStrategy: 'default',
    hypothesis: {},
    activities: [],
    faults: [],
    windows: [],
    verdicts: [],
    ledger: [],
    workload: { model: 'open', method: 'GET', url: 'http://127.0.0.1:1/', rate: 50, timeoutMs: 5000, startMs: -1000, endMs: 8000, seconds: [], secondsPerEntry: 1 },
    ...parts,
  };
}

const judge = (spec: unknown, j: Journal) => evaluateVerdicts(verdictsSchema.parse(spec), j);

describe('timeouts', () => {
  const spec = { timeouts: { faults: ['slow'], latency: { p99: '2s' } } };

  it('passes when p99 stays under the bound while the fault is live, fails when it does not', () => {
    const fast = judge(spec, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [window('slow', 200, 200, { p50: 20, p99: 460 })] }));
    expect(fast[0]).toMatchObject({ name: 'timeouts', result: 'pass' });
    expect(fast[0]!.evidence.summary).toContain('p99 latency 460ms');
    const slow = judge(spec, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [window('slow', 200, 200, { p50: 900, p99: 3900 })] }));
    expect(slow[0]).toMatchObject({ result: 'fail' });
    expect(slow[0]!.evidence.checks[0]).toMatchObject({ ok: false, measured: '3.9s', bound: '≤ 2s' });
  });

  it('a fault that never took effect is not exercised, never a pass', () => {
    const failed = fault('slow', 'apply-failed');
    failed.error = { code: 'E_DRIVER', message: 'no such proxy' };
    const [verdict] = judge(spec, journal({ faults: [failed], windows: [window('slow', 200, 200, { p50: 1, p99: 2 })] }));
    expect(verdict).toMatchObject({ result: 'not-exercised' });
    expect(verdict!.evidence.summary).toMatch(/never took effect.*apply-failed.*no such proxy/);
  });

  it('no traffic, or too little, is not exercised', () => {
    const none = judge(spec, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [window('slow', 0, 0, null)] }));
    expect(none[0]).toMatchObject({ result: 'not-exercised' });
    expect(none[0]!.evidence.summary).toMatch(/only 0 request/);
    const noWorkload = journal({ faults: [fault('slow', 'undone', 1000, 5000)] });
    delete noWorkload.workload;
    expect(judge(spec, noWorkload)[0]).toMatchObject({ result: 'not-exercised' });
  });

  it('requests dropped because every slot hung fail the verdict even when the answered ones were fast', () => {
    const w = window('slow', 200, 150, { p50: 10, p99: 20 });
    w.outcomes.dropped = 50;
    expect(judge(spec, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [w] }))[0]).toMatchObject({ result: 'fail' });
  });

  it('all failures, answered fast: timeouts held (the failure is for the other verdicts to judge)', () => {
    expect(judge(spec, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [window('slow', 100, 0, { p50: 3, p99: 5 })] }))[0]).toMatchObject({ result: 'pass' });
  });

  it('with several fault windows, one over the bound fails the verdict', () => {
    const spec2 = { timeouts: { latency: { p99: '1s' } } };
    const j = journal({
      faults: [fault('a', 'undone', 1000, 2000), fault('b', 'undone', 3000, 4000)],
      windows: [window('a', 50, 50, { p50: 1, p99: 10 }), window('b', 50, 50, { p50: 1, p99: 1500 })],
    });
    const [verdict] = judge(spec2, j);
    expect(verdict).toMatchObject({ result: 'fail' });
    expect(verdict!.evidence.faults).toEqual(['a', 'b']);
  });

  it('repeated faults (id#n) are judged under their step id', () => {
    const j = journal({ faults: [fault('slow#1', 'undone', 1000, 2000), fault('slow#2', 'undone', 3000, 4000)], windows: [window('slow#1', 50, 50, { p50: 1, p99: 10 }), window('slow#2', 50, 50, { p50: 1, p99: 10 })] });
    const [verdict] = judge(spec, j);
    expect(verdict).toMatchObject({ result: 'pass' });
    expect(verdict!.evidence.windows).toHaveLength(2);
  });
});

describe('retries and failover', () => {
  it('retries: error rate against the bound', () => {
    const spec = { retries: { faults: ['flaky'], errorRate: '2%' } };
    expect(judge(spec, journal({ faults: [fault('flaky', 'undone', 0, 1)], windows: [window('flaky', 300, 299, { p50: 1, p99: 1 })] }))[0]).toMatchObject({ result: 'pass' });
    const [fail] = judge(spec, journal({ faults: [fault('flaky', 'undone', 0, 1)], windows: [window('flaky', 300, 240, { p50: 1, p99: 1 })] }));
    expect(fail).toMatchObject({ result: 'fail' });
    expect(fail!.evidence.summary).toContain('error rate 20% (60/300), bound ≤ 2%');
  });

  it('failover: success rate and the longest gap without an answer', () => {
    const spec = { failover: { faults: ['down'], successRate: '95%', longestGap: '1s' } };
    const ok = window('down', 100, 99, { p50: 1, p99: 1 });
    expect(judge(spec, journal({ faults: [fault('down', 'undone', 0, 1)], windows: [ok] }))[0]).toMatchObject({ result: 'pass' });
    const gap = window('down', 100, 99, { p50: 1, p99: 1 }, { longestGapMs: 2500 });
    const [fail] = judge(spec, journal({ faults: [fault('down', 'undone', 0, 1)], windows: [gap] }));
    expect(fail).toMatchObject({ result: 'fail' });
    expect(fail!.evidence.summary).toContain('longest outage 2.5s, bound ≤ 1s');
    const allFailed = window('down', 100, 0, { p50: 1, p99: 1 });
    expect(judge(spec, journal({ faults: [fault('down', 'undone', 0, 1)], windows: [allFailed] }))[0]).toMatchObject({ result: 'fail' });
  });
});

describe('self-healing', () => {
  const spec = { 'self-healing': { faults: ['kill'], probe: 'back', within: '5s' } };
  const probe = (status: ActivityRecord['status'], endMs: number, output?: unknown): ActivityRecord => ({
    key: 'back',
    phase: 'method',
    kind: 'probe',
    ref: 'http.request',
    name: 'instance comes back',
    startedAt: iso(6000),
    endedAt: iso(endMs),
    durationMs: endMs - 6000,
    status,
    attempts: 3,
    ...(output ? { output } : {}),
  });
  const hypothesis = (met: boolean) => ({ before: { met: true, probes: [] }, after: { met, probes: [] } });

  it('recovery timed from the fault to the probe meeting its tolerance', () => {
    const [verdict] = judge(spec, journal({ faults: [fault('kill', 'irreversible', 6000)], activities: [probe('succeeded', 7200)], hypothesis: hypothesis(true) }));
    expect(verdict).toMatchObject({ result: 'pass' });
    expect(verdict!.evidence.figures.recoveryMs).toBe(1200);
  });

  it('a recovery that never comes fails, with how long it was waited for', () => {
    const [verdict] = judge(spec, journal({ faults: [fault('kill', 'irreversible', 6000)], activities: [probe('missed', 11_000)], hypothesis: hypothesis(false) }));
    expect(verdict).toMatchObject({ result: 'fail' });
    expect(verdict!.evidence.summary).toMatch(/not back.*missed after 3 tries.*steady state after: missed/);
  });

  it('a driver-measured recovery (recoveryMs) is used as is; recovered: false fails', () => {
    const measured = judge(spec, journal({ faults: [fault('kill', 'irreversible', 6000)], activities: [probe('succeeded', 9000, { recovered: true, recoveryMs: 850 })], hypothesis: hypothesis(true) }));
    expect(measured[0]!.evidence.figures.recoveryMs).toBe(850);
    const notBack = judge(spec, journal({ faults: [fault('kill', 'irreversible', 6000)], activities: [probe('succeeded', 9000, { recovered: false, recoveryMs: null })], hypothesis: hypothesis(true) }));
    expect(notBack[0]).toMatchObject({ result: 'fail' });
  });

  it('slower than the objective fails; steady state missed after fails', () => {
    expect(judge(spec, journal({ faults: [fault('kill', 'irreversible', 6000)], activities: [probe('succeeded', 12_000)], hypothesis: hypothesis(true) }))[0]).toMatchObject({ result: 'fail' });
    expect(judge(spec, journal({ faults: [fault('kill', 'irreversible', 6000)], activities: [probe('succeeded', 7000)], hypothesis: hypothesis(false) }))[0]).toMatchObject({ result: 'fail' });
  });

  it('a recovery probe that started before the kill had taken effect proves nothing: not exercised', () => {
    const early = probe('succeeded', 6100);
    early.startedAt = iso(5900);
    const [verdict] = judge(spec, journal({ faults: [fault('kill', 'irreversible', 6000)], activities: [early], hypothesis: hypothesis(true) }));
    expect(verdict).toMatchObject({ result: 'not-exercised' });
    expect(verdict!.evidence.summary).toContain('after: kill');
  });

  it('a kill that never happened, or a probe that never ran, is not exercised', () => {
    expect(judge(spec, journal({ faults: [fault('kill', 'applying')], activities: [probe('succeeded', 7000)] }))[0]).toMatchObject({ result: 'not-exercised' });
    expect(judge(spec, journal({ faults: [fault('kill', 'irreversible', 6000)], activities: [] }))[0]).toMatchObject({ result: 'not-exercised' });
  });
});

describe('declarations', () => {
  it('shares as "2%" or 0.02; bad shares and empty latency bounds are refused', () => {
    expect(verdictsSchema.parse({ retries: { errorRate: '2%' } }).retries!.errorRate).toBeCloseTo(0.02);
    expect(verdictsSchema.parse({ retries: { errorRate: 0.5 } }).retries!.errorRate).toBe(0.5);
    expect(verdictsSchema.safeParse({ retries: { errorRate: '120%' } }).success).toBe(false);
    expect(verdictsSchema.safeParse({ timeouts: { latency: {} } }).success).toBe(false);
  });

  it('verdicts come out in a fixed order, whatever order they were declared in', () => {
    const j = journal({});
    const names = judge({ 'self-healing': { probe: 'x', within: '1s' }, retries: { errorRate: '1%' }, timeouts: { latency: { max: '1s' } } }, j).map((v) => v.name);
    expect(names).toEqual(['timeouts', 'retries', 'self-healing']);
  });
});
