import { describe, expect, it } from 'vitest';
import { MAX_SECOND_ENTRIES, OutcomeRecorder } from './recorder.js';

describe('OutcomeRecorder', () => {
  it('splits traffic into baseline, fault, recovery and total windows by when requests were due', () => {
    const recorder = new OutcomeRecorder();
    const send = (at: number, ok: boolean, latency: number, completedAt = at + latency) => recorder.record(recorder.openWindows(), ok ? '2xx' : '5xx', ok, latency, completedAt);
    send(100, true, 10);
    send(200, true, 10);
    recorder.faultApplied('slow', 'slow backend', 500);
    const dueDuringFault = recorder.openWindows();
    send(600, true, 900);
    send(700, false, 50);
    recorder.faultEnded('slow', 1000);
    // Due during the fault, answered after it: still counted in the fault's window.
    recorder.record(dueDuringFault, '2xx', true, 800, 1500);
    send(1200, true, 10);
    const { windows } = recorder.finish(2000, -1000);
    const byName = Object.fromEntries(windows.map((w) => [w.kind, w]));
    expect(windows.map((w) => w.kind)).toEqual(['baseline', 'fault', 'recovery', 'total']);
    expect(byName.baseline).toMatchObject({ requests: 2, ok: 2, startMs: -1000, endMs: -500 });
    expect(byName.fault).toMatchObject({ fault: 'slow', requests: 3, ok: 2, errors: 1, startMs: -500, endMs: 0 });
    expect(byName.fault!.latency!.max).toBeCloseTo(900, 0);
    expect(byName.fault!.errorRate).toBeCloseTo(1 / 3);
    expect(byName.recovery).toMatchObject({ requests: 1, startMs: 0, endMs: 1000 });
    expect(byName.total).toMatchObject({ requests: 6, ok: 5 });
  });

  it('measures the longest time without a successful answer, including an outage running to the end', () => {
    const recorder = new OutcomeRecorder();
    recorder.faultApplied('down', 'down', 0);
    const w = recorder.openWindows();
    recorder.record(w, '2xx', true, 5, 100);
    recorder.record(w, 'connection-error', false, 1, 200);
    recorder.record(w, '2xx', true, 5, 1300);
    recorder.record(w, 'timeout', false, 1000, 1400);
    recorder.faultEnded('down', 3000);
    const fault = recorder.finish(3000, 0).windows.find((x) => x.kind === 'fault')!;
    expect(fault.longestGapMs).toBe(1700);
    expect(fault.outcomes).toMatchObject({ '2xx': 2, 'connection-error': 1, timeout: 1 });
  });

  it('a later fault discards a recovery window that was not after the last fault', () => {
    const recorder = new OutcomeRecorder();
    recorder.faultApplied('a', 'a', 100);
    recorder.faultEnded('a', 200);
    recorder.faultApplied('b', 'b', 300);
    recorder.faultEnded('b', 400);
    const kinds = recorder.finish(500, 0).windows.map((w) => `${w.kind}@${w.startMs}`);
    expect(kinds).toEqual(['baseline@0', 'fault@100', 'fault@300', 'recovery@400', 'total@0']);
  });

  it('keeps one entry per second, with empty seconds for an outage, and merges to stay bounded', () => {
    const recorder = new OutcomeRecorder();
    const w = recorder.openWindows();
    recorder.record(w, '2xx', true, 5, 100);
    recorder.record(w, '2xx', true, 7, 900);
    recorder.record(w, '5xx', false, 9, 3500);
    const { seconds } = recorder.finish(4000, 0);
    expect(seconds.map((s) => [s.t, s.requests, s.errors])).toEqual([[0, 2, 0], [1, 0, 0], [2, 0, 0], [3, 1, 1]]);
    expect(recorder.trailing(2000)).toMatchObject({ seconds: 2, requests: 1, ok: 0 });

    const long = new OutcomeRecorder();
    const all = long.openWindows();
    for (let t = 0; t < MAX_SECOND_ENTRIES * 3; t++) long.record(all, '2xx', true, 1, t * 1000 + 10);
    const result = long.finish(MAX_SECOND_ENTRIES * 3000, 0);
    expect(result.seconds.length).toBeLessThanOrEqual(MAX_SECOND_ENTRIES);
    expect(result.secondsPerEntry).toBe(4);
    expect(result.seconds.reduce((sum, s) => sum + s.requests, 0)).toBe(MAX_SECOND_ENTRIES * 3);
  });

  it('counts each second\'s failed requests by class, and adds them up when seconds merge', () => {
    const recorder = new OutcomeRecorder();
    const w = recorder.openWindows();
    recorder.record(w, '2xx', true, 5, 100);
    recorder.record(w, '5xx', false, 5, 200);
    recorder.record(w, 'timeout', false, 5, 300);
    recorder.record(w, '5xx', false, 5, 400);
    recorder.record(w, '2xx', true, 5, 1100);
    const { seconds } = recorder.finish(2000, 0);
    expect(seconds[0]!.errorClasses).toEqual({ '5xx': 2, timeout: 1 });
    expect(seconds[1]).not.toHaveProperty('errorClasses');

    const long = new OutcomeRecorder();
    const all = long.openWindows();
    for (let t = 0; t < MAX_SECOND_ENTRIES * 2; t++) long.record(all, t % 2 === 0 ? '5xx' : 'connection-error', false, 1, t * 1000 + 10);
    const merged = long.finish(MAX_SECOND_ENTRIES * 2000, 0);
    expect(merged.secondsPerEntry).toBe(2);
    expect(merged.seconds[0]!.errorClasses).toEqual({ '5xx': 1, 'connection-error': 1 });
    expect(merged.seconds.reduce((sum, s) => sum + (s.errorClasses?.['5xx'] ?? 0), 0)).toBe(MAX_SECOND_ENTRIES);
  });

  it('tells a listener of each second once it is over, empty seconds of an outage included', () => {
    const recorder = new OutcomeRecorder();
    const told: [number, number][] = [];
    recorder.watchSeconds((second) => told.push([second.t, second.requests]));
    const w = recorder.openWindows();
    recorder.record(w, '2xx', true, 5, 100);
    recorder.record(w, '2xx', true, 5, 200);
    expect(told).toEqual([]);
    recorder.record(w, '2xx', true, 5, 3100);
    // Seconds without an answer are known once the next answer's second is over.
    expect(told).toEqual([[0, 2]]);
    recorder.finish(4000, 0);
    expect(told).toEqual([[0, 2], [1, 0], [2, 0], [3, 1]]);
  });
});
