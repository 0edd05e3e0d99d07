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

/** Traffic before the first fault: 100 fast answers, no error. */
function baseline(extra: Partial<WorkloadWindow> = {}): WorkloadWindow {
  return { ...window('-', 100, 100, { p50: 10, p99: 20 }), name: 'baseline', kind: 'baseline', fault: undefined, startMs: -1000, endMs: 0, ...extra };
}

/** The driver's word that the fault met the workload's requests (bytes through its proxy, say). */
function reachedByDriver(f: FaultRecord, reached: boolean | null = true): FaultRecord {
  return { ...f, reach: { source: 'driver', reached, summary: reached ? '1.2 MB crossed the proxy while the fault was live' : reached === false ? 'no byte crossed the proxy' : 'the server serves no metrics' } };
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
    const fast = judge(spec, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [baseline(), window('slow', 200, 200, { p50: 20, p99: 460 })] }));
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
    expect(judge(spec, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [baseline(), window('slow', 100, 0, { p50: 3, p99: 5 })] }))[0]).toMatchObject({ result: 'pass' });
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
    const j = journal({
      faults: [reachedByDriver(fault('slow#1', 'undone', 1000, 2000)), reachedByDriver(fault('slow#2', 'undone', 3000, 4000))],
      windows: [baseline(), window('slow#1', 50, 50, { p50: 1, p99: 10 }), window('slow#2', 50, 50, { p50: 1, p99: 10 })],
    });
    const [verdict] = judge(spec, j);
    expect(verdict).toMatchObject({ result: 'pass' });
    expect(verdict!.evidence.windows).toHaveLength(2);
  });
});

