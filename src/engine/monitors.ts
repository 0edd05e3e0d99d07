// Abort conditions on outside signals: a probe (a PromQL query, an HTTP health or status endpoint)
// polled for the whole method or only while faults are live, tripping after `failures` consecutive
// misses. A monitor that cannot be reached is a miss (onError: abort, the default) or skipped
// (onError: ignore), never silently a pass. The engine calls watchMonitor from one place.
import type { DriverRegistry } from '../drivers/registry.js';
import type { AbortSpec, ProbeAbortSpec } from '../experiment/schema.js';
import type { ActivityRecord } from './journal.js';
import type { ToleranceMiss } from './tolerance.js';

/** What the watcher needs from the run, so it stays out of the run's own state. */
export interface MonitorHooks {
  /** Runs the condition's probe once as an abort check and returns its record (not journaled yet). */
  check(condition: ProbeAbortSpec, key: string, signal: AbortSignal): Promise<ActivityRecord>;
  /** Journals a record. */
  record(record: ActivityRecord): void;
  /** A line for the run's notes (a skipped check under onError: ignore). */
  note(message: string): void;
  /** True while a fault of the method is applied or being applied. */
  faultsLive(): boolean;
  /** Trips the abort: undoes everything at once and stops the method. */
  trip(name: string, reason: string, misses: ToleranceMiss[]): Promise<void>;
  /** Ticks every `every` ms until `stop` aborts. */
  ticks(every: number, stop: AbortSignal): AsyncIterable<void>;
}

/** When a probe condition is polled; a prometheus probe watches the whole method unless told otherwise. */
export function pollingOf(condition: AbortSpec, registry: DriverRegistry): 'faults' | 'method' {
  if (condition.while !== undefined) return condition.while;
  if (condition.probe === undefined) return 'faults';
  return registry.resolveProbe(condition.probe).driver.name === 'prometheus' ? 'method' : 'faults';
}

/** Conditions this module watches: outside monitors polled for the whole method, or with an onError policy. */
export function isMonitor(condition: AbortSpec, registry: DriverRegistry): condition is ProbeAbortSpec {
  return condition.probe !== undefined && (pollingOf(condition, registry) === 'method' || condition.onError !== undefined);
}

/**
 * Why the monitor gave no reading, or undefined when it answered: a probe that failed or timed out
 * (Prometheus down, a query it rejects), or an HTTP probe that got no response.
 */
export function unreachable(record: ActivityRecord): string | undefined {
  if (record.status === 'failed' || record.status === 'timeout') return record.error?.message ?? record.status;
  const output = record.output as { status?: unknown; error?: unknown } | undefined;
  if (output && output.status === null && typeof output.error === 'string') return output.error;
  return undefined;
}

export async function watchMonitor(condition: ProbeAbortSpec, index: number, hooks: MonitorHooks, registry: DriverRegistry, stop: AbortSignal): Promise<void> {
  const name = condition.name ?? `abort condition ${index + 1}`;
  const polling = pollingOf(condition, registry);
  const onError = condition.onError ?? 'abort';
  let consecutive = 0;
  let checks = 0;
  let skipped = 0;
  for await (const _ of hooks.ticks(condition.every, stop)) {
    if (polling === 'faults' && !hooks.faultsLive()) continue;
    checks += 1;
    const record = await hooks.check({ ...condition, name }, `abort-${index + 1}-${checks}`, stop);
    if (record.status === 'cancelled') return;
    const problem = unreachable(record);
    if (problem !== undefined && onError === 'ignore') {
      skipped += 1;
      // One note for the first skip: a monitor down for the whole run would otherwise fill the journal.
      if (skipped === 1) hooks.note(`${name}: cannot be read (${problem}); skipped (onError: ignore)`);
      continue;
    }
    if (record.status === 'succeeded') {
      consecutive = 0;
      continue;
    }
    consecutive += 1;
    hooks.record(record);
    if (consecutive >= condition.failures) {
      const why = problem !== undefined ? `cannot be read: ${problem} (onError: abort)` : (record.misses ?? []).map((m) => m.message).join('; ') || record.status;
      const reason = `${name} tripped after ${consecutive} consecutive miss(es): ${why}`;
      const misses: ToleranceMiss[] =
        problem === undefined && record.misses?.length ? record.misses : [{ field: 'monitor', expected: 'a reading', actual: problem ?? record.status, message: reason }];
      await hooks.trip(name, reason, misses);
      return;
    }
  }
}
