// A workload split over `workload.replicas` worker processes (worker.ts, forked from this module's
// folder): each drives 1/N of the traffic (split.ts) on the run's clock, and this side merges their
// seconds as they come (for live progress and abort conditions) and their windows at the end
// (merge.ts), into the record one in-process workload writes.
//
// Processes rather than worker_threads: a worker that runs out of memory or crashes takes only itself
// down, and the run, its guardian and its undo go on to report it; a Ctrl-C reaches the workers too
// and they leave stopping to the run; and the same entry is what a pod of an indexed Job would run.
//
// One clock: the run hands every worker an origin on CLOCK_MONOTONIC (process.hrtime, shared by every
// process on a host) and each measures from it; pings before the start measure what skew remains.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FaultlineError } from '../core/errors.js';
import { mergeWindows, SecondsMerger } from './merge.js';
import { SecondSeries } from './recorder.js';
import { workerShares, type WorkerShare } from './split.js';
import type { RunningWorkload, WorkloadRecord, WorkloadSecond, WorkloadWindow, WorkloadWorker } from './types.js';
import type { FromWorker, ToWorker, WorkerWorkloadOptions } from './worker-protocol.js';

/** A worker has this long to load and say it is ready (a busy machine, a cold disk). */
const READY_TIMEOUT_MS = 30_000;
/** Pings per worker before the start, to measure its clock against the run's. */
const CLOCK_PINGS = 5;
/** Beyond the request timeout (its answers in flight are waited for), what a worker gets to stop or to report. */
const STOP_GRACE_MS = 5_000;
const EXIT_GRACE_MS = 2_000;
/**
 * A worker reports its seconds every 200 ms: one silent this long is stuck (its event loop blocked,
 * its process stopped), and since merged seconds wait for every worker, live progress and abort
 * conditions on the workload would wait with it. It is lost, like a worker that died.
 */
const SILENCE_LIMIT_MS = 5_000;

type Message<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

/** The worker entry: built beside this module, or from sources through tsx (tests, benchmarks). */
function workerEntry(): { script: string; execArgv: string[]; cwd?: string } {
  const built = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(built)) return { script: built, execArgv: [] };
  // tsx resolves from the project's root, where it is installed.
  return { script: fileURLToPath(new URL('./worker.ts', import.meta.url)), execArgv: ['--import', 'tsx'], cwd: fileURLToPath(new URL('../..', import.meta.url)) };
}

/** One forked worker: its messages, awaited by type, and how it ended. */
class WorkerProcess {
  readonly child: ChildProcess;
  result: Message<'result'> | undefined;
  lost: string | undefined;
  /** When it last said anything, on performance.now(). */
  lastHeard = performance.now();
  clock = { skewMs: 0, rttMs: 0 };
  private readonly waiting = new Map<string, { resolve: (message: FromWorker) => void; reject: (error: Error) => void }>();
  private stderrTail = '';

