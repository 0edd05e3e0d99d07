// The run's faults and provisions as the journal sees them: each goes through the fault lifecycle
// (src/safety/fault-lifecycle.ts), and here becomes a FaultRecord, an activity and a window in the
// workload's recorder. Undone newest first; provisions after the teardown, faults as soon as they end.
import type { ActionDefinition, Driver, PreparedAction, ProvisionDefinition, ReachReadings } from '../drivers/types.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import type { HeldFault } from '../safety/fault-lifecycle.js';
import { DEFAULT_ACTION_TIMEOUT_MS, driverContext, parseArgs, toJournalError } from './activity.js';
import type { ActivityRecord, FaultRecord } from './journal.js';
import { BaselineReadings, declaredEffect, judgeReach, readReach } from './reach-readings.js';
import { resolveStepReferences } from './references.js';
import type { RunContext } from './run-context.js';
import type { ScheduledStep } from './timeline.js';

export interface LiveFault {
  record: FaultRecord;
  held: HeldFault;
  undoing?: Promise<void>;
  /** What the driver's reach judgement needs at undo time, for actions that read counters (reach-readings.ts). */
  reach?: Promise<{ entry: ActionDefinition; args: unknown; prepared: PreparedAction; driver: Driver; readings: Pick<ReachReadings, 'baseline' | 'applied'> } | undefined>;
}

interface HeldProvision {
  name: string;
  key: string;
  held: HeldFault;
}

export class RunFaults {
  readonly live: LiveFault[] = [];
  private readonly provisions: HeldProvision[] = [];
  private readonly baselines = new BaselineReadings();

  constructor(private readonly run: RunContext) {}

  /** When the workload starts: the baseline read of every planned fault whose driver counts what crosses its targets, in the background. */
  startBaselineReadings(schedule: readonly ScheduledStep[], signal: AbortSignal): void {
    const { run } = this;
    const requests = schedule
      .filter((item) => item.kind === 'fault')
      .map((item) => {
        const { driver, entry } = run.options.registry.resolveAction(item.ref);
        const resolveArgs = () => parseArgs(entry.args, resolveStepReferences(item.step.with ?? {}, run.outputs, item.key), 'with');
        return { key: item.key, entry, resolveArgs, contextFor: (s: AbortSignal) => driverContext(run.env, driver, s, []) };
      });
    this.baselines.start(requests, signal);
  }

  /** Waits for baseline reads still in flight (each is bounded), so none outlives the method. */
  settleBaselineReadings(): Promise<void> {
    return this.baselines.settle();
  }

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
    const baseline = this.baselines.take(item.key, prepared.targets);
    // Read beside the intent and the apply, not before them: a slow read must not delay the fault.
    const appliedRead = readReach(entry, args, prepared, context, signal);
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
    const effect = declaredEffect(entry, args);
    if (effect) record.effect = effect;
    run.journal.faults.push(record);
    const live: LiveFault = { record, held };
    live.reach = appliedRead.then((applied) =>
      applied ? { entry, args, prepared, driver, readings: { ...(baseline ? { baseline } : {}), applied } } : undefined,
    );
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
    // The last read runs beside the undo, which does not wait for it; the judgement waits for both.
    const judged = this.judgeReach(live);
    try {
      await this.undoFaultRecord(live);
    } finally {
      await judged;
    }
  }

  private async undoFaultRecord(live: LiveFault): Promise<void> {
    const { record } = live;
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
    } else {
      record.status = 'undo-failed';
      record.error = toJournalError(error);
    }
    this.run.emit({ type: 'fault', fault: record });
  }

  /** The last read of the fault's counters, just before its undo, and the driver's judgement of all three. */
  private async judgeReach(live: LiveFault): Promise<void> {
    const { record } = live;
    if (record.status === 'apply-failed') return;
    const reach = await live.reach;
    if (!reach) return;
    // After an interrupt the read is skipped at once (recorded unavailable): the undo must not wait.
    const undone = await readReach(reach.entry, reach.args, reach.prepared, (s) => driverContext(this.run.env, reach.driver, s, []), this.run.stopRun.signal);
    const evidence = judgeReach(reach.entry, reach.args, { ...reach.readings, ...(undone ? { undone } : {}) });
    if (evidence) record.reach = evidence;
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
