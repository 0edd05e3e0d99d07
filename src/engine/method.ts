// The method's scheduler: the workload's baseline, then every step on its timeline (faults applied
// and undone at their offsets, probes, actions, `after` dependencies), the watchers beside them, the
// undo of whatever is still live, and the recovery window. Interrupts, aborts and a failing step stop it.
import { setMaxListeners } from 'node:events';
import type { Experiment } from '../experiment/schema.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import { successRule, Workload } from '../workload/generator.js';
import { ReplicatedWorkload } from '../workload/replicated.js';
import type { RunningWorkload } from '../workload/types.js';
import { runAction } from './activity.js';
import type { PreparedFault, RunFaults } from './faults.js';
import { mentionsStepReferences } from './references.js';
import { describeMisses, type RunContext } from './run-context.js';
import { scheduleMethod, type ScheduledStep } from './timeline.js';
import { watchMethod, type StopMethod } from './watchers.js';

/**
 * How long before its instant a fault's targets are resolved and its intent written, so that at the
 * instant only the apply is left. Long enough for a slow API server or a busy disk (a prepare that
 * lists pods or containers takes tens of ms, hundreds under load); short enough that little changes
 * before the instant, and the recheck catches what did.
 */
export const PREPARE_LEAD_MS = 2_000;
/** When the targets prepared ahead are checked again: one API call's time before the instant, with room for a busy machine. */
export const RECHECK_LEAD_MS = 200;

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
  /** Faults being prepared ahead of their instants, by step key; undefined where that failed (prepared at the instant). */
  private readonly ahead = new Map<string, Promise<PreparedFault | undefined>>();

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
      if (spec) run.workload = await this.startWorkload(spec, stopMethod, method.signal);
      // The method's zero is expected after the baseline: faults early in the method are prepared during it.
      this.prepareAhead(schedule, run.clock.now() + (spec?.before ?? 0), method.signal);
      if (spec) {
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
      // Prepared for an instant the run did not reach: the intent is closed, nothing was applied.
      await Promise.allSettled(this.ahead.values());
      await this.faults.withdrawPending('the run stopped before its instant');
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

  /**
   * Starts preparing each fault whose instant is known (no `after`, no step references in its
   * arguments) PREPARE_LEAD_MS before it, or at once when less time is left; `methodZero` is where the
   * method's clock is expected to start. A prepare that fails here is tried again at the instant, where
   * its failure counts: the target may only appear by then.
   */
  private prepareAhead(schedule: readonly ScheduledStep[], methodZero: number, signal: AbortSignal): void {
    const { run } = this;
    for (const item of schedule) {
      if (item.kind !== 'fault' || item.step.after || mentionsStepReferences(item.step.with)) continue;
      const prepareAt = methodZero + item.startMs - PREPARE_LEAD_MS;
      const preparing = (async () => {
        await run.clock.sleep(prepareAt - run.clock.now(), signal);
        return this.faults.prepareFault(item, signal, Math.max(0, methodZero + item.startMs - run.clock.now()));
      })().catch((error: unknown) => {
        if (!signal.aborted) run.emit({ type: 'note', message: `${item.name}: not prepared ahead (${errorMessage(error)}); preparing at its instant` });
        return undefined;
      });
      this.ahead.set(item.key, preparing);
    }
  }

  /**
   * Up to a fault's instant: the fault prepared ahead, checked again just before (RECHECK_LEAD_MS), so
   * at the instant only its apply is left. Undefined: it is prepared at the instant.
   */
  private async readyAtInstant(item: ScheduledStep, signal: AbortSignal): Promise<PreparedFault | undefined> {
    const preparing = this.ahead.get(item.key);
    if (!preparing) return undefined;
    await this.sleepUntil(item.startMs - RECHECK_LEAD_MS, signal);
    const ready = await preparing;
    if (ready && !(await this.faults.recheckFault(ready, signal))) return undefined;
    return ready;
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
      const ready = item.kind === 'fault' ? await this.readyAtInstant(item, signal) : undefined;
      await this.sleepUntil(item.startMs, signal);
      const delayMs = Math.max(0, run.elapsed() - item.startMs);
      if (item.kind === 'fault') {
        const fault = await this.faults.applyFault(item, signal, ready);
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
