// Aggregates request outcomes into windows (baseline, each fault, recovery, total) and per-second
// entries, each an HDR histogram plus counters, so memory does not grow with the number of requests.
// Node's built-in perf_hooks histogram is an HDR histogram (the same algorithm as HdrHistogram);
// it needs no dependency and is what autocannon's peers measure with.
// Workers of a split workload record into mergeable histograms instead (mergeable-histogram.ts) and
// hand their windows and seconds, histograms included, to the run that merges them (replicated.ts).
import { createHistogram } from 'node:perf_hooks';
import { OUTCOME_CLASSES, type LatencySummary, type OutcomeClass, type WindowKind, type WorkloadSecond, type WorkloadWindow } from './types.js';

/** The per-second series keeps at most this many entries: beyond it, neighbours are merged pairwise. */
export const MAX_SECOND_ENTRIES = 3600;

const zeroOutcomes = (): Record<OutcomeClass, number> => Object.fromEntries(OUTCOME_CLASSES.map((c) => [c, 0])) as Record<OutcomeClass, number>;

const round2 = (value: number) => Math.round(value * 100) / 100;

/** Latency is recorded in microseconds (integers ≥ 1, as the histogram needs) and reported in ms. */
function toMicros(ms: number): number {
  return Math.max(1, Math.round(ms * 1000));
}

/** What the recorder needs of a histogram of latencies in µs: perf_hooks' and MergeableHistogram both fit. */
export interface LatencyHistogram {
  record(micros: number): void;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  percentile(percentile: number): number;
}

export type HistogramFactory = () => LatencyHistogram;

const perfHooksHistogram: HistogramFactory = () => createHistogram();

/** A no-success stretch is logged for merging only from this length on; doubled whenever the log is full. */
const GAP_LOG_FLOOR_MS = 1;
/** Intervals kept per window: 2 numbers each. */
const GAP_LOG_LIMIT = 8192;

/**
 * Stretches without a successful answer in one window, as [from, to] pairs, for merging the longest
 * gap of several workers: the merged traffic had no success exactly where every worker had none.
 * Only stretches of at least `floorMs` are kept, so a merged gap is exact from `floorMs` on.
 */
export class GapLog {
  floorMs = GAP_LOG_FLOOR_MS;
  readonly intervals: number[] = [];

  add(from: number, to: number): void {
    if (to - from < this.floorMs) return;
    this.intervals.push(from, to);
    if (this.intervals.length / 2 <= GAP_LOG_LIMIT) return;
    this.floorMs *= 2;
    const kept: number[] = [];
    for (let i = 0; i < this.intervals.length; i += 2) {
      if (this.intervals[i + 1]! - this.intervals[i]! >= this.floorMs) kept.push(this.intervals[i]!, this.intervals[i + 1]!);
    }
    this.intervals.splice(0, this.intervals.length, ...kept);
  }
}

export function summarizeHistogram(histogram: LatencyHistogram): LatencySummary | null {
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
  readonly histogram: LatencyHistogram;
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
    newHistogram: HistogramFactory = perfHooksHistogram,
    /** Kept by a worker of a split workload, whose run merges the longest gap from it. */
    readonly gapLog?: GapLog,
  ) {
    this.histogram = newHistogram();
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
        this.gapLog?.add(this.lastSuccessMs, completedMs);
        this.longestGapMs = Math.max(this.longestGapMs, completedMs - this.lastSuccessMs);
        this.lastSuccessMs = completedMs;
      }
    }
  }

  close(atMs: number): void {
    if (!this.open) return;
    this.endMs = atMs;
    this.gapLog?.add(this.lastSuccessMs, atMs);
    this.longestGapMs = Math.max(this.longestGapMs, atMs - this.lastSuccessMs);
  }

  get longestGap(): number {
    return this.longestGapMs;
  }

  summary(offsetMs: number): WorkloadWindow {
    return summarizeWindow({ ...this, endMs: this.endMs ?? this.startMs, longestGapMs: this.longestGapMs }, offsetMs);
  }
}

