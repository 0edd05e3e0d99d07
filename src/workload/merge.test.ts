import { describe, expect, it } from 'vitest';
import { intersectIntervals, mergeLongestGap, mergeWindows, secondState, SecondsMerger, windowState } from './merge.js';
import { MergeableHistogram } from './mergeable-histogram.js';
import { OutcomeRecorder, SecondSeries, summarizeHistogram, type RawSecond } from './recorder.js';
import type { SecondState } from './worker-protocol.js';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Request {
  dueMs: number;
  completedMs: number;
  latencyMs: number;
  ok: boolean;
}

/** Requests over `spanMs`, latencies spread over five decades, a share failing, an outage in the middle. */
function traffic(seed: number, count: number, spanMs: number): Request[] {
  const next = random(seed);
  const requests: Request[] = [];
  for (let i = 0; i < count; i += 1) {
    const dueMs = Math.floor((i / count) * spanMs);
    const latencyMs = Math.round(10 ** (next() * 5)) / 100;
    const outage = dueMs > spanMs * 0.4 && dueMs < spanMs * 0.55;
    requests.push({ dueMs, latencyMs, completedMs: Math.round(dueMs + latencyMs), ok: !outage && next() > 0.05 });
  }
  return requests.sort((a, b) => a.completedMs - b.completedMs);
}

/** Feeds requests to a recorder as a workload would, in time order: windows are taken when a request is due,
 * outcomes recorded when it completes, and a fault is live from 30% to 60% of the span. */
function record(recorder: OutcomeRecorder, requests: readonly Request[], spanMs: number): void {
  type Step = { at: number; order: number; run: () => void };
  const windowsOf = new Map<Request, ReturnType<OutcomeRecorder['openWindows']>>();
  const steps: Step[] = [
    { at: spanMs * 0.3, order: 0, run: () => recorder.faultApplied('f', 'cut', spanMs * 0.3) },
    { at: spanMs * 0.6, order: 0, run: () => recorder.faultEnded('f', spanMs * 0.6) },
  ];
  for (const request of requests) {
    steps.push({ at: request.dueMs, order: 1, run: () => windowsOf.set(request, recorder.openWindows()) });
    steps.push({ at: request.completedMs, order: 2, run: () => recorder.record(windowsOf.get(request)!, request.ok ? '2xx' : '5xx', request.ok, request.latencyMs, request.completedMs) });
  }
  steps.sort((a, b) => a.at - b.at || a.order - b.order);
  for (const step of steps) step.run();
}

const mergeableRecorder = (seconds?: SecondState[]) =>
  new OutcomeRecorder(0, { newHistogram: () => new MergeableHistogram(), logGaps: true, ...(seconds ? { onRawSecond: (s: RawSecond) => seconds.push(secondState(s)) } : {}) });

