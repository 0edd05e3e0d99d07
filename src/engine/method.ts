// The method's scheduler: the workload's baseline, then every step on its timeline (faults applied
// and undone at their offsets, probes, actions, `after` dependencies), the watchers beside them, the
// undo of whatever is still live, and the recovery window. Interrupts, aborts and a failing step stop it.
import { setMaxListeners } from 'node:events';
import type { Experiment } from '../experiment/schema.js';
import { FaultlineError } from '../core/errors.js';
import { successRule, Workload } from '../workload/generator.js';
import { ReplicatedWorkload } from '../workload/replicated.js';
import type { RunningWorkload } from '../workload/types.js';
import { runAction } from './activity.js';
import type { RunFaults } from './faults.js';
import { describeMisses, type RunContext } from './run-context.js';
import { scheduleMethod, type ScheduledStep } from './timeline.js';
import { watchMethod, type StopMethod } from './watchers.js';

/** Per step id: resolved once every occurrence of the step has finished, for steps that start `after` it. */
type StepCompletions = Map<string, { done: Promise<void>; arrive: () => void }>;

export function stepCompletions(schedule: readonly ScheduledStep[]): StepCompletions {
  const completions: StepCompletions = new Map();
  for (const id of new Set(schedule.map((item) => item.id))) {
    let remaining = schedule.filter((item) => item.id === id).length;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    completions.set(id, { done, arrive: () => (--remaining === 0 ? resolve() : undefined) });
  }
  return completions;
}