/** A window's figures as the journal holds them; from one accumulator or from the workers' merged ones. */
export function summarizeWindow(
  window: { name: string; kind: WindowKind; fault?: string | undefined; startMs: number; endMs: number; requests: number; ok: number; outcomes: Record<OutcomeClass, number>; histogram: LatencyHistogram; longestGapMs: number },
  offsetMs: number,
): WorkloadWindow {
  const seconds = Math.max(window.endMs - window.startMs, 1) / 1000;
  const completed = window.requests - window.outcomes.dropped;
  return {
    name: window.name,
    kind: window.kind,
    ...(window.fault ? { fault: window.fault } : {}),
    startMs: Math.round(window.startMs + offsetMs),
    endMs: Math.round(window.endMs + offsetMs),
    requests: window.requests,
    ok: window.ok,
    errors: window.requests - window.ok,
    outcomes: { ...window.outcomes },
    successRate: window.requests ? window.ok / window.requests : null,
    errorRate: window.requests ? (window.requests - window.ok) / window.requests : null,
    throughput: round2(completed / seconds),
    latency: summarizeHistogram(window.histogram),
    longestGapMs: Math.round(window.longestGapMs),
  };
}

/** One second's raw figures, histogram included: what a worker hands to the run that merges the seconds. */
export interface RawSecond {
  t: number;
  requests: number;
  ok: number;
  errorClasses: Partial<Record<OutcomeClass, number>>;
  histogram: LatencyHistogram;
}

/** The per-second series: one entry per second (empty ones too), merged pairwise beyond MAX_SECOND_ENTRIES. */
export class SecondSeries {
  readonly entries: WorkloadSecond[] = [];
  secondsPerEntry = 1;
  /** Told of each second as it completes, for live progress; merged entries are not told again. */
  private listener: ((second: WorkloadSecond) => void) | undefined;

  watch(listener: (second: WorkloadSecond) => void): void {
    this.listener = listener;
  }

  /** Adds a complete second, after empty entries for the seconds without any answer before it. */
  add(raw: RawSecond): void {
    // Seconds without any answer are entries too: a chart must show the outage, not skip it.
    const nextT = (this.entries.at(-1)?.t ?? raw.t - 1) + this.secondsPerEntry;
    for (let t = nextT; t < raw.t; t += 1) this.push(this.told({ t, requests: 0, ok: 0, errors: 0, p50: null, p99: null, max: null }));
    const summary = summarizeHistogram(raw.histogram);
    this.push(
      this.told({
        t: raw.t,
        requests: raw.requests,
        ok: raw.ok,
        errors: raw.requests - raw.ok,
        ...(raw.requests > raw.ok ? { errorClasses: raw.errorClasses } : {}),
        p50: summary?.p50 ?? null,
        p99: summary?.p99 ?? null,
        max: summary?.max ?? null,
      }),
    );
  }

  /** Figures for the last `ms` of complete seconds, for abort conditions on the workload. */
  trailing(ms: number): { seconds: number; requests: number; ok: number } {
    const wanted = Math.max(1, Math.round(ms / 1000 / this.secondsPerEntry));
    const last = this.entries.slice(-wanted);
    return {
      seconds: last.length * this.secondsPerEntry,
      requests: last.reduce((sum, s) => sum + s.requests, 0),
      ok: last.reduce((sum, s) => sum + s.ok, 0),
    };
  }

  /** Tells the listener of a second before it may be merged into the series; the listener gets a copy. */
  private told(second: WorkloadSecond): WorkloadSecond {
    this.listener?.({ ...second });
    return second;
  }

  private push(entry: WorkloadSecond): void {
    const last = this.entries.at(-1);
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
    this.entries.push(entry);
    if (this.entries.length > MAX_SECOND_ENTRIES) this.halve();
  }

  /** Merges neighbours pairwise, so a long run keeps a bounded series at a coarser step. */
  private halve(): void {
    const merged: WorkloadSecond[] = [];
    for (let i = 0; i < this.entries.length; i += 2) {
      const a = this.entries[i]!;
      const b = this.entries[i + 1];
      if (b) {
        const entry: WorkloadSecond = { t: a.t, requests: a.requests + b.requests, ok: a.ok + b.ok, errors: a.errors + b.errors, p50: maxOrNull(a.p50, b.p50), p99: maxOrNull(a.p99, b.p99), max: maxOrNull(a.max, b.max) };
        mergeErrorClasses(entry, a);
        mergeErrorClasses(entry, b);
        merged.push(entry);
      } else {
        merged.push(a);
      }
    }
    this.entries.splice(0, this.entries.length, ...merged);
    this.secondsPerEntry *= 2;
  }
}