describe('merging the workers of a split workload', () => {
  it("merged percentiles, counts and gaps equal one recorder's over every request", () => {
    for (const seed of [1, 2, 3, 42]) {
      const spanMs = 10_000;
      const all = traffic(seed, 6000, spanMs);
      const one = mergeableRecorder();
      record(one, all, spanMs);
      const expected = one.finish(spanMs + 1500, -1000).windows;

      const parts = [0, 1, 2].map((w) => all.filter((_, i) => i % 3 === w));
      const workers = parts.map((part) => {
        const recorder = mergeableRecorder();
        record(recorder, part, spanMs);
        return recorder.close(spanMs + 1500).map(windowState);
      });
      const merged = mergeWindows(workers, -1000);
      expect(merged.map((w) => w.name)).toEqual(['baseline', 'fault cut', 'recovery', 'total']);
      expect(merged).toEqual(expected);
      // Not a trivial agreement: the workers' own figures differ from the merged ones.
      expect(workers.map((w) => w.at(-1)!.requests)).toEqual([2000, 2000, 2000]);
      // The outage is in the merged fault window, and one worker alone saw longer gaps than the merged traffic had.
      expect(merged[1]!.longestGapMs).toBeGreaterThan(500);
      expect(Math.max(...workers.map((w) => w.at(-1)!.longestGapMs))).toBeGreaterThan(merged.at(-1)!.longestGapMs);
    }
  });

  it('merged histograms equal one histogram of the same values, percentile for percentile', () => {
    const next = random(7);
    const single = new MergeableHistogram();
    const parts = [new MergeableHistogram(), new MergeableHistogram(), new MergeableHistogram(), new MergeableHistogram()];
    for (let i = 0; i < 50_000; i += 1) {
      const micros = Math.max(1, Math.round(10 ** (next() * 7)));
      single.record(micros);
      parts[i % 4]!.record(micros);
    }
    const merged = new MergeableHistogram();
    for (const part of parts) merged.add(MergeableHistogram.decode(part.encode()));
    for (const p of [0, 1, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]) expect(merged.percentile(p)).toBe(single.percentile(p));
    expect([merged.count, merged.min, merged.max, merged.mean]).toEqual([single.count, single.min, single.max, single.mean]);
    expect(summarizeHistogram(merged)).toEqual(summarizeHistogram(single));
  });

  it("merged seconds equal one recorder's series, released only once every worker has reported past them", () => {
    const spanMs = 6_000;
    const all = traffic(5, 3000, spanMs);
    const one = mergeableRecorder();
    record(one, all, spanMs);
    const expected = one.finish(spanMs + 1500, 0).seconds;

    const perWorker = [0, 1].map((w) => {
      const seconds: SecondState[] = [];
      const recorder = mergeableRecorder(seconds);
      record(recorder, all.filter((_, i) => i % 2 === w), spanMs);
      recorder.close(spanMs + 1500);
      return seconds;
    });
    const series = new SecondSeries();
    const merger = new SecondsMerger(2, (second) => series.add(second));
    merger.add(0, perWorker[0]!.filter((s) => s.t <= 2), 2);
    // Worker 1 has not reported yet: nothing is released.
    expect(series.entries).toHaveLength(0);
    merger.add(1, perWorker[1]!.filter((s) => s.t <= 1), 1);
    expect(series.entries.map((s) => s.t)).toEqual([0, 1]);
    merger.add(1, perWorker[1]!.filter((s) => s.t > 1), Number.POSITIVE_INFINITY);
    merger.add(0, perWorker[0]!.filter((s) => s.t > 2), Number.POSITIVE_INFINITY);
    expect(series.entries).toEqual(expected);
    expect(series.entries.reduce((sum, s) => sum + s.requests, 0)).toBe(3000);
  });

  it('a worker that is done (or lost) no longer holds the merged seconds back', () => {
    const series = new SecondSeries();
    const merger = new SecondsMerger(2, (second) => series.add(second));
    const histogram = new MergeableHistogram();
    histogram.record(1000);
    merger.add(0, [{ t: 0, requests: 1, ok: 1, errorClasses: {}, histogram: histogram.encode() }], 0);
    expect(series.entries).toHaveLength(0);
    merger.done(1);
    expect(series.entries).toMatchObject([{ t: 0, requests: 1, p50: 1 }]);
  });
});

describe('the longest gap of merged traffic', () => {
  it('is where every worker went without a success at once', () => {
    expect(intersectIntervals([0, 10, 20, 30], [5, 25])).toEqual([5, 10, 20, 25]);
    expect(intersectIntervals([0, 10], [10, 20])).toEqual([]);
    // Worker A had no success 100–900, B 400–1200: the merged traffic none 400–900.
    expect(mergeLongestGap([{ gaps: [100, 900], gapFloorMs: 1, longestGapMs: 800 }, { gaps: [400, 1200], gapFloorMs: 1, longestGapMs: 800 }])).toBe(500);
  });

  it('below the log floor, is bounded by the floor and by each worker’s own longest gap', () => {
    expect(mergeLongestGap([{ gaps: [], gapFloorMs: 16, longestGapMs: 9 }, { gaps: [0, 20], gapFloorMs: 16, longestGapMs: 20 }])).toBe(9);
    expect(mergeLongestGap([{ gaps: [], gapFloorMs: 4, longestGapMs: 9 }, { gaps: [], gapFloorMs: 4, longestGapMs: 12 }])).toBe(4);
  });
});
