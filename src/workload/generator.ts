// Drives HTTP traffic at the target while faults are live: an open model (a constant arrival rate;
// latency counts from when a request was due, so a stalled server cannot hide behind fewer requests:
// no coordinated omission) or a closed model (N users, each sending its next request when the last
// one ended). Requests go through an undici Pool: keep-alive connections and a fast HTTP/1.1 parser,
// driven through its low-level dispatch handlers rather than request(): no stream and no
// AbortController per request, which is what keeps the generator near autocannon's throughput.
import { Pool, type Dispatcher } from 'undici';

type DispatchController = Dispatcher.DispatchController;
import { OutcomeRecorder, type WindowAccumulator } from './recorder.js';
import type { OutcomeClass, WorkloadRecord, WorkloadWindow } from './types.js';

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

/** A request in flight, in dispatch order: deadlines are dispatch time plus one timeout, so the queue's head expires first. */
interface InFlight {
  deadline: number;
  dueMs: number;
  windows: readonly WindowAccumulator[];
  status: number;
  /** undici's handle on the request once it is on a connection; null while queued in the pool. */
  controller: DispatchController | null;
  settled: boolean;
  done: (() => void) | undefined;
}

const TIMEOUT_SWEEP_MS = 10;
/** Open model: the scheduler never sleeps less than this, and sends every request due in one go. */
const MIN_TICK_MS = 1;

class TimedOut extends Error {}
/** The run is being stopped: the answer will never be judged, so it is not recorded. */
class Abandoned extends Error {}

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
  ) {
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
    const connections = options.rate !== undefined ? options.maxInFlight : (options.concurrency ?? 1);
    this.pool = new Pool(url.origin, { connections, pipelining: 1, connect: { timeout: options.timeoutMs } });
    this.started = this.now();
    this.recorder = new OutcomeRecorder(0);
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
    let sent = 0;
    while (!this.stopped) {
      const now = this.elapsed();
      // Everything due by now goes out at once, each timed from its own due moment.
      while (sent * interval <= now) {
        const due = sent * interval;
        sent += 1;
        const windows = this.recorder.openWindows();
        if (this.active >= this.options.maxInFlight) {
          this.recorder.record(windows, 'dropped', false, undefined, now);
          continue;
        }
        this.send(due, windows, undefined);
      }
      const wait = Math.max(MIN_TICK_MS, sent * interval - this.elapsed());
      await this.sleep(wait);
    }
  }

  private async runClosed(users: number): Promise<void> {
    const user = async () => {
      while (!this.stopped) await new Promise<void>((done) => this.send(this.elapsed(), this.recorder.openWindows(), done));
    };
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

  /** One request, timed from `dueMs`; every ending, the timeout included, becomes one outcome. */
  private send(dueMs: number, windows: readonly WindowAccumulator[], done: (() => void) | undefined): void {
    const entry: InFlight = { deadline: this.elapsed() + this.options.timeoutMs, dueMs, windows, status: 0, controller: null, settled: false, done };
    this.inFlight.push(entry);
    this.active += 1;
    this.pool.dispatch(
      { path: this.path, method: this.options.method as Dispatcher.HttpMethod, headers: this.options.headers, body: this.options.body ?? null },
      {
        onRequestStart: (controller) => {
          if (entry.settled) controller.abort(new Abandoned());
          else entry.controller = controller;
        },
        onResponseStart: (_controller, statusCode) => {
          entry.status = statusCode;
        },
        onResponseData: () => {},
        onResponseEnd: () => this.settle(entry, classifyStatus(entry.status), this.options.isSuccess(entry.status)),
        onResponseError: () => this.settle(entry, 'connection-error', false),
      },
    );
  }

  private settle(entry: InFlight, outcome: OutcomeClass, ok: boolean, record = true): void {
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