export interface RecorderOptions {
  /** Histograms to record into; perf_hooks' by default. */
  newHistogram?: HistogramFactory;
  /** Log each window's no-success stretches (GapLog), for a run that merges several recorders. */
  logGaps?: boolean;
  /** Also given each complete second raw, histogram included, for a run that merges several recorders. */
  onRawSecond?: (second: RawSecond) => void;
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
  private readonly series = new SecondSeries();
  private readonly newHistogram: HistogramFactory;
  private current: RawSecond | undefined;
  /** openWindows() is asked once per request: the answer is kept until a window opens or closes. */
  private openCache: WindowAccumulator[] | undefined;

  constructor(
    startMs = 0,
    private readonly options: RecorderOptions = {},
  ) {
    this.newHistogram = options.newHistogram ?? perfHooksHistogram;
    this.total = this.window('total', 'total', startMs);
    this.baseline = this.window('baseline', 'baseline', startMs);
    this.windows.push(this.baseline);
  }

  /** Calls `listener` with each second once it is over (seconds without any answer too, once answers resume). */
  watchSeconds(listener: (second: WorkloadSecond) => void): void {
    this.series.watch(listener);
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
    const window = this.window(`fault ${name}`, 'fault', atMs, key);
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
      this.recovery = this.window('recovery', 'recovery', atMs);
      this.windows.push(this.recovery);
    }
  }

  /** Figures for the last `ms` of complete seconds, for abort conditions on the workload. */
  trailing(ms: number): { seconds: number; requests: number; ok: number } {
    return this.series.trailing(ms);
  }

  /** Completes the current second once the clock (`nowMs`) is past it, for a worker reporting seconds as they end. */
  tick(nowMs: number): void {
    if (this.current && this.current.t < Math.floor(nowMs / 1000)) this.flushSecond();
  }

  /** Closes every window at `endMs` and returns the accumulators, the total last; finish() summarizes them. */
  close(endMs: number): WindowAccumulator[] {
    this.openCache = undefined;
    this.flushSecond();
    for (const window of this.liveFaults.values()) window.close(endMs);
    this.liveFaults.clear();
    this.baseline?.close(endMs);
    this.recovery?.close(endMs);
    this.total.close(endMs);
    const windows = this.windows.filter((w) => !(w.kind === 'baseline' && w.endMs === w.startMs && w.requests === 0));
    return [...windows, this.total];
  }

  /** Closes every window at `endMs` and returns the summaries, with offsets shifted by `offsetMs`. */
  finish(endMs: number, offsetMs: number): { windows: WorkloadWindow[]; seconds: WorkloadSecond[]; secondsPerEntry: number } {
    const windows = this.close(endMs);
    return {
      windows: windows.map((w) => w.summary(offsetMs)),
      seconds: this.series.entries,
      secondsPerEntry: this.series.secondsPerEntry,
    };
  }

  private window(name: string, kind: WindowKind, startMs: number, fault?: string): WindowAccumulator {
    return new WindowAccumulator(name, kind, startMs, fault, this.newHistogram, this.options.logGaps ? new GapLog() : undefined);
  }

  private recordSecond(outcome: OutcomeClass, ok: boolean, latencyMs: number | undefined, completedMs: number): void {
    const t = Math.floor(completedMs / 1000);
    if (this.current && this.current.t !== t) this.flushSecond();
    this.current ??= { t, histogram: this.newHistogram(), requests: 0, ok: 0, errorClasses: {} };
    this.current.requests += 1;
    if (ok) this.current.ok += 1;
    else this.current.errorClasses[outcome] = (this.current.errorClasses[outcome] ?? 0) + 1;
    if (latencyMs !== undefined) this.current.histogram.record(toMicros(latencyMs));
  }

  private flushSecond(): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    this.options.onRawSecond?.(current);
    this.series.add(current);
  }
}

/** Adds `from`'s failed requests by class into `into`'s. */
export function mergeErrorClasses(into: { errorClasses?: Partial<Record<OutcomeClass, number>> }, from: { errorClasses?: Partial<Record<OutcomeClass, number>> }): void {
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