  constructor(
    readonly share: WorkerShare,
    onMessage: (worker: WorkerProcess, message: FromWorker) => void,
    onExit: (worker: WorkerProcess, reason: string) => void,
  ) {
    const entry = workerEntry();
    this.child = fork(entry.script, [], {
      execArgv: entry.execArgv,
      ...(entry.cwd ? { cwd: entry.cwd } : {}),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => (this.stderrTail = (this.stderrTail + chunk).slice(-2000)));
    this.child.on('message', (message: FromWorker) => {
      this.lastHeard = performance.now();
      if (message.type === 'failed') this.lost ??= `failed: ${message.message.split('\n')[0]}`;
      if (message.type === 'result') this.result = message;
      const waiter = this.waiting.get(message.type);
      this.waiting.delete(message.type);
      waiter?.resolve(message);
      onMessage(this, message);
    });
    this.child.on('error', (error) => (this.lost ??= `could not run: ${error.message}`));
    this.child.on('exit', (code, signal) => {
      // Node ends a crash report with its version: the error's own line says more.
      const lines = this.stderrTail.trim().split('\n').filter(Boolean);
      const said = lines.find((line) => /\b\w*Error\b/.test(line)) ?? lines.at(-1);
      const reason = this.lost ?? `exited (${signal ?? `code ${code}`})${said ? `: ${said.trim()}` : ''}`;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(reason));
      this.waiting.clear();
      if (!this.result) onExit(this, reason);
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(message: ToWorker): void {
    if (this.running && this.child.connected) this.child.send(message, (error) => (error ? (this.lost ??= `unreachable: ${error.message}`) : undefined));
  }

  /** The worker's next message of `type`; rejects when it exits first or after `timeoutMs`. */
  next<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<Message<T>> {
    if (!this.running) return Promise.reject(new Error(this.lost ?? 'exited'));
    return new Promise<Message<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(type);
        reject(new Error(`no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(type, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message as Message<T>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Ends it by its pid, when it does not stop or report in time. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  exited(timeoutMs: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export interface ReplicatedWorkloadOptions {
  workload: WorkerWorkloadOptions;
  replicas: number;
  /** Told once per worker that dies or stops answering before it reported: its traffic is missing. */
  onWorkerLost?: (error: FaultlineError) => void;
}

export class ReplicatedWorkload implements RunningWorkload {
  private readonly series = new SecondSeries();
  private readonly merger: SecondsMerger;
  private readonly workers: WorkerProcess[];
  private origin = 0n;
  /** Workers already reported lost, each told once; none are told before the traffic started (start() throws instead). */
  private readonly toldLost = new Set<WorkerProcess>();
  private started = false;
  private endMs: number | undefined;
  private stopping: Promise<void> | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  readonly recorder = {
    faultApplied: (key: string, name: string, atMs: number) => this.broadcast({ type: 'fault-applied', key, name, atMs }),
    faultEnded: (key: string, atMs: number) => this.broadcast({ type: 'fault-ended', key, atMs }),
    trailing: (ms: number) => this.series.trailing(ms),
    watchSeconds: (listener: (second: WorkloadSecond) => void) => this.series.watch(listener),
  };

  private constructor(private readonly options: ReplicatedWorkloadOptions) {
    this.merger = new SecondsMerger(options.replicas, (second) => this.series.add(second));
    this.workers = workerShares(options.workload, options.replicas).map(
      (share) =>
        new WorkerProcess(
          share,
          (worker, message) => {
            if (message.type === 'seconds') this.merger.add(worker.share.index, message.seconds, message.through);
          },
          (worker, reason) => this.lose(worker, reason),
        ),
    );
  }

  /**
   * Forks the workers, measures their clocks and starts the traffic; throws (workers ended) when one
   * cannot start, or with `signal`'s reason when the run is interrupted while they load.
   */
  static async start(options: ReplicatedWorkloadOptions, signal?: AbortSignal): Promise<ReplicatedWorkload> {
    const workload = new ReplicatedWorkload(options);
    let onAbort: (() => void) | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal?.reason);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    // Only raced below: an interrupt after the start is the run's to handle, not a rejection left unhandled.
    interrupted.catch(() => undefined);
    try {
      await Promise.race([interrupted, Promise.all(workload.workers.map((worker) => worker.next('ready', READY_TIMEOUT_MS)))]);
      await Promise.race([interrupted, Promise.all(workload.workers.map((worker) => workload.measureClock(worker)))]);
    } catch (error) {
      for (const worker of workload.workers) worker.kill();
      if (signal?.aborted) throw signal.reason;
      throw new FaultlineError('E_WORKLOAD', `the workload's ${options.replicas} worker processes did not start: ${error instanceof Error ? error.message : String(error)}`, {
        hint: 'Run `faultline run` from an installed or built faultline (npm run build), or set workload.replicas to 1.',
        cause: error,
      });
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    workload.origin = process.hrtime.bigint();
    workload.started = true;
    let lastTick = performance.now();
    workload.watchdog = setInterval(() => {
      // A tick far behind means this process was the one stalled: the workers' messages are still unread.
      const late = performance.now() - lastTick > 2_500;
      lastTick = performance.now();
      // After the poll phase, so messages that arrived meanwhile are read before anyone is judged silent.
      if (!late) setImmediate(() => workload.loseSilentWorkers());
    }, 1000);
    // The run's process is not kept alive by it; stop() clears it.
    workload.watchdog.unref();
    for (const worker of workload.workers) {
      const { share } = worker;
      worker.send({
        type: 'start',
        options: { ...options.workload, rate: share.rate, concurrency: share.concurrency, maxInFlight: share.maxInFlight },
        originNs: workload.origin.toString(),
        phaseMs: share.phaseMs,
      });
    }
    return workload;
  }

  elapsed(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1e6;
  }

  /** Stops every worker (bounded: answers in flight, then a kill) and collects their windows; safe to call twice. */
  stop(abandon = false): Promise<void> {
    this.stopping ??= this.stopWorkers(abandon);
    return this.stopping;
  }

  result(offsetMs: number): { workload: WorkloadRecord; windows: WorkloadWindow[] } {
    const endMs = this.endMs ?? this.elapsed();
    const reported = this.workers.filter((w) => w.result && !w.lost);
    const windows = reported.length > 0 ? mergeWindows(reported.map((w) => w.result!.windows), offsetMs) : [];
    const { workload: spec } = this.options;
    const workers: WorkloadWorker[] = this.workers.map((w) => ({
      index: w.share.index,
      pid: w.child.pid,
      ...(w.share.rate !== undefined ? { rate: w.share.rate } : {}),
      ...(w.share.concurrency !== undefined ? { concurrency: w.share.concurrency } : {}),
      maxInFlight: w.share.maxInFlight,
      requests: w.lost ? 0 : (w.result?.windows.at(-1)?.requests ?? 0),
      clockSkewMs: round3(w.clock.skewMs),
      clockRttMs: round3(w.clock.rttMs),
      ...(w.result ? { windowLagMs: round3(w.result.windowLagMs) } : {}),
      ...(w.lost ? { lost: w.lost } : {}),
    }));
    return {
      workload: {
        model: spec.rate !== undefined ? 'open' : 'closed',
        method: spec.method,
        url: spec.url,
        ...(spec.rate !== undefined ? { rate: spec.rate } : { concurrency: spec.concurrency ?? 1 }),
        timeoutMs: spec.timeoutMs,
        startMs: Math.round(offsetMs),
        endMs: Math.round(endMs + offsetMs),
        seconds: this.series.entries,
        secondsPerEntry: this.series.secondsPerEntry,
        workers,
      },
      windows,
    };
  }

  private broadcast(message: ToWorker): void {
    for (const worker of this.workers) worker.send(message);
  }

  /** NTP's midpoint on the ping with the shortest round trip: the worker's clock minus the run's. */
  private async measureClock(worker: WorkerProcess): Promise<void> {
    let best: { skewMs: number; rttMs: number } | undefined;
    for (let id = 0; id < CLOCK_PINGS; id += 1) {
      const sent = process.hrtime.bigint();
      const pong = worker.next('pong', READY_TIMEOUT_MS);
      worker.send({ type: 'ping', id });
      const { nowNs } = await pong;
      const received = process.hrtime.bigint();
      const rttMs = Number(received - sent) / 1e6;
      const skewMs = Number(BigInt(nowNs) - (sent + received) / 2n) / 1e6;
      if (!best || rttMs < best.rttMs) best = { skewMs, rttMs };
    }
    worker.clock = best!;
  }

  private lose(worker: WorkerProcess, reason: string): void {
    worker.lost ??= reason;
    this.merger.done(worker.share.index);
    if (!this.started || this.toldLost.has(worker)) return;
    this.toldLost.add(worker);
    const share = worker.share.rate !== undefined ? `${worker.share.rate} req/s` : `${worker.share.concurrency} users`;
    this.options.onWorkerLost?.(
      new FaultlineError('E_WORKLOAD', `workload worker ${worker.share.index + 1} of ${this.workers.length} (pid ${worker.child.pid}) ${reason}: its share of the traffic (${share}) is missing from the record`, {
        hint: 'A worker process died or stopped answering (out of memory? killed?); the journal lists each worker under workload.workers.',
      }),
    );
  }

  private loseSilentWorkers(): void {
    if (this.stopping) return;
    const now = performance.now();
    for (const worker of this.workers) {
      if (worker.lost || !worker.running || now - worker.lastHeard < SILENCE_LIMIT_MS) continue;
      this.lose(worker, `stopped reporting (silent for ${((now - worker.lastHeard) / 1000).toFixed(1)} s)`);
      worker.kill();
    }
  }

  private async stopWorkers(abandon: boolean): Promise<void> {
    clearInterval(this.watchdog);
    const live = () => this.workers.filter((w) => !w.lost && w.running);
    const bounded = async (worker: WorkerProcess, step: Promise<unknown>) => {
      try {
        await step;
      } catch (error) {
        if (!worker.result) this.lose(worker, error instanceof Error ? error.message : String(error));
        worker.kill();
      }
    };
    // A worker waits for its answers in flight (each bounded by the request timeout) unless abandoning.
    const stopWithin = (abandon ? 0 : this.options.workload.timeoutMs) + STOP_GRACE_MS;
    await Promise.all(
      live().map((worker) => {
        const stopped = worker.next('stopped', stopWithin);
        worker.send({ type: 'stop', abandon });
        return bounded(worker, stopped);
      }),
    );
    this.endMs = this.elapsed();
    await Promise.all(
      live().map((worker) => {
        const result = worker.next('result', STOP_GRACE_MS);
        worker.send({ type: 'finish', endMs: this.endMs! });
        return bounded(worker, result);
      }),
    );
    for (const worker of this.workers) {
      if (worker.result && !worker.lost) this.merger.add(worker.share.index, worker.result.seconds, Number.POSITIVE_INFINITY);
    }
    for (const worker of this.workers) this.merger.done(worker.share.index);
    await Promise.all(
      this.workers.map(async (worker) => {
        await worker.exited(EXIT_GRACE_MS);
        worker.kill();
      }),
    );
  }
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;
