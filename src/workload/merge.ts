// Merging the workers of a split workload into one record: window by window (counts added, HDR
// histograms added bucket by bucket, the longest gap from where every worker went without a success)
// and second by second (a second is merged once every worker has reported past it). What comes out
// has the shape one in-process workload writes, so reporters and verdicts read it unchanged.
import { MergeableHistogram } from './mergeable-histogram.js';
import { mergeErrorClasses, SecondSeries, summarizeWindow, type LatencyHistogram, type RawSecond, type WindowAccumulator } from './recorder.js';
import { OUTCOME_CLASSES, type OutcomeClass, type WorkloadWindow } from './types.js';
import type { SecondState, WindowState } from './worker-protocol.js';
import type { WorkloadSecond } from './types.js';

function mergeable(histogram: LatencyHistogram): MergeableHistogram {
  if (!(histogram instanceof MergeableHistogram)) throw new TypeError('a worker records into MergeableHistogram');
  return histogram;
}

/** A worker's closed window as it travels to the run. */
export function windowState(window: WindowAccumulator): WindowState {
  return {
    name: window.name,
    kind: window.kind,
    ...(window.fault ? { fault: window.fault } : {}),
    startMs: window.startMs,
    endMs: window.endMs ?? window.startMs,
    requests: window.requests,
    ok: window.ok,
    outcomes: { ...window.outcomes },
    histogram: mergeable(window.histogram).encode(),
    longestGapMs: window.longestGap,
    gaps: window.gapLog ? [...window.gapLog.intervals] : [],
    gapFloorMs: window.gapLog?.floorMs ?? Number.POSITIVE_INFINITY,
  };
}

export function secondState(second: RawSecond): SecondState {
  return { t: second.t, requests: second.requests, ok: second.ok, errorClasses: { ...second.errorClasses }, histogram: mergeable(second.histogram).encode() };
}

/** Pieces of time inside both lists of [from, to] pairs (each sorted by time, pieces disjoint). */
export function intersectIntervals(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const from = Math.max(a[i]!, b[j]!);
    const to = Math.min(a[i + 1]!, b[j + 1]!);
    if (to > from) out.push(from, to);
    // Drop whichever ends first: it cannot overlap anything later in the other list.
    if (a[i + 1]! < b[j + 1]!) i += 2;
    else j += 2;
  }
  return out;
}

/**
 * The longest stretch in which no worker got a success. Every stretch is bounded by some worker's
 * success (or the window's edge), so a piece of the intersection is a true gap, exact to the ms; a
 * gap shorter than a worker's log floor may be missed, and then what is reported is an upper bound:
 * no gap of the merged traffic is longer than any one worker's longest, nor than the log floor.
 */
export function mergeLongestGap(windows: readonly Pick<WindowState, 'gaps' | 'gapFloorMs' | 'longestGapMs'>[]): number {
  if (windows.length === 0) return 0;
  let common = windows[0]!.gaps;
  for (const w of windows.slice(1)) common = intersectIntervals(common, w.gaps);
  let longest = 0;
  for (let i = 0; i < common.length; i += 2) longest = Math.max(longest, common[i + 1]! - common[i]!);
  const floor = Math.max(...windows.map((w) => w.gapFloorMs));
  if (longest >= floor) return longest;
  return Math.max(longest, Math.min(floor, ...windows.map((w) => w.longestGapMs)));
}

/** One window from every worker's copy of it (they saw the same window events, so they hold the same windows). */
export function mergeWindow(copies: readonly WindowState[], offsetMs: number): WorkloadWindow {
  const first = copies[0];
  if (!first) throw new RangeError('no window to merge');
  const histogram = new MergeableHistogram();
  const outcomes = Object.fromEntries(OUTCOME_CLASSES.map((c) => [c, 0])) as Record<OutcomeClass, number>;
  let requests = 0;
  let ok = 0;
  for (const copy of copies) {
    histogram.add(MergeableHistogram.decode(copy.histogram));
    for (const c of OUTCOME_CLASSES) outcomes[c] += copy.outcomes[c];
    requests += copy.requests;
    ok += copy.ok;
  }
  return summarizeWindow(
    {
      name: first.name,
      kind: first.kind,
      fault: first.fault,
      startMs: first.startMs,
      endMs: Math.max(...copies.map((c) => c.endMs)),
      requests,
      ok,
      outcomes,
      histogram,
      longestGapMs: mergeLongestGap(copies),
    },
    offsetMs,
  );
}

/** Every worker's windows, merged in order; throws when the workers disagree on which windows there were. */
export function mergeWindows(perWorker: readonly (readonly WindowState[])[], offsetMs: number): WorkloadWindow[] {
  const first = perWorker[0] ?? [];
  const key = (w: WindowState) => `${w.kind}:${w.fault ?? ''}@${w.startMs}`;
  for (const windows of perWorker) {
    if (windows.length !== first.length || windows.some((w, i) => key(w) !== key(first[i]!))) {
      throw new Error(`the workers' windows differ: ${first.map(key).join(', ')} vs ${windows.map(key).join(', ')}`);
    }
  }
  return first.map((_, i) => mergeWindow(perWorker.map((windows) => windows[i]!), offsetMs));
}

/**
 * The merged per-second series: holds each worker's seconds until every worker still running has
 * reported past them, then hands each merged second on in order (counts added, histograms added).
 */
export class SecondsMerger {
  private readonly pending = new Map<number, RawSecond & { histogram: MergeableHistogram }>();
  private readonly through: number[];

  constructor(
    workers: number,
    private readonly onSecond: (second: RawSecond) => void,
  ) {
    this.through = Array.from({ length: workers }, () => -1);
  }

  add(worker: number, seconds: readonly SecondState[], through: number): void {
    for (const second of seconds) {
      let merged = this.pending.get(second.t);
      if (!merged) {
        merged = { t: second.t, requests: 0, ok: 0, errorClasses: {}, histogram: new MergeableHistogram() };
        this.pending.set(second.t, merged);
      }
      merged.requests += second.requests;
      merged.ok += second.ok;
      mergeErrorClasses(merged, second);
      merged.histogram.add(MergeableHistogram.decode(second.histogram));
    }
    this.through[worker] = Math.max(this.through[worker]!, through);
    this.release(Math.min(...this.through));
  }

  /** A worker that will report no more (finished or lost) holds back no second. */
  done(worker: number): void {
    this.through[worker] = Number.POSITIVE_INFINITY;
    this.release(Math.min(...this.through));
  }

  private release(upTo: number): void {
    const ready = [...this.pending.keys()].filter((t) => t <= upTo).sort((a, b) => a - b);
    for (const t of ready) {
      const second = this.pending.get(t)!;
      this.pending.delete(t);
      this.onSecond(second);
    }
  }
}

/** Finished workers' results (standalone ones' files) merged into the windows and series one run writes. */
export function mergeWorkerResults(
  results: readonly { windows: readonly WindowState[]; seconds: readonly SecondState[] }[],
  offsetMs: number,
): { windows: WorkloadWindow[]; seconds: WorkloadSecond[]; secondsPerEntry: number } {
  const series = new SecondSeries();
  const merger = new SecondsMerger(results.length, (second) => series.add(second));
  results.forEach((result, worker) => merger.add(worker, result.seconds, Number.POSITIVE_INFINITY));
  return { windows: mergeWindows(results.map((result) => result.windows), offsetMs), seconds: series.entries, secondsPerEntry: series.secondsPerEntry };
}
