// Drives HTTP traffic at the target while faults are live: an open model (a constant arrival rate;
// latency counts from when a request was due, so a stalled server cannot hide behind fewer requests:
// no coordinated omission) or a closed model (N users, each sending its next request when the last
// one ended). Requests go through an undici Pool: keep-alive connections and a fast HTTP/1.1 parser.
import { Pool } from 'undici';
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
  controller: AbortController;
  settled: boolean;
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
  private readonly pending = new Set<Promise<void>>();
  private active = 0;
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
    if (abandon) for (const entry of this.inFlight) if (!entry.settled) entry.controller.abort(new Abandoned());
    await Promise.allSettled([...this.pending]);
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
        this.track(this.send(due, windows));
      }
      const wait = Math.max(MIN_TICK_MS, sent * interval - this.elapsed());
      await this.sleep(wait);
    }
  }

  private async runClosed(users: number): Promise<void> {
    const user = async () => {
      while (!this.stopped) await this.send(this.elapsed(), this.recorder.openWindows());
    };
    await Promise.all(Array.from({ length: users }, user));
  }

  private track(request: Promise<void>): void {
    this.pending.add(request);
    void request.finally(() => this.pending.delete(request));
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

  /** One request, timed from `dueMs`; never rejects: every ending is an outcome. */
  private async send(dueMs: number, windows: WindowAccumulator[]): Promise<void> {
    const entry: InFlight = { deadline: this.elapsed() + this.options.timeoutMs, controller: new AbortController(), settled: false };
    this.inFlight.push(entry);
    this.active += 1;
    let outcome: OutcomeClass;
    let ok = false;
    try {
      const response = await this.pool.request({
        path: this.path,
        method: this.options.method as 'GET',
        headers: this.options.headers,
        body: this.options.body ?? null,
        signal: entry.controller.signal,
      });
      await response.body.dump({ limit: Number.MAX_SAFE_INTEGER, signal: entry.controller.signal });
      outcome = classifyStatus(response.statusCode);
      ok = this.options.isSuccess(response.statusCode);
    } catch {
      outcome = entry.controller.signal.reason instanceof TimedOut ? 'timeout' : 'connection-error';
    }
    entry.settled = true;
    this.active -= 1;
    if (entry.controller.signal.reason instanceof Abandoned) return;
    const completed = this.elapsed();
    this.recorder.record(windows, outcome, ok, completed - dueMs, completed);
  }

  private expireOverdue(): void {
    const now = this.elapsed();
    while (this.inFlight.length > 0) {
      const head = this.inFlight[0]!;
      if (!head.settled && head.deadline > now) break;
      this.inFlight.shift();
      if (!head.settled) head.controller.abort(new TimedOut());
    }
  }
}
