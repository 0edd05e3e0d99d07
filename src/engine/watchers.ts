// What watches the system while the method runs: the abort conditions (a probe that misses N times in a
// row, or the workload's error rate over the trailing seconds) and the continuous steady state. Each
// loop ticks until the method ends; an abort condition that trips stops the method and undoes at once.
import type { AbortSpec, ProbeAbortSpec } from '../experiment/schema.js';
import { formatDuration } from '../core/duration.js';
import { FaultlineError } from '../core/errors.js';
import { formatRatio } from '../core/ratio.js';
import type { Clock } from '../core/clock.js';
import type { RunFaults } from './faults.js';
import { isMonitor, watchMonitor, type MonitorHooks } from './monitors.js';
import { describeMisses, type RunContext } from './run-context.js';
import type { ToleranceMiss } from './tolerance.js';

export type StopMethod = (reason: unknown) => void;

/** Runs every watcher until `stop` aborts (the method ended). */
export async function watchMethod(run: RunContext, faults: RunFaults, stop: AbortSignal, stopMethod: StopMethod): Promise<void> {
  const conditions = run.experiment.abort ?? [];
  const continuous = run.experiment.hypothesis?.continuous;
  const loops = conditions.map((condition, index) =>
    isMonitor(condition, run.options.registry)
      ? watchMonitor(condition, index, monitorHooks(run, faults, stopMethod), run.options.registry, stop)
      : condition.probe !== undefined
      ? watchAbortProbe(run, faults, { ...condition, probe: condition.probe }, index, stop, stopMethod)
      : watchWorkloadCondition(run, faults, condition, index, stop, stopMethod),
  );
  if (continuous) loops.push(watchSteadyState(run, continuous.every, stop));
  await Promise.all(loops);
}

/** What an outside monitor (monitors.ts) may do to the run. */
function monitorHooks(run: RunContext, faults: RunFaults, stopMethod: StopMethod): MonitorHooks {
  return {
    check: (condition, key, signal) => run.runProbeSpec(condition, 'abort-check', key, signal),
    record: (record) => run.record(record),
    note: (message) => run.emit({ type: 'note', message }),
    faultsLive: () => faults.anyLive(),
    trip: (name, reason, misses) => tripAbort(run, faults, name, reason, misses, stopMethod),
    ticks: (every, stop) => ticks(run.clock, every, stop),
  };
}

/** Yields every `every` ms until `stop` aborts; `stop` aborts when the method ends, so this is bounded. */
export async function* ticks(clock: Clock, every: number, stop: AbortSignal): AsyncGenerator<void> {
  while (!stop.aborted) {
    try {
      await clock.sleep(every, stop);
    } catch {
      return;
    }
    yield;
  }
}

/** The workload's error rate over its trailing span, or undefined while there is too little to judge. */
export function trailingErrorRate(recent: { seconds: number; requests: number; ok: number }, bound: { over: number; minRequests: number }): number | undefined {
  // Judged only once a full span of seconds is in, on enough requests.
  if (recent.seconds * 1000 < bound.over || recent.requests < bound.minRequests) return undefined;
  return (recent.requests - recent.ok) / recent.requests;
}

async function tripAbort(run: RunContext, faults: RunFaults, name: string, reason: string, misses: ToleranceMiss[], stopMethod: StopMethod): Promise<void> {
  run.aborted = true;
  run.journal.abort = { condition: name, at: run.clock.date().toISOString(), misses };
  run.emit({ type: 'abort', condition: name, reason });
  stopMethod(new FaultlineError('E_INTERNAL', reason, { exit: 'aborted' }));
  // Undo at once rather than when the method's tasks have wound down.
  await faults.undoAll();
}

/** An abort condition on the workload's figures: the error rate over the trailing seconds. */
async function watchWorkloadCondition(run: RunContext, faults: RunFaults, condition: AbortSpec, index: number, stop: AbortSignal, stopMethod: StopMethod): Promise<void> {
  const bound = condition.workload;
  if (!bound) return;
  const name = condition.name ?? `abort condition ${index + 1}`;
  for await (const _ of ticks(run.clock, condition.every, stop)) {
    const recorder = run.workload?.recorder;
    if (!recorder) return;
    const recent = recorder.trailing(bound.over);
    const errorRate = trailingErrorRate(recent, bound);
    if (errorRate === undefined || errorRate <= bound.errorRate) continue;
    const reason = `${name} tripped: error rate ${formatRatio(errorRate)} (${recent.requests - recent.ok}/${recent.requests}) over the last ${formatDuration(recent.seconds * 1000)}, above ${formatRatio(bound.errorRate)}`;
    const miss: ToleranceMiss = { field: 'workload.errorRate', expected: `<= ${formatRatio(bound.errorRate)}`, actual: formatRatio(errorRate), message: reason };
    await tripAbort(run, faults, name, reason, [miss], stopMethod);
    return;
  }
}

/** An abort condition on a probe: trips after `failures` consecutive misses while a fault is live. */
async function watchAbortProbe(run: RunContext, faults: RunFaults, condition: ProbeAbortSpec, index: number, stop: AbortSignal, stopMethod: StopMethod): Promise<void> {
  let consecutive = 0;
  let checks = 0;
  const name = condition.name ?? `abort condition ${index + 1}`;
  for await (const _ of ticks(run.clock, condition.every, stop)) {
    if (!faults.anyLive()) continue;
    checks += 1;
    const record = await run.runProbeSpec({ ...condition, name }, 'abort-check', `abort-${index + 1}-${checks}`, stop);
    if (record.status === 'cancelled') return;
    if (record.status === 'succeeded') {
      consecutive = 0;
      continue;
    }
    consecutive += 1;
    run.record(record);
    if (consecutive >= condition.failures) {
      const reason = `${name} tripped after ${consecutive} consecutive miss(es): ${record.error?.message ?? describeMisses(record)}`;
      await tripAbort(run, faults, name, reason, record.misses ?? [], stopMethod);
      return;
    }
  }
}

/** The continuous steady state: every hypothesis probe, every `every` ms; a miss is a deviation. */
async function watchSteadyState(run: RunContext, every: number, stop: AbortSignal): Promise<void> {
  const probes = run.experiment.hypothesis?.probes ?? [];
  const during = (run.journal.hypothesis.during = { checks: 0, misses: 0 });
  for await (const _ of ticks(run.clock, every, stop)) {
    for (const [index, probe] of probes.entries()) {
      const record = await run.runProbeSpec({ ...probe, until: undefined }, 'during', `during-${during.checks + 1}-${index + 1}`, stop);
      if (record.status === 'cancelled') return;
      during.checks += 1;
      run.record(record);
      if (record.status !== 'succeeded') {
        during.misses += 1;
        run.deviations.push(`steady state during the method: ${record.name} ${record.status}: ${record.error?.message ?? describeMisses(record)}`);
      }
    }
  }
}
