// The run's faults and provisions as the journal sees them: each goes through the fault lifecycle
// (src/safety/fault-lifecycle.ts), and here becomes a FaultRecord, an activity and a window in the
// workload's recorder. Undone newest first; provisions after the teardown, faults as soon as they end.
import type { ActionDefinition, Driver, PreparedAction, ProvisionDefinition, ReachReading, ReachReadings } from '../drivers/types.js';
import { formatDuration } from '../core/duration.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import type { HeldFault } from '../safety/fault-lifecycle.js';
import { DEFAULT_ACTION_TIMEOUT_MS, driverContext, parseArgs, toJournalError, withDeadline } from './activity.js';
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

/** A fault whose targets are resolved and whose intent is in the ledger, not applied yet. */
export interface PreparedFault {
  item: ScheduledStep;
  driver: Driver;
  ref: string;
  entry: ActionDefinition;
  /** The arguments with step references resolved, as the journal shows them. */
  resolved: unknown;
  args: unknown;
  prepared: PreparedAction;
  held: HeldFault;
  /** What prepare and recheck logged: the fault's activity keeps them. */
  logs: string[];
  /** Aborted once the fault is applied or withdrawn: what the driver's recheck opened closes with it. */
  readied: AbortController;
  /** An outage's reach reading, taken with the recheck just before the instant (see recheckFault). */
  readBefore?: Promise<ReachReading | undefined>;
}

/** Bound on a driver's recheck just before the instant; one that takes longer prepares again. */
export const RECHECK_TIMEOUT_MS = 5_000;

interface HeldProvision {
  name: string;
  key: string;
  held: HeldFault;
}

export class RunFaults {
  readonly live: LiveFault[] = [];
  private readonly provisions: HeldProvision[] = [];
  private readonly baselines = new BaselineReadings();
  /** Faults prepared (their intent written) but not applied yet. */
  private readonly pending = new Set<PreparedFault>();

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

  /**
   * Resolves a fault's targets and writes its intent (flushed), without applying it: at its instant, or
   * ahead of it (`leadMs` before). Listed as pending until it is applied or withdrawn, so a run that
   * stops before the instant closes its intent (withdrawPending).
   */
  async prepareFault(item: ScheduledStep, signal: AbortSignal, leadMs = 0): Promise<PreparedFault> {
    const { run } = this;
    const { driver, ref, entry } = run.options.registry.resolveAction(item.ref);
    const logs: string[] = [];
    const context = (s: AbortSignal) => driverContext(run.env, driver, s, logs);
    const resolved = resolveStepReferences(item.step.with ?? {}, run.outputs, item.key);
    const args = parseArgs(entry.args, resolved, 'with');
    const prepared = await run.lifecycle.prepare((s) => entry.prepare(args, context(s)), DEFAULT_ACTION_TIMEOUT_MS, signal, `preparing ${item.name}`);
    // The ttl counts from the instant, not from the intent written ahead of it.
    const ttl = item.step.ttl === undefined ? undefined : item.step.ttl + leadMs;
    const held = await run.lifecycle.intend({ key: item.key, step: item.name, action: ref, at: run.clock.date(), expiresAt: run.expiresAt(ttl) }, prepared);
    if (leadMs > 0) logs.push(`prepared ${formatDuration(Math.round(leadMs))} before its instant (targets resolved, ledger entry written)`);
    const fault: PreparedFault = { item, driver, ref, entry, resolved, args, prepared, held, logs, readied: new AbortController() };
    this.pending.add(fault);
    return fault;
  }

  /**
   * Just before the instant of a fault prepared ahead: are its targets still there? The driver's
   * recheck (absent: yes). False, or a recheck that fails: the intent is withdrawn, and the fault is
   * prepared again at its instant, so a vanished target is re-resolved or fails, never hit as nothing.
   */
  async recheckFault(fault: PreparedFault, signal: AbortSignal): Promise<boolean> {
    const { entry, driver, args, prepared, logs } = fault;
    if (entry.recheck && !(await this.targetsHold(fault, signal))) {
      logs.push(`the targets prepared ahead changed (${prepared.targets.join(', ')}); preparing again at the instant`);
      await this.withdraw(fault, 'its targets changed before its instant; prepared again');
      return false;
    }
    // An outage is judged by the traffic right before it: read now, with the targets just confirmed, so
    // at the instant the apply shares the server with nothing. A reading this much earlier counts no
    // less traffic before the outage, and what it adds to the window under it was traffic right up to it.
    if (declaredEffect(entry, args)?.outage !== undefined) {
      fault.readBefore = readReach(entry, args, prepared, (s) => driverContext(this.run.env, driver, s, logs), signal);
    }
    return true;
  }

