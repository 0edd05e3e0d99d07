// Drives HTTP traffic at the target while faults are live: an open model (a constant arrival rate;
// latency counts from when a request was due, so a stalled server cannot hide behind fewer requests:
// no coordinated omission) or a closed model (N users, each sending its next request when the last
// one ended). Requests go through an undici Pool: keep-alive connections and a fast HTTP/1.1 parser,
// driven through its low-level dispatch handlers rather than request(): no stream and no
// AbortController per request, which is what keeps the generator near autocannon's throughput.
import { Pool, type Dispatcher } from 'undici';

type DispatchController = Dispatcher.DispatchController;
import { OutcomeRecorder, type RecorderOptions, type WindowAccumulator } from './recorder.js';
import type { WorkloadSpec } from './schema.js';
import type { OutcomeClass, WorkloadRecord, WorkloadWindow } from './types.js';

/** How a worker of a split workload runs its share (worker.ts); the in-process workload needs none of it. */
export interface WorkloadClockOptions {
  /** Where the workload's zero sits on `now`'s clock; default: when it is constructed. */
  startedAt?: number;
  /** Open model: the first request is due this long after zero, so the workers' requests interleave. */
  phaseMs?: number;
  recorder?: RecorderOptions;
}

export interface WorkloadOptions {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
  /** Open model: requests started per second. */
  rate?: number | undefined;
  /** Open model: requests in flight at most; a request due when all slots are taken is `dropped`. */
  maxInFlight: number;
  /** Closed model: concurrent users. */
  concurrency?: number | undefined;
  /** Statuses counted as success; default 200–399. */
  isSuccess: (status: number) => boolean;
}

/**
 * A request in flight, and undici's handler for it: one object per request, no closures. Kept in
 * dispatch order; deadlines are dispatch time plus one timeout, so the queue's head expires first.
 */
class InFlight implements Dispatcher.DispatchHandler {
  status = 0;
  /** undici's handle on the request once it is on a connection; null while queued in the pool. */
  controller: DispatchController | null = null;
  settled = false;

  constructor(
    private readonly workload: Workload,
    readonly deadline: number,
    readonly dueMs: number,
    /** Taken when it was due; moved by reassignSince() when a window event arrives late. */
    public windows: readonly WindowAccumulator[],
    readonly done: (() => void) | undefined,
  ) {}

  onRequestStart(controller: DispatchController): void {
    if (this.settled) controller.abort(new Abandoned());
    else this.controller = controller;
  }

  onResponseStart(_controller: DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    this.workload.settle(this, classifyStatus(this.status), this.workload.isSuccess(this.status));
  }

  onResponseError(): void {
    this.workload.settle(this, 'connection-error', false);
  }
}

const TIMEOUT_SWEEP_MS = 10;
/** Open model: the scheduler never sleeps less than this, and sends every request due in one go. */
const MIN_TICK_MS = 1;

class TimedOut extends Error {}
/** The run is being stopped: the answer will never be judged, so it is not recorded. */
class Abandoned extends Error {}

/** The experiment's `success` statuses as a test; here rather than beside the schema so a worker process loads no zod. */
export function successRule(rules: WorkloadSpec['success']): (status: number) => boolean {
  if (!rules) return (status) => status >= 200 && status < 400;
  const codes = new Set(rules.filter((r): r is number => typeof r === 'number'));
  const classes = new Set(rules.filter((r): r is string => typeof r === 'string').map((r) => Number(r[0])));
  return (status) => codes.has(status) || classes.has(Math.floor(status / 100));
}

export function classifyStatus(status: number): OutcomeClass {
  if (status < 300) return '2xx';
  if (status < 400) return '3xx';
  if (status < 500) return '4xx';
  return '5xx';
}

