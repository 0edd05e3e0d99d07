// Aggregates request outcomes into windows (baseline, each fault, recovery, total) and per-second
// entries, each an HDR histogram plus counters, so memory does not grow with the number of requests.
// Node's built-in perf_hooks histogram is an HDR histogram (the same algorithm as HdrHistogram);
// it needs no dependency and is what autocannon's peers measure with.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { OUTCOME_CLASSES, type LatencySummary, type OutcomeClass, type WindowKind, type WorkloadSecond, type WorkloadWindow } from './types.js';

/** The per-second series keeps at most this many entries: beyond it, neighbours are merged pairwise. */
export const MAX_SECOND_ENTRIES = 3600;

const zeroOutcomes = (): Record<OutcomeClass, number> => Object.fromEntries(OUTCOME_CLASSES.map((c) => [c, 0])) as Record<OutcomeClass, number>;

const round2 = (value: number) => Math.round(value * 100) / 100;

/** Latency is recorded in microseconds (integers ≥ 1, as the histogram needs) and reported in ms. */
function toMicros(ms: number): number {
  return Math.max(1, Math.round(ms * 1000));
}

export function summarizeHistogram(histogram: RecordableHistogram): LatencySummary | null {
  if (histogram.count === 0) return null;
  const ms = (micros: number) => round2(micros / 1000);
  return {
    count: histogram.count,
    min: ms(histogram.min),
    mean: ms(histogram.mean),
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p95: ms(histogram.percentile(95)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  };
}

/** One window's running figures. Outcomes land here by when the request was due, not when it ended. */
export class WindowAccumulator {
  readonly histogram = createHistogram();
  readonly outcomes = zeroOutcomes();
  requests = 0;
  ok = 0;
  endMs: number | undefined;
  private lastSuccessMs: number;
  private longestGapMs = 0;

  constructor(
    readonly name: string,
    readonly kind: WindowKind,
    readonly startMs: number,
    readonly fault?: string,
  ) {
    this.lastSuccessMs = startMs;
  }

  get open(): boolean {
    return this.endMs === undefined;
  }

  record(outcome: OutcomeClass, ok: boolean, latencyMs: number | undefined, completedMs: number): void {
    this.requests += 1;
    this.outcomes[outcome] += 1;
    if (latencyMs !== undefined) this.histogram.record(toMicros(latencyMs));
    if (ok) {
      this.ok += 1;
      // The gap is time without any successful answer, measured on completions while the window is open.
      if (this.open && completedMs > this.lastSuccessMs) {
        this.longestGapMs = Math.max(this.longestGapMs, completedMs - this.lastSuccessMs);
        this.lastSuccessMs = completedMs;
      }
    }
  }

  close(atMs: number): void {
    if (!this.open) return;
    this.endMs = atMs;
    this.longestGapMs = Math.max(this.longestGapMs, atMs - this.lastSuccessMs);
  }

  summary(offsetMs: number): WorkloadWindow {
    const endMs = this.endMs ?? this.startMs;
    const seconds = Math.max(endMs - this.startMs, 1) / 1000;
    const completed = this.requests - this.outcomes.dropped;
    return {
      name: this.name,
      kind: this.kind,
      ...(this.fault ? { fault: this.fault } : {}),
      startMs: Math.round(this.startMs + offsetMs),
      endMs: Math.round(endMs + offsetMs),
      requests: this.requests,
      ok: this.ok,
      errors: this.requests - this.ok,
      outcomes: { ...this.outcomes },
      successRate: this.requests ? this.ok / this.requests : null,
      errorRate: this.requests ? (this.requests - this.ok) / this.requests : null,
      throughput: round2(completed / seconds),
      latency: summarizeHistogram(this.histogram),
      longestGapMs: Math.round(this.longestGapMs),
    };
  }
}

/**
 * Receives outcomes with timestamps in ms on the workload's own clock (0 = traffic started) and keeps
 * windows and the per-second series. Windows are opened and closed by the engine as faults come and go.
 */
export class OutcomeRecorder {
  private readonly windows: WindowAccumulator[] = [];
  private readonly total: WindowAccumulator;
  private baseline: WindowAccumulator | undefined;
  private recovery: WindowAccumulator | undefined;
  private readonly liveFaults = new Map<string, WindowAccumulator>();
  private readonly seconds: WorkloadSecond[] = [];
  private secondsPerEntry = 1;
  private current: { t: number; histogram: RecordableHistogram; requests: number; ok: number; errorClasses: Partial<Record<OutcomeClass, number>> } | undefined;
  /** Told of each second as it completes, for live progress; merged entries are not told again. */
  private secondListener: ((second: WorkloadSecond) => void) | undefined;
  /** openWindows() is asked once per request: the answer is kept until a window opens or closes. */
  private openCache: WindowAccumulator[] | undefined;

  constructor(startMs = 0) {
    this.total = new WindowAccumulator('total', 'total', startMs);
    this.baseline = new WindowAccumulator('baseline', 'baseline', startMs);
    this.windows.push(this.baseline);
  }

  /** Calls `listener` with each second once it is over (seconds without any answer too, once answers resume). */
  watchSeconds(listener: (second: WorkloadSecond) => void): void {
    this.secondListener = listener;
  }

  /** The windows a request due now belongs to; captured at dispatch, so late answers count where they were asked. */
  openWindows(): readonly WindowAccumulator[] {
    if (this.openCache) return this.openCache;
    const open: WindowAccumulator[] = [this.total];
    if (this.baseline?.open) open.push(this.baseline);
    if (this.recovery?.open) open.push(this.recovery);
    for (const window of this.liveFaults.values()) open.push(window);
    this.openCache = open;
    return open;
  }

  record(windows: readonly WindowAccumulator[], outcome: OutcomeClass, ok: boolean, latencyMs: number | undefined, completedMs: number): void {
    for (const window of windows) window.record(outcome, ok, latencyMs, completedMs);
    this.recordSecond(outcome, ok, latencyMs, completedMs);
  }

  faultApplied(key: string, name: string, atMs: number): void {
    this.openCache = undefined;
    this.baseline?.close(atMs);
    // A fault after a recovery began: that was not the recovery after the last fault.
    if (this.recovery?.open) {
      this.windows.splice(this.windows.indexOf(this.recovery), 1);
      this.recovery = undefined;
    }
    const window = new WindowAccumulator(`fault ${name}`, 'fault', atMs, key);
    this.liveFaults.set(key, window);
    this.windows.push(window);
  }

  faultEnded(key: string, atMs: number): void {
    const window = this.liveFaults.get(key);
    if (!window) return;
    this.openCache = undefined;
    window.close(atMs);
    this.liveFaults.delete(key);
    if (this.liveFaults.size === 0) {
      this.recovery = new WindowAccumulator('recovery', 'recovery', atMs);
      this.windows.push(this.recovery);
    }
  }

  /** Figures for the last `ms` of complete seconds, for abort conditions on the workload. */
  trailing(ms: number): { seconds: number; requests: number; ok: number } {
    const wanted = Math.max(1, Math.round(ms / 1000 / this.secondsPerEntry));
    const last = this.seconds.slice(-wanted);
    return {
      seconds: last.length * this.secondsPerEntry,
      requests: last.reduce((sum, s) => sum + s.requests, 0),
      ok: last.reduce((sum, s) => sum + s.ok, 0),
    };
  }

  /** Closes every window at `endMs` and returns the summaries, with offsets shifted by `offsetMs`. */
  finish(endMs: number, offsetMs: number): { windows: WorkloadWindow[]; seconds: WorkloadSecond[]; secondsPerEntry: number } {
    this.openCache = undefined;
    this.flushSecond();
    for (const window of this.liveFaults.values()) window.close(endMs);
    this.liveFaults.clear();
    this.baseline?.close(endMs);
    this.recovery?.close(endMs);
    this.total.close(endMs);
    const windows = this.windows.filter((w) => !(w.kind === 'baseline' && w.endMs === w.startMs && w.requests === 0));
    return {
      windows: [...windows.map((w) => w.summary(offsetMs)), this.total.summary(offsetMs)],
      seconds: this.seconds,
      secondsPerEntry: this.secondsPerEntry,
    };
  }

  private recordSecond(outcome: OutcomeClass, ok: boolean, latencyMs: number | undefined, completedMs: number): void {
    const t = Math.floor(completedMs / 1000);
    if (this.current && this.current.t !== t) this.flushSecond();
    this.current ??= { t, histogram: createHistogram(), requests: 0, ok: 0, errorClasses: {} };
    this.current.requests += 1;
    if (ok) this.current.ok += 1;
    else this.current.errorClasses[outcome] = (this.current.errorClasses[outcome] ?? 0) + 1;
    if (latencyMs !== undefined) this.current.histogram.record(toMicros(latencyMs));
  }

  private flushSecond(): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    // Seconds without any answer are entries too: a chart must show the outage, not skip it.
    const nextT = (this.seconds.at(-1)?.t ?? current.t - 1) + this.secondsPerEntry;
    for (let t = nextT; t < current.t; t += 1) this.pushSecond(this.told({ t, requests: 0, ok: 0, errors: 0, p50: null, p99: null, max: null }));
    const summary = summarizeHistogram(current.histogram);
    const entry: WorkloadSecond = {
      t: current.t,
      requests: current.requests,
      ok: current.ok,
      errors: current.requests - current.ok,
      ...(current.requests > current.ok ? { errorClasses: current.errorClasses } : {}),
      p50: summary?.p50 ?? null,
      p99: summary?.p99 ?? null,
      max: summary?.max ?? null,
    };
    this.pushSecond(this.told(entry));
  }

  /** Tells the listener of a second before it may be merged into the series; the listener gets a copy. */
  private told(second: WorkloadSecond): WorkloadSecond {
    this.secondListener?.({ ...second });
    return second;
  }

  private pushSecond(entry: WorkloadSecond): void {
    const last = this.seconds.at(-1);
    if (last && this.secondsPerEntry > 1 && entry.t < last.t + this.secondsPerEntry) {
      // Same merged entry: counts add up; percentiles of merged seconds keep the worse one.
      last.requests += entry.requests;
      last.ok += entry.ok;
      last.errors += entry.errors;
      mergeErrorClasses(last, entry);
      last.p50 = maxOrNull(last.p50, entry.p50);
      last.p99 = maxOrNull(last.p99, entry.p99);
      last.max = maxOrNull(last.max, entry.max);
      return;
    }
    this.seconds.push(entry);
    if (this.seconds.length > MAX_SECOND_ENTRIES) this.halveSeries();
  }

  /** Merges neighbours pairwise, so a long run keeps a bounded series at a coarser step. */
  private halveSeries(): void {
    const merged: WorkloadSecond[] = [];
    for (let i = 0; i < this.seconds.length; i += 2) {
      const a = this.seconds[i]!;
      const b = this.seconds[i + 1];
      if (b) {
        const entry: WorkloadSecond = { t: a.t, requests: a.requests + b.requests, ok: a.ok + b.ok, errors: a.errors + b.errors, p50: maxOrNull(a.p50, b.p50), p99: maxOrNull(a.p99, b.p99), max: maxOrNull(a.max, b.max) };
        mergeErrorClasses(entry, a);
        mergeErrorClasses(entry, b);
        merged.push(entry);
      } else {
        merged.push(a);
      }
    }
    this.seconds.splice(0, this.seconds.length, ...merged);
    this.secondsPerEntry *= 2;
  }
}

/** Adds `from`'s failed requests by class into `into`'s. */
function mergeErrorClasses(into: WorkloadSecond, from: WorkloadSecond): void {
  if (!from.errorClasses) return;
  const classes = { ...into.errorClasses };
  for (const [outcome, count] of Object.entries(from.errorClasses) as [OutcomeClass, number][]) classes[outcome] = (classes[outcome] ?? 0) + count;
  into.errorClasses = classes;
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