export async function untilSettledOrAborted(promise: Promise<void> | undefined, signal: AbortSignal): Promise<void> {
  if (!promise) return;
  if (signal.aborted) throw signal.reason;
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export class MethodScheduler {
  /** Where the workload's zero sits on the method's clock (negative: traffic started first). */
  private workloadOffsetMs = 0;

  constructor(
    private readonly run: RunContext,
    private readonly faults: RunFaults,
  ) {}

  /** Returns true when the method ran to its planned end (no abort, interrupt or error). */
  async runMethod(): Promise<boolean> {
    const { run } = this;
    const schedule = scheduleMethod(run.experiment.method);
    run.phase('method', 'Method');
    const method = new AbortController();
    // Every scheduled step waits on this signal at once; their number is bounded by the experiment.
    setMaxListeners(0, method.signal);
    const stopMethod: StopMethod = (reason) => {
      if (!method.signal.aborted) method.abort(reason);
    };
    const onStop = () => stopMethod(run.stopRun.signal.reason);
    if (run.stopRun.signal.aborted) return false;
    run.stopRun.signal.addEventListener('abort', onStop, { once: true });
    const watchers = new AbortController();
    const spec = run.experiment.workload;
    try {
      if (spec) {
        run.workload = await this.startWorkload(spec, stopMethod, method.signal);
        this.faults.startBaselineReadings(schedule, method.signal);
        // The baseline: traffic before any fault; cut short by an interrupt like everything else.
        await run.clock.sleep(spec.before, method.signal).catch(() => undefined);
      }
      if (method.signal.aborted) return false;
      run.methodStart = run.clock.now();
      run.journal.methodStartedAt = run.clock.date().toISOString();
      if (run.workload) this.workloadOffsetMs = -run.workload.elapsed();
      const watching = watchMethod(run, this.faults, watchers.signal, stopMethod);
      try {
        const finished = stepCompletions(schedule);
        await Promise.all(schedule.map((item) => this.runScheduled(item, method.signal, stopMethod, finished)));
      } finally {
        watchers.abort();
        await watching;
      }
      // Faults without an undo (a kill) stay in their window until the method ends.
      for (const live of this.faults.live) if (live.record.status === 'irreversible') run.workload?.recorder.faultEnded(live.record.key, run.workload.elapsed());
      await this.faults.undoAll();
      // The recovery window: traffic after every fault is gone.
      if (spec && !method.signal.aborted) await run.clock.sleep(spec.after, method.signal).catch(() => undefined);
    } finally {
      run.stopRun.signal.removeEventListener('abort', onStop);
      await this.stopWorkload(method.signal.aborted);
      await this.faults.settleBaselineReadings();
    }
    return !method.signal.aborted;
  }

  private async startWorkload(spec: NonNullable<Experiment['workload']>, stopMethod: StopMethod, signal: AbortSignal): Promise<RunningWorkload> {
    const options = {
      url: spec.url,
      method: spec.method,
      headers: spec.headers ?? {},
      body: spec.body,
      timeoutMs: spec.timeout,
      rate: spec.rate,
      maxInFlight: spec.maxInFlight,
      concurrency: spec.concurrency,
    };
    let workload: RunningWorkload;
    if (spec.replicas > 1) {
      // A worker that dies takes its share of the traffic with it: the run fails rather than judge what is left.
      const onWorkerLost = (error: FaultlineError) => {
        this.run.runError ??= error;
        stopMethod(error);
      };
      workload = await ReplicatedWorkload.start({ workload: { ...options, success: spec.success }, replicas: spec.replicas, onWorkerLost }, signal);
    } else {
      const local = new Workload({ ...options, isSuccess: successRule(spec.success) });
      local.start();
      workload = local;
    }
    workload.recorder.watchSeconds((second) => this.run.emit({ type: 'workload', second }));
    const workers = spec.replicas > 1 ? ` from ${spec.replicas} worker processes` : '';
    this.run.emit({ type: 'note', message: `workload: ${spec.rate !== undefined ? `${spec.rate} req/s` : `${spec.concurrency} users`}${workers} → ${spec.method} ${spec.url}` });
    return workload;
  }

  /** Stops the traffic and writes its windows to the journal; safe to call twice. */
  private async stopWorkload(abandon: boolean): Promise<void> {
    const workload = this.run.workload;
    if (!workload) return;
    this.run.workload = undefined;
    await workload.stop(abandon);
    const { workload: record, windows } = workload.result(this.workloadOffsetMs);
    this.run.journal.workload = record;
    this.run.journal.windows = windows;
  }

  private async sleepUntil(offsetMs: number, signal: AbortSignal): Promise<void> {
    const wait = offsetMs - this.run.elapsed();
    if (wait > 0) await this.run.clock.sleep(wait, signal);
    else if (signal.aborted) throw signal.reason;
  }

  private async runScheduled(item: ScheduledStep, signal: AbortSignal, stopMethod: StopMethod, finished: StepCompletions): Promise<void> {
    const { run } = this;
    let marked = false;
    const markFinished = () => {
      if (!marked) finished.get(item.id)?.arrive();
      marked = true;
    };
    try {
      // `after: <id>`: not before that step has finished (a fault: has taken effect), whatever the clock says.
      if (item.step.after) await untilSettledOrAborted(finished.get(item.step.after)?.done, signal);
      await this.sleepUntil(item.startMs, signal);
      const delayMs = Math.max(0, run.elapsed() - item.startMs);
      if (item.kind === 'fault') {
        const fault = await this.faults.applyFault(item, signal);
        markFinished();
        if (item.endMs !== undefined) {
          // A fault started late (after its `after` step) still lasts its whole duration.
          await this.sleepUntil(item.endMs + (item.step.after ? delayMs : 0), signal);
          await this.faults.undoFault(fault);
        }
      } else if (item.kind === 'probe') {
        const record = run.record(await run.runProbeSpec({ ...item.step, probe: item.ref, name: item.name }, 'method', item.key, signal));
        if (record.status !== 'succeeded' && record.status !== 'cancelled') {
          run.deviations.push(`method probe ${record.name} ${record.status}: ${record.error?.message ?? describeMisses(record)}`);
        }
      } else {
        run.emit({ type: 'activity-start', key: item.key, phase: 'method', kind: 'action', name: item.name });
        const { record, output } = await runAction(
          run.env,
          { key: item.key, phase: 'method', ref: item.ref, name: item.name, args: item.step.with, timeoutMs: item.step.timeout },
          signal,
        );
        run.record(record);
        if (output) run.outputs.set(item.id, output);
        if (record.status === 'failed' || record.status === 'timeout') {
          throw new FaultlineError('E_DRIVER', `action ${record.name} ${record.status}: ${record.error?.message}`, record.error?.hint ? { hint: record.error.hint } : {});
        }
      }
      markFinished();
      if (item.step.pauses?.after) await run.clock.sleep(item.step.pauses.after, signal);
    } catch (error) {
      markFinished();
      if (signal.aborted) return; // cancelled by an abort, an interrupt or another step's failure
      run.runError ??= error;
      stopMethod(error);
    }
  }
}
