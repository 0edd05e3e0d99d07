// The run's faults and provisions as the journal sees them: each goes through the fault lifecycle
// (src/safety/fault-lifecycle.ts), and here becomes a FaultRecord, an activity and a window in the
// workload's recorder. Undone newest first; provisions after the teardown, faults as soon as they end.
import type { Driver, ProvisionDefinition, ReachEvidence, ReachReading, ReachReadings } from '../drivers/types.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import type { HeldFault } from '../safety/fault-lifecycle.js';
import { DEFAULT_ACTION_TIMEOUT_MS, driverContext, parseArgs, toJournalError } from './activity.js';
import type { ActivityRecord, FaultRecord } from './journal.js';
import { resolveStepReferences } from './references.js';
import type { RunContext } from './run-context.js';
import type { ScheduledStep } from './timeline.js';

export interface LiveFault {
  record: FaultRecord;
  held: HeldFault;
  undoing?: Promise<void>;
  /** Reads the driver's counters and judges its evidence of reach (actions with readReach only). */
  reach?: { read: () => Promise<ReachReading>; readings?: ReachReadings; judge: (readings: ReachReadings) => ReachEvidence };
}

interface HeldProvision {
  name: string;
  key: string;
  held: HeldFault;
}

export class RunFaults {
  readonly live: LiveFault[] = [];
  private readonly provisions: HeldProvision[] = [];

  constructor(private readonly run: RunContext) {}

  /** True while any fault is being applied or is in place (abort checks only run then). */
  anyLive(): boolean {
    return this.live.some((l) => l.record.status === 'applied' || l.record.status === 'applying');
  }

  /** Sets up what a driver's targets ask for (a managed server, declared objects), through the lifecycle like a fault. */
  async provision(driver: Driver, definition: ProvisionDefinition): Promise<void> {
    const { run } = this;
    const key = `provision-${driver.name}`;
    const name = `provision ${driver.name}`;
    const logs: string[] = [];
    const startedAt = run.clock.date();
    const started = run.clock.now();
    const activity: ActivityRecord = { key, phase: 'setup', kind: 'action', ref: `${driver.name}.provision`, name, startedAt: startedAt.toISOString(), endedAt: startedAt.toISOString(), durationMs: 0, status: 'succeeded' };
    const finish = (error?: unknown) => run.finishActivity(activity, started, logs, error);
    const fail = (error: unknown) => {
      finish(error);
      return new FaultlineError('E_PREFLIGHT', `${name} failed: ${errorMessage(error)}`, {
        cause: error,
        hint: error instanceof FaultlineError && error.hint ? error.hint : 'No fault was injected.',
      });
    };
    const context = (signal: AbortSignal) => driverContext(run.env, driver, signal, logs);
    let prepared;
    try {
      prepared = await run.lifecycle.prepare((s) => definition.prepare(context(s)), DEFAULT_ACTION_TIMEOUT_MS, run.stopRun.signal, `preparing ${name}`);
    } catch (error) {
      throw fail(error);
    }
    if (prepared === null) return;
    run.phase('setup', `Provision (${driver.name})`);
    activity.targets = prepared.targets;
    const held = await run.lifecycle.intend({ key, step: name, action: `${driver.name}.provision`, at: startedAt, expiresAt: run.expiresAt(undefined) }, prepared);
    // Listed before apply: a half-done apply is undone too (undos are idempotent).
    if (prepared.undo) this.provisions.push({ name, key, held });
    try {
      activity.output = await run.lifecycle.apply(held, (s) => definition.apply(prepared, context(s)), DEFAULT_ACTION_TIMEOUT_MS, run.stopRun.signal, name);
      finish();
    } catch (error) {
      throw fail(error);
    }
  }

  /** Undoes the provisions, newest first, once nothing else needs them (after the teardown). */
  async releaseProvisions(): Promise<void> {
    for (const provision of this.provisions.splice(0).reverse()) {
      if (this.run.options.keepFaults) {
        this.run.emit({ type: 'note', message: `${provision.name} kept with the faults (--keep-faults): \`faultline recover\` releases it` });
        continue;
      }
      await this.undoActivity(`undo-${provision.key}`, `undo ${provision.name}`, provision.held, provision.name);
    }
  }

