// The messages between a run and the worker processes of a split workload (replicated.ts ↔ worker.ts),
// over Node's IPC channel as JSON. Histograms travel in HdrHistogram's compressed encoding, times as
// ms since the run's origin: a CLOCK_MONOTONIC instant (process.hrtime) the run hands every worker.
import type { WorkloadSpec } from './schema.js';
import type { WorkloadOptions } from './generator.js';
import type { OutcomeClass, WorkloadWindow } from './types.js';

/** What a worker needs to drive its share; the success rule travels as the experiment wrote it. */
export type WorkerWorkloadOptions = Omit<WorkloadOptions, 'isSuccess'> & { success: WorkloadSpec['success'] };

/** One window of one worker, closed, with what merging needs: the histogram and the no-success stretches. */
export type WindowState = Pick<WorkloadWindow, 'name' | 'kind' | 'fault' | 'startMs' | 'endMs' | 'requests' | 'ok' | 'outcomes' | 'longestGapMs'> & {
  /** HdrHistogram compressed V2, base64. */
  histogram: string;
  /** [from, to, from, to, …]: every stretch without a success of at least gapFloorMs, on the run's clock. */
  gaps: number[];
  gapFloorMs: number;
};

export interface SecondState {
  t: number;
  requests: number;
  ok: number;
  errorClasses: Partial<Record<OutcomeClass, number>>;
  histogram: string;
}

export type ToWorker =
  | { type: 'ping'; id: number }
  | { type: 'start'; options: WorkerWorkloadOptions; originNs: string; phaseMs: number }
  | { type: 'fault-applied'; key: string; name: string; atMs: number }
  | { type: 'fault-ended'; key: string; atMs: number }
  | { type: 'stop'; abandon: boolean }
  | { type: 'finish'; endMs: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'pong'; id: number; nowNs: string }
  /** Every second up to `through` is complete: seconds after it may still get answers. */
  | { type: 'seconds'; seconds: SecondState[]; through: number }
  | { type: 'stopped' }
  /** `windowLagMs`: the longest a window event took to reach the worker after its instant. */
  | { type: 'result'; windows: WindowState[]; seconds: SecondState[]; windowLagMs: number }
  | { type: 'failed'; message: string };
