// One worker's share of a split workload, whatever carries its orders: the run over IPC (worker.ts)
// or a spec file, for a worker started on its own (worker-standalone.ts, e.g. an indexed Job's pod).
// It drives the traffic on the clock it is given, records into mergeable histograms, logs each
// window's stretches without a success, and hands out complete seconds and, at the end, its windows.
import { successRule, Workload } from './generator.js';
import { MergeableHistogram } from './mergeable-histogram.js';
import { secondState, windowState } from './merge.js';
import type { FromWorker, SecondState, ToWorker, WorkerWorkloadOptions } from './worker-protocol.js';

export class WorkerSession {
  private readonly workload: Workload;
  private readonly finished: SecondState[] = [];
  private windowLagMs = 0;

  /** `origin`: the run's zero on process.hrtime (CLOCK_MONOTONIC), from which every time here is measured. */
  constructor(
    private readonly origin: bigint,
    options: WorkerWorkloadOptions,
    phaseMs: number,
  ) {
    const { success, ...rest } = options;
    this.workload = new Workload({ ...rest, isSuccess: successRule(success) }, () => this.elapsed(), {
      startedAt: 0,
      phaseMs,
      recorder: { newHistogram: () => new MergeableHistogram(), logGaps: true, onRawSecond: (second) => this.finished.push(secondState(second)) },
    });
  }

  elapsed(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1e6;
  }

  start(): void {
    this.workload.start();
  }

  /** A fault window's start or end, at its instant on the run's clock (in the past by the time it arrives). */
  windowEvent(event: Extract<ToWorker, { type: 'fault-applied' | 'fault-ended' }>): void {
    this.windowLagMs = Math.max(this.windowLagMs, this.elapsed() - event.atMs);
    if (event.type === 'fault-applied') this.workload.recorder.faultApplied(event.key, event.name, event.atMs);
    else this.workload.recorder.faultEnded(event.key, event.atMs);
    this.workload.reassignSince(event.atMs);
  }

  /** The seconds completed since the last call, and the last second up to which all are in. */
  completeSeconds(): Extract<FromWorker, { type: 'seconds' }> {
    const now = this.elapsed();
    this.workload.recorder.tick(now);
    return { type: 'seconds', seconds: this.finished.splice(0), through: Math.floor(now / 1000) - 1 };
  }

  stop(abandon: boolean): Promise<void> {
    return this.workload.stop(abandon);
  }

  /** Closes every window at `endMs`: the windows and the seconds not yet handed out. */
  finish(endMs: number): Extract<FromWorker, { type: 'result' }> {
    const windows = this.workload.recorder.close(endMs);
    return { type: 'result', windows: windows.map(windowState), seconds: this.finished.splice(0), windowLagMs: this.windowLagMs };
  }
}