describe('retries and failover', () => {
  it('retries: error rate against the bound', () => {
    const spec = { retries: { faults: ['flaky'], errorRate: '2%' } };
    expect(judge(spec, journal({ faults: [reachedByDriver(fault('flaky', 'undone', 0, 1))], windows: [baseline(), window('flaky', 300, 299, { p50: 1, p99: 1 })] }))[0]).toMatchObject({ result: 'pass' });
    const [fail] = judge(spec, journal({ faults: [fault('flaky', 'undone', 0, 1)], windows: [window('flaky', 300, 240, { p50: 1, p99: 1 })] }));
    expect(fail).toMatchObject({ result: 'fail' });
    expect(fail!.evidence.summary).toContain('error rate 20% (60/300; 95% interval 15.9% to 24.9%), bound ≤ 2%');
  });

  it('failover: success rate and the longest gap without an answer', () => {
    const spec = { failover: { faults: ['down'], successRate: '95%', longestGap: '1s' } };
    const ok = window('down', 300, 299, { p50: 1, p99: 1 });
    expect(judge(spec, journal({ faults: [reachedByDriver(fault('down', 'undone', 0, 1))], windows: [baseline(), ok] }))[0]).toMatchObject({ result: 'pass' });
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

describe('evidence of reach', () => {
  const timeouts = { timeouts: { faults: ['slow'], latency: { p99: '1500ms' } } };
  const quiet = () => window('slow', 200, 200, { p50: 10, p99: 20 });

  it('a fault on a proxy the traffic never crosses: the driver says so, not exercised (the false PASS of issue 11)', () => {
    const [verdict] = judge(timeouts, journal({ faults: [reachedByDriver(fault('slow', 'undone', 1000, 5000), false)], windows: [baseline(), quiet()] }));
    expect(verdict).toMatchObject({ result: 'not-exercised' });
    expect(verdict!.evidence.summary).toMatch(/slow did not reach the workload's requests \(driver: no byte crossed the proxy\)/);
    expect(verdict!.evidence.hint).toMatch(/point the fault at what the workload's requests cross/);
    expect(verdict!.evidence.reach).toEqual([
      { fault: 'slow', source: 'driver', reached: false, summary: 'no byte crossed the proxy' },
      expect.objectContaining({ fault: 'slow', source: 'traffic', reached: null }),
    ]);
  });

  it("the driver's 'not reached' is decisive even when the traffic moved", () => {
    const moved = window('slow', 200, 200, { p50: 400, p99: 800 });
    const [verdict] = judge(timeouts, journal({ faults: [reachedByDriver(fault('slow', 'undone', 1000, 5000), false)], windows: [baseline(), moved] }));
    expect(verdict).toMatchObject({ result: 'not-exercised' });
    expect(verdict!.evidence.reach!.find((r) => r.source === 'traffic')!.reached).toBe(true);
  });

  it('no driver evidence and a quiet traffic: not exercised, with what to do', () => {
    const [verdict] = judge(timeouts, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [baseline(), quiet()] }));
    expect(verdict).toMatchObject({ result: 'not-exercised' });
    expect(verdict!.evidence.summary).toMatch(/no evidence that slow reached the workload's requests \(traffic: the traffic did not differ from the baseline beyond its noise \(p50 10ms against 10ms/);
    expect(verdict!.evidence.hint).toMatch(/its driver cannot tell.*-proxy-metrics/);
    // A driver that cannot tell either: the same.
    expect(judge(timeouts, journal({ faults: [reachedByDriver(fault('slow', 'undone', 1000, 5000), null)], windows: [baseline(), quiet()] }))[0]!.result).toBe('not-exercised');
  });

  it("a resilient system that hides the fault from the traffic passes on the driver's word", () => {
    const [verdict] = judge(timeouts, journal({ faults: [reachedByDriver(fault('slow', 'undone', 1000, 5000))], windows: [baseline(), quiet()] }));
    expect(verdict).toMatchObject({ result: 'pass' });
    expect(verdict!.evidence.summary).toMatch(/slow reached the traffic \(driver: 1.2 MB crossed the proxy/);
  });

  it('the traffic alone shows reach when it moved beyond the baseline (latency, errors, gaps)', () => {
    const [slow] = judge(timeouts, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [baseline(), window('slow', 200, 200, { p50: 12, p99: 420 })] }));
    expect(slow).toMatchObject({ result: 'pass' });
    expect(slow!.evidence.summary).toMatch(/slow reached the traffic \(traffic: p90 420ms against 20ms in the baseline\)/);
    expect(slow!.evidence.summary).toMatch(/strength of slow not checked/);
  });

  it('without a baseline the traffic cannot tell', () => {
    const [verdict] = judge(timeouts, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [window('slow', 200, 200, { p50: 12, p99: 420 })] }));
    expect(verdict).toMatchObject({ result: 'not-exercised' });
    expect(verdict!.evidence.summary).toMatch(/no baseline to compare with.*lengthen workload.before/);
  });

  it('traffic that moved while a fault judged elsewhere was live is not attributed to this one', () => {
    const other = fault('other', 'undone', 2000, 4000);
    const j = journal({ faults: [fault('slow', 'undone', 1000, 5000), other], windows: [baseline(), window('slow', 200, 200, { p50: 12, p99: 420 })] });
    const [verdict] = judge(timeouts, j);
    expect(verdict).toMatchObject({ result: 'not-exercised' });
    expect(verdict!.evidence.summary).toMatch(/other was live at the same time/);
  });

  it('a bound broken beyond doubt fails whatever the evidence of reach', () => {
    const [verdict] = judge(timeouts, journal({ faults: [fault('slow', 'undone', 1000, 5000)], windows: [window('slow', 200, 200, { p50: 3000, p99: 3100 })] }));
    expect(verdict).toMatchObject({ result: 'fail' });
  });
});

describe('strength: could the fault have broken the bound without the mechanism?', () => {
  const withEffect = (f: FaultRecord, effect: FaultRecord['effect']): FaultRecord => ({ ...reachedByDriver(f), effect });

  it('timeouts: a delay under the smallest bound, or no delay at all, is not exercised; a longer delay or a black hole is', () => {
    const spec = { timeouts: { faults: ['slow'], latency: { p99: '1500ms', max: '4s' } } };
    const run = (effect: FaultRecord['effect']) => judge(spec, journal({ faults: [withEffect(fault('slow', 'undone', 1000, 5000), effect)], windows: [baseline(), window('slow', 200, 200, { p50: 210, p99: 260 })] }))[0]!;
    const weak = run({ delayMs: 200 });
    expect(weak.result).toBe('not-exercised');
    expect(weak.evidence.summary).toBe('slow adds 200ms, no more than the smallest bound p99 ≤ 1.5s: a system without timeouts would pass too');
    expect(weak.evidence.hint).toMatch(/longer than 1.5s/);
    expect(run({ outage: 'refused' }).evidence.summary).toMatch(/refuses connections.*cannot test timeouts/);
    expect(run({ failShare: 1 }).result).toBe('not-exercised');
    expect(run({ delayMs: 3000 })).toMatchObject({ result: 'pass', evidence: { strength: [{ fault: 'slow', strong: true }] } });
    expect(run({ delayMs: Number.POSITIVE_INFINITY }).result).toBe('pass');
    // Read back from a journal file, Infinity is null.
    expect(run({ delayMs: null as unknown as number }).result).toBe('pass');
    expect(run({ outage: 'black-hole' }).result).toBe('pass');
  });

  it('retries: toxicity below 1 per connection cannot be confirmed (HAProxy reuses its connections and meets no reset)', () => {
    const spec = { retries: { faults: ['flaky'], errorRate: '6%' } };
    const run = (effect: FaultRecord['effect'], f = fault('flaky', 'undone', 1000, 5000)) =>
      judge(spec, journal({ faults: [withEffect(f, effect)], windows: [baseline(), window('flaky', 399, 399, { p50: 10, p99: 20 })] }))[0]!;
    const pooled = run({ failShare: 0.2, perConnection: true });
    expect(pooled.result).toBe('not-exercised');
    expect(pooled.evidence.summary).toMatch(/fails 20% of connections, drawn per connection: a caller that reuses its connections may meet it on no request at all/);
    expect(pooled.evidence.hint).toMatch(/a share of 1 on one of several instances/);
    expect(run({ failShare: 1, perConnection: true }).result).toBe('pass');
    expect(run({ failShare: 0.05 }).evidence.summary).toMatch(/fails 5% of requests, no more than the bound 6%: a system without retries would pass too/);
    expect(run({ failShare: 0.3 }).result).toBe('pass');
    expect(run({ outage: 'refused' }).result).toBe('pass');
  });

  it('retries judged by absorption where the driver counted what it injected', () => {
    const spec = { retries: { faults: ['flaky'], errorRate: '6%' } };
    const counted: FaultRecord = {
      ...fault('flaky', 'undone', 1000, 5000),
      effect: { failShare: 0.2, perConnection: true },
      reach: { source: 'injected', reached: true, summary: '18 of 150 requests reset', counts: { seen: 150, faulted: 18, passed: 132 } },
    };
    const [verdict] = judge(spec, journal({ faults: [counted], windows: [baseline(), window('flaky', 150, 150, { p50: 10, p99: 20 })] }));
    expect(verdict).toMatchObject({ result: 'pass' });
    expect(verdict!.evidence.summary).toMatch(/18 failures injected into flaky, 0 reached the client: retries absorbed 100%/);
    expect(verdict!.evidence.figures['absorbed (flaky)']).toBe(1);
    // Counted, but too few to break the bound without retries.
    const few = { ...counted, reach: { ...counted.reach!, counts: { seen: 150, faulted: 3, passed: 147 } } };
    expect(judge(spec, journal({ faults: [few], windows: [baseline(), window('flaky', 150, 150, { p50: 10, p99: 20 })] }))[0]!.result).toBe('not-exercised');
    // Counted nothing: decisive, not reached.
    const none = { ...counted, reach: { ...counted.reach!, reached: null, counts: { seen: 150, faulted: 0, passed: 150 } } };
    expect(judge(spec, journal({ faults: [none], windows: [baseline(), window('flaky', 150, 150, { p50: 10, p99: 20 })] }))[0]!.evidence.summary).toMatch(/flaky did not reach/);
  });

  it('failover: an outage no longer than the allowed gap, or a mere delay, is not exercised; a kill cannot be timed', () => {
    const spec = { failover: { faults: ['down'], successRate: '90%', longestGap: '1s' } };
    const run = (effect: FaultRecord['effect'], f: FaultRecord) => judge(spec, journal({ faults: [withEffect(f, effect)], windows: [baseline(), window('down', 300, 300, { p50: 10, p99: 20 })] }))[0]!;
    const short = run({ outage: 'black-hole' }, fault('down', 'undone', 1000, 1800));
    expect(short.result).toBe('not-exercised');
    expect(short.evidence.summary).toMatch(/down lasted 800ms, no longer than the allowed gap 1s/);
    expect(run({ outage: 'black-hole' }, fault('down', 'undone', 1000, 4000)).result).toBe('pass');
    expect(run({ delayMs: 3000 }, fault('down', 'undone', 1000, 4000)).evidence.summary).toMatch(/only delays its target, which is no outage/);
    expect(run({ failShare: 0.05 }, fault('down', 'undone', 1000, 4000)).result).toBe('not-exercised');
    const kill = run({ outage: 'refused' }, fault('down', 'irreversible', 1000));
    expect(kill.result).toBe('pass');
    expect(kill.evidence.strength![0]!.strong).toBeNull();
  });
});

describe('enough samples (Wilson 95%)', () => {
  it('a rate whose interval straddles the bound is not exercised, with the number of requests that would decide it', () => {
    const spec = { retries: { faults: ['flaky'], errorRate: '6%', minRequests: 10 } };
    const [verdict] = judge(spec, journal({ faults: [reachedByDriver(fault('flaky', 'undone', 1000, 2000))], windows: [baseline(), window('flaky', 40, 40, { p50: 10, p99: 20 })] }));
    expect(verdict).toMatchObject({ result: 'not-exercised' });
    expect(verdict!.evidence.summary).toMatch(/^too few requests to decide error rate ≤ 6% \(measured 0% \(0\/40; 95% interval 0% to 8.8%\); about 61 requests would be needed at 0%\) at 95% confidence/);
    expect(verdict!.evidence.checks[0]).toMatchObject({ ok: false, undecided: true });
  });

  it('a success rate wholly under the bound fails, even on few requests', () => {
    const spec = { failover: { faults: ['down'], successRate: '90%', minRequests: 10 } };
    const [verdict] = judge(spec, journal({ faults: [reachedByDriver(fault('down', 'undone', 1000, 2000))], windows: [baseline(), window('down', 20, 5, { p50: 10, p99: 20 })] }));
    expect(verdict).toMatchObject({ result: 'fail' });
  });
});