  async applyFault(item: ScheduledStep, signal: AbortSignal): Promise<LiveFault> {
    const { run } = this;
    const { driver, ref, entry } = run.options.registry.resolveAction(item.ref);
    const logs: string[] = [];
    const startedAt = run.clock.date();
    const started = run.clock.now();
    run.emit({ type: 'activity-start', key: item.key, phase: 'method', kind: 'fault', name: item.name });
    const activity: ActivityRecord = { key: item.key, phase: 'method', kind: 'fault', ref, name: item.name, startedAt: startedAt.toISOString(), endedAt: startedAt.toISOString(), durationMs: 0, status: 'succeeded' };
    const finish = (error?: unknown) => run.finishActivity(activity, started, logs, error);
    const context = (s: AbortSignal) => driverContext(run.env, driver, s, logs);
    let args: unknown;
    let prepared;
    try {
      const resolved = resolveStepReferences(item.step.with ?? {}, run.outputs, item.key);
      activity.args = resolved;
      args = parseArgs(entry.args, resolved, 'with');
      prepared = await run.lifecycle.prepare((s) => entry.prepare(args, context(s)), DEFAULT_ACTION_TIMEOUT_MS, signal, `preparing ${item.name}`);
    } catch (error) {
      finish(error);
      throw error;
    }
    activity.targets = prepared.targets;
    const held = await run.lifecycle.intend({ key: item.key, step: item.name, action: ref, at: startedAt, expiresAt: run.expiresAt(item.step.ttl) }, prepared);
    const record: FaultRecord = {
      key: item.key,
      name: item.name,
      ref,
      ledgerId: held.ledgerId,
      targets: prepared.targets,
      undo: prepared.undo,
      scheduledAtMs: item.startMs,
      ...(item.endMs !== undefined ? { scheduledEndMs: item.endMs } : {}),
      status: 'applying',
    };
    run.journal.faults.push(record);
    const live: LiveFault = { record, held };
    const effect = entry.effect?.(args);
    if (effect) record.effect = effect;
    if (entry.readReach && entry.judgeReach) {
      // A reading that fails is a reading the driver could not make, not a failed fault.
      const read = () => entry.readReach!(args, prepared, driverContext(run.env, driver, AbortSignal.timeout(DEFAULT_ACTION_TIMEOUT_MS), [])).catch((error: unknown) => ({ counters: {}, unavailable: errorMessage(error) }));
      live.reach = { read, judge: (readings) => entry.judgeReach!(args, readings) };
    }
    // Listed before apply, in the same tick: an undo from now on waits for the apply and then undoes it.
    this.live.push(live);
    try {
      const output = await run.lifecycle.apply(held, (s) => entry.apply(args, prepared, context(s)), item.step.timeout ?? DEFAULT_ACTION_TIMEOUT_MS, signal, `fault ${item.name}`);
      record.status = prepared.undo === null ? 'irreversible' : 'applied';
      record.appliedAt = run.clock.date().toISOString();
      record.appliedAtMs = Math.round(run.elapsed());
      run.workload?.recorder.faultApplied(record.key, record.name, run.workload.elapsed());
      record.output = output;
      activity.output = output;
      run.outputs.set(item.id, output);
      if (live.reach) live.reach.readings = { applied: await live.reach.read() };
      finish();
      run.emit({ type: 'fault', fault: record });
      return live;
    } catch (error) {
      record.status = prepared.undo === null ? 'irreversible' : 'apply-failed';
      record.error = toJournalError(error);
      finish(error);
      run.emit({ type: 'fault', fault: record });
      throw new FaultlineError('E_DRIVER', `fault ${item.name} could not be applied: ${errorMessage(error)}`, {
        cause: error,
        hint: 'The run stops and undoes what it applied; a fault that did not take effect proves nothing.',
      });
    }
  }

  undoFault(live: LiveFault): Promise<void> {
    live.undoing ??= this.performUndo(live);
    return live.undoing;
  }

  private async performUndo(live: LiveFault): Promise<void> {
    const { record } = live;
    await this.run.lifecycle.settled(live.held);
    if (record.undo === null) return;
    if (this.run.options.keepFaults) {
      record.status = 'kept';
      this.run.emit({ type: 'fault', fault: record });
      return;
    }
    const error = await this.undoActivity(`undo-${record.key}`, `undo ${record.name}`, live.held, record.name);
    if (error === undefined) {
      record.status = 'undone';
      record.undoneAt = this.run.clock.date().toISOString();
      record.undoneAtMs = Math.round(this.run.elapsed());
      this.run.workload?.recorder.faultEnded(record.key, this.run.workload.elapsed());
      if (live.reach?.readings) record.reach = live.reach.judge({ ...live.reach.readings, undone: await live.reach.read() });
    } else {
      record.status = 'undo-failed';
      record.error = toJournalError(error);
    }
    this.run.emit({ type: 'fault', fault: record });
  }

  /** Runs one undo as a journaled activity; returns the error when it failed. */
  private async undoActivity(key: string, name: string, held: HeldFault, label: string): Promise<unknown> {
    const { run } = this;
    const undo = held.undo!;
    run.emit({ type: 'activity-start', key, phase: 'undo', kind: 'undo', name });
    const started = run.clock.now();
    const startedAt = run.clock.date().toISOString();
    const activity: ActivityRecord = { key, phase: 'undo', kind: 'undo', ref: `${undo.driver}.${undo.op}`, name, startedAt, endedAt: startedAt, durationMs: 0, status: 'succeeded', targets: held.targets };
    const { error, logs } = await run.lifecycle.undo(held);
    if (error !== undefined) {
      activity.status = 'failed';
      activity.error = toJournalError(error);
      run.incomplete.push(`${label}: ${errorMessage(error)}`);
    }
    run.finishActivity(activity, started, logs);
    return error;
  }

  /** Undoes every live fault, newest first. */
  async undoAll(): Promise<void> {
    for (const live of [...this.live].reverse()) await this.undoFault(live);
  }
}