  /** The driver's recheck, bounded; a recheck that fails counts as targets changed. */
  private async targetsHold(fault: PreparedFault, signal: AbortSignal): Promise<boolean> {
    const { entry, driver, args, prepared, logs, readied } = fault;
    let holds: boolean;
    try {
      holds = await withDeadline(
        (s) => entry.recheck!(args, prepared, driverContext(this.run.env, driver, AbortSignal.any([s, readied.signal]), logs)),
        RECHECK_TIMEOUT_MS,
        signal,
        `rechecking ${fault.item.name}`,
      );
    } catch (error) {
      if (signal.aborted) throw error;
      logs.push(`recheck before the instant failed (${errorMessage(error)}); preparing again`);
      holds = false;
    }
    return holds;
  }

  /** Closes the intent of a fault prepared but not applied; what its recheck opened closes too. */
  async withdraw(fault: PreparedFault, reason: string): Promise<void> {
    this.pending.delete(fault);
    fault.readied.abort();
    await this.run.lifecycle.withdraw(fault.held, reason);
  }

  /** The run stops: every fault prepared ahead of an instant it did not reach is withdrawn. */
  async withdrawPending(reason: string): Promise<void> {
    for (const fault of [...this.pending]) await this.withdraw(fault, reason);
  }

  /** Applies a fault at its instant: prepared ahead (`ready`), or prepared now. */
  async applyFault(item: ScheduledStep, signal: AbortSignal, ready?: PreparedFault): Promise<LiveFault> {
    const { run } = this;
    const startedAt = run.clock.date();
    const started = run.clock.now();
    run.emit({ type: 'activity-start', key: item.key, phase: 'method', kind: 'fault', name: item.name });
    const { ref } = ready ?? run.options.registry.resolveAction(item.ref);
    const activity: ActivityRecord = { key: item.key, phase: 'method', kind: 'fault', ref, name: item.name, startedAt: startedAt.toISOString(), endedAt: startedAt.toISOString(), durationMs: 0, status: 'succeeded' };
    let fault = ready;
    let logs: string[] = ready?.logs ?? [];
    try {
      fault ??= await this.prepareFault(item, signal);
    } catch (error) {
      run.finishActivity(activity, started, logs, error);
      throw error;
    }
    // Taken over: from here the fault is live (undone on every path), no longer pending.
    this.pending.delete(fault);
    const { driver, entry, args, prepared, held } = fault;
    logs = fault.logs;
    activity.args = fault.resolved;
    activity.targets = prepared.targets;
    const finish = (error?: unknown) => {
      fault.readied.abort();
      run.finishActivity(activity, started, logs, error);
    };
    const context = (s: AbortSignal) => driverContext(run.env, driver, s, logs);
    const baseline = this.baselines.take(item.key, prepared.targets);
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
    // Listed before apply, in the same tick: an undo from now on waits for the apply and then undoes it.
    this.live.push(live);
    // The apply never waits for a read. An outage is judged by the traffic right before it, so its read
    // was taken with the recheck, or goes out beside the apply, first (after it, a killed target has no
    // counters left); any other fault by the traffic while it is live, so its read goes out once the
    // apply returned, sharing nothing with it at the instant: read a moment late, counters count less
    // traffic under the fault, never more.
    const readApplied = () => readReach(entry, args, prepared, context, signal);
    const readBefore = fault.readBefore ?? (effect?.outage !== undefined ? readApplied() : undefined);
    const applying = run.lifecycle.apply(held, (s) => entry.apply(args, prepared, context(s)), item.step.timeout ?? DEFAULT_ACTION_TIMEOUT_MS, signal, `fault ${item.name}`);
    const appliedRead = readBefore ?? applying.then(readApplied, () => undefined);
    live.reach = appliedRead.then((applied) =>
      applied ? { entry, args, prepared, driver, readings: { ...(baseline ? { baseline } : {}), applied } } : undefined,
    );
    try {
      const output = await applying;
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