export class Workload {
  readonly recorder: OutcomeRecorder;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly started: number;
  private readonly dispatchOptions: Dispatcher.DispatchOptions;
  readonly isSuccess: (status: number) => boolean;
  private readonly inFlight: InFlight[] = [];
  private active = 0;
  private drained: (() => void) | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly options: WorkloadOptions,
    private readonly now: () => number = () => performance.now(),
    private readonly clock: WorkloadClockOptions = {},
  ) {
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
    const connections = options.rate !== undefined ? options.maxInFlight : (options.concurrency ?? 1);
    this.pool = new Pool(url.origin, { connections, pipelining: 1, connect: { timeout: options.timeoutMs } });
    this.dispatchOptions = { path: this.path, method: options.method as Dispatcher.HttpMethod, headers: options.headers, body: options.body ?? null };
    this.isSuccess = options.isSuccess;
    this.started = clock.startedAt ?? this.now();
    this.recorder = new OutcomeRecorder(0, clock.recorder);
  }

  /** Milliseconds since the workload started: the clock windows and seconds are kept on. */
  elapsed(): number {
    return this.now() - this.started;
  }

  start(): void {
    this.sweeper = setInterval(() => this.expireOverdue(), TIMEOUT_SWEEP_MS);
    this.running = this.options.rate !== undefined ? this.runOpen(this.options.rate) : this.runClosed(this.options.concurrency ?? 1);
  }

  /**
   * Stops sending and closes the pool. Answers in flight are waited for (each bounded by the timeout),
   * unless `abandon` is set (an interrupt or an abort): then they are cut off and left out.
   */
  async stop(abandon = false): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    if (abandon) {
      for (const entry of this.inFlight) {
        if (entry.settled) continue;
        this.settle(entry, 'timeout', false, false);
        entry.controller?.abort(new Abandoned());
      }
    }
    if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    clearInterval(this.sweeper);
    await this.pool.close().catch(() => undefined);
  }

  /** The journal's view; call after stop(). `offsetMs` is where the workload's zero sits on the method's clock. */
  result(offsetMs: number): { workload: WorkloadRecord; windows: WorkloadWindow[] } {
    const endMs = this.elapsed();
    const { windows, seconds, secondsPerEntry } = this.recorder.finish(endMs, offsetMs);
    const { options } = this;
    return {
      workload: {
        model: options.rate !== undefined ? 'open' : 'closed',
        method: options.method,
        url: options.url,
        ...(options.rate !== undefined ? { rate: options.rate } : { concurrency: options.concurrency ?? 1 }),
        timeoutMs: options.timeoutMs,
        startMs: Math.round(offsetMs),
        endMs: Math.round(endMs + offsetMs),
        seconds,
        secondsPerEntry,
      },
      windows,
    };
  }

  private async runOpen(rate: number): Promise<void> {
    const interval = 1000 / rate;
    const phase = this.clock.phaseMs ?? 0;
    let sent = 0;
    while (!this.stopped) {
      const now = this.elapsed();
      // Everything due by now goes out at once, each timed from its own due moment.
      while (phase + sent * interval <= now) {
        const due = phase + sent * interval;
        sent += 1;
        const windows = this.recorder.openWindows();
        if (this.active >= this.options.maxInFlight) {
          this.recorder.record(windows, 'dropped', false, undefined, now);
          continue;
        }
        this.send(due, windows, undefined);
      }
      const wait = Math.max(MIN_TICK_MS, phase + sent * interval - this.elapsed());
      await this.sleep(wait);
    }
  }

  private async runClosed(users: number): Promise<void> {
    // Each user chains its next request from the end of the last: no promise per request.
    const user = () =>
      new Promise<void>((resolve) => {
        const next = (): void => {
          if (this.stopped) resolve();
          else this.send(this.elapsed(), this.recorder.openWindows(), () => queueMicrotask(next));
        };
        next();
      });
    await Promise.all(Array.from({ length: users }, user));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /**
   * A window opened or closed at `atMs` but this workload heard of it later (a worker process, told
   * over IPC): the requests due since then that are still unanswered move to the windows open now.
   * Those already answered stay where they were counted; the worker reports how late it heard.
   */
  reassignSince(atMs: number): number {
    let moved = 0;
    // In dispatch order, so the ones due since atMs are at the tail.
    for (let i = this.inFlight.length - 1; i >= 0; i -= 1) {
      const entry = this.inFlight[i]!;
      if (entry.dueMs < atMs) break;
      if (entry.settled) continue;
      entry.windows = this.recorder.openWindows();
      moved += 1;
    }
    return moved;
  }

  /** One request, timed from `dueMs`; every ending, the timeout included, becomes one outcome. */
  private send(dueMs: number, windows: readonly WindowAccumulator[], done: (() => void) | undefined): void {
    const entry = new InFlight(this, this.elapsed() + this.options.timeoutMs, dueMs, windows, done);
    this.inFlight.push(entry);
    this.active += 1;
    this.pool.dispatch(this.dispatchOptions, entry);
  }

  /** Records how a request ended, once; later callbacks for it (after a timeout, say) are ignored. */
  settle(entry: InFlight, outcome: OutcomeClass, ok: boolean, record = true): void {
    if (entry.settled) return;
    entry.settled = true;
    this.active -= 1;
    if (record) {
      const completed = this.elapsed();
      this.recorder.record(entry.windows, outcome, ok, completed - entry.dueMs, completed);
    }
    entry.done?.();
    if (this.active === 0) this.drained?.();
  }

  private expireOverdue(): void {
    const now = this.elapsed();
    while (this.inFlight.length > 0) {
      const head = this.inFlight[0]!;
      if (!head.settled && head.deadline > now) break;
      this.inFlight.shift();
      if (head.settled) continue;
      this.settle(head, 'timeout', false);
      head.controller?.abort(new TimedOut());
    }
  }
}
