import { describe, expect, it } from 'vitest';
import type { FaultRecord } from '../engine/journal.js';
import { OUTCOME_CLASSES, type OutcomeClass, type WorkloadWindow } from '../workload/types.js';
import { compareWithBaseline, judgeFaultReach, overlappingFaults } from './reach.js';

function win(requests: number, errors: Partial<Record<OutcomeClass, number>>, latency: { p50: number; p90: number }, gapMs = 40): WorkloadWindow {
  const outcomes = Object.fromEntries(OUTCOME_CLASSES.map((c) => [c, errors[c] ?? 0])) as WorkloadWindow['outcomes'];
  const failed = Object.values(errors).reduce((a, b) => a + (b ?? 0), 0);
  outcomes['2xx'] = requests - failed;
  return {
    name: 'w',
    kind: 'fault',
    startMs: 0,
    endMs: 3000,
    requests,
    ok: requests - failed,
    errors: failed,
    outcomes,
    successRate: (requests - failed) / requests,
    errorRate: failed / requests,
    throughput: requests / 3,
    latency: { count: requests, min: 1, mean: latency.p50, p95: latency.p90, p99: latency.p90, max: latency.p90, ...latency },
    longestGapMs: gapMs,
  };
}

const base = win(100, {}, { p50: 20, p90: 33 });

describe('the traffic rule: a fault window against the baseline', () => {
  it('latency: p50 or p90 above max(2 × baseline, baseline + 50 ms)', () => {
    // 33 ms baseline p90: the threshold is max(66, 83) = 83 ms.
    expect(compareWithBaseline(win(150, {}, { p50: 20, p90: 83 }), base).reached).toBeNull();
    expect(compareWithBaseline(win(150, {}, { p50: 20, p90: 84 }), base)).toEqual({ reached: true, summary: 'the traffic moved: p90 84ms against 33ms in the baseline' });
    // A slow baseline: twice it is the threshold.
    const slowBase = win(100, {}, { p50: 200, p90: 300 });
    expect(compareWithBaseline(win(150, {}, { p50: 390, p90: 590 }), slowBase).reached).toBeNull();
    expect(compareWithBaseline(win(150, {}, { p50: 410, p90: 590 }), slowBase).summary).toBe('the traffic moved: p50 410ms against 200ms in the baseline');
  });

  it('errors: the Wilson interval of the window wholly above the baseline’s, overall and by class', () => {
    // 0 of 100 in the baseline: its interval reaches 3.7%. 5 of 150 (3.3%, from 1.4%) does not clear it; 15 of 150 does.
    expect(compareWithBaseline(win(150, { '5xx': 5 }, { p50: 20, p90: 33 }), base).reached).toBeNull();
    const moved = compareWithBaseline(win(150, { '5xx': 15 }, { p50: 20, p90: 33 }), base);
    expect(moved.reached).toBe(true);
    expect(moved.summary).toBe('the traffic moved: error rate 10% (15/150) against 0% (0/100) in the baseline; 5xx 15/150 against 0/100');
    // A class the baseline already shows at the same rate is noise.
    const noisy = win(100, { '5xx': 10 }, { p50: 20, p90: 33 });
    expect(compareWithBaseline(win(150, { '5xx': 15 }, { p50: 20, p90: 33 }), noisy).reached).toBeNull();
  });

  it('the longest gap above max(2 × baseline, baseline + 500 ms)', () => {
    expect(compareWithBaseline(win(150, {}, { p50: 20, p90: 33 }, 540), base).reached).toBeNull();
    expect(compareWithBaseline(win(150, {}, { p50: 20, p90: 33 }, 2000), base).summary).toBe('the traffic moved: longest gap 2s against 40ms in the baseline');
  });

  it('too little traffic on either side cannot be compared', () => {
    expect(compareWithBaseline(win(150, {}, { p50: 900, p90: 900 }), undefined).summary).toMatch(/no baseline to compare with \(0 requests/);
    expect(compareWithBaseline(win(150, {}, { p50: 900, p90: 900 }), win(19, {}, { p50: 1, p90: 1 })).reached).toBeNull();
    expect(compareWithBaseline(win(19, {}, { p50: 900, p90: 900 }), base).summary).toMatch(/too few requests to compare/);
  });

  it('a quiet window says what it compared', () => {
    expect(compareWithBaseline(win(150, {}, { p50: 21, p90: 35 }), base).summary).toBe(
      'the traffic did not differ from the baseline beyond its noise (p50 21ms against 20ms, p90 35ms against 33ms, errors 0/150 against 0/100, longest gap 40ms against 40ms)',
    );
  });
});

describe('judgeFaultReach', () => {
  const fault = (key: string, from: number, to?: number): FaultRecord => ({
    key,
    name: key,
    ref: 'x.y',
    ledgerId: key,
    targets: [],
    undo: null,
    scheduledAtMs: from,
    appliedAtMs: from,
    ...(to !== undefined ? { undoneAtMs: to } : {}),
    status: to !== undefined ? 'undone' : 'irreversible',
  });
  const moved = win(150, {}, { p50: 20, p90: 400 });

  it('counts decide: nothing faulted is not reached, whatever the driver thought', () => {
    const f = { ...fault('f', 0, 3000), reach: { source: 'injected' as const, reached: true, summary: 's', counts: { seen: 10, faulted: 0, passed: 10 } } };
    expect(judgeFaultReach(f, moved, base).reached).toBe(false);
  });

  it('any positive source is enough when none says no', () => {
    const f = { ...fault('f', 0, 3000), reach: { source: 'driver' as const, reached: null, summary: 'no metrics' } };
    expect(judgeFaultReach(f, moved, base)).toMatchObject({ reached: true, findings: [{ source: 'driver', reached: null }, { source: 'traffic', reached: true }] });
  });

  it('overlap: faults live at the same time, judged elsewhere; a kill stays live to its window’s end', () => {
    const a = fault('a', 1000, 4000);
    const b = fault('b', 3000, 5000);
    const c = fault('c', 6000);
    const d = fault('d', 4000, 5000);
    const windows = [{ ...moved, fault: 'c', endMs: 9000 }];
    expect(overlappingFaults(a, [a], [a, b, c, d], windows).map((f) => f.key)).toEqual(['b']);
    expect(overlappingFaults(a, [a, b], [a, b, c, d], windows)).toEqual([]);
    expect(overlappingFaults(c, [c], [a, b, c, d], windows)).toEqual([]);
    expect(judgeFaultReach(a, moved, base, [b]).findings[0]).toMatchObject({ source: 'traffic', reached: null, summary: expect.stringMatching(/b was live at the same time/) });
  });
});
