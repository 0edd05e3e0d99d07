// The engine: setup → preflight → steady state before → method (faults on their timeline, probes,
// abort conditions, continuous steady state) → undo → steady state after → rollbacks → teardown.
// Every fault goes through the ledger before it is applied, and every path out of here undoes it.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { isAbsolute, resolve } from 'node:path';
import type { DriverRegistry } from '../drivers/registry.js';
import type { Driver, DriverFlags, Output, PreparedAction, ProvisionDefinition, UndoSpec } from '../drivers/types.js';
import type { LoadedExperiment } from '../experiment/load.js';
import type { Experiment } from '../experiment/schema.js';
import type { ToleranceMiss } from './tolerance.js';
import type { AbortSpec, ProbeAbortSpec, ProbeSpec, RollbackStrategy } from '../experiment/schema.js';
import { formatRatio } from '../core/ratio.js';
import { evaluateVerdicts } from '../verdicts/evaluate.js';
import { Workload } from '../workload/generator.js';
import { successRule } from '../workload/schema.js';
import { Ledger, type LedgerIntent } from '../safety/ledger.js';
import { runUndo } from '../safety/undo.js';
import {
  DEFAULT_ACTION_TIMEOUT_MS,
  driverContext,
  parseArgs,
  runAction,
  runProbe,
  toJournalError,
  withDeadline,
  type ActivityEnvironment,
} from './activity.js';
import { systemClock, type Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import {
  JOURNAL_VERSION,
  describeMisses,
  redactSecrets,
  type ActivityRecord,
  type FaultRecord,
  type Journal,
  type Phase,
  type RunStatus,
} from './journal.js';
import { resolveStepReferences } from './references.js';
import { scheduleMethod, type ScheduledStep } from './timeline.js';
import { FAULTLINE_VERSION } from '../version.js';

export type RunEvent =
  | { type: 'phase'; phase: Phase; title: string }
  | { type: 'activity-start'; key: string; phase: Phase; kind: ActivityRecord['kind']; name: string }
  | { type: 'activity'; record: ActivityRecord }
  | { type: 'fault'; fault: FaultRecord }
  | { type: 'abort'; condition: string; reason: string }
  | { type: 'note'; message: string };

export interface RunOptions {
  loaded: LoadedExperiment;
  registry: DriverRegistry;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  /** Aborted on the first SIGINT/SIGTERM: the run stops and undoes its faults. */
  signal?: AbortSignal;
  ledgerDir?: string;
  keepFaults?: boolean;
  rollbackStrategy?: RollbackStrategy;
  /** Bound on the whole run; faults are still undone after it passes. */
  timeoutMs?: number;
  /** Start even though the ledger holds faults still applied (they are left for `recover`). */
  ignoreLedger?: boolean;
  /** Seed for random target selection; overrides settings.seed. Drawn at random when neither is given. */
  seed?: number;
  /** Command-line choices for drivers (`--context`, `--allow-production`). */
  driverFlags?: DriverFlags;
  onEvent?: (event: RunEvent) => void;
}

export const DEFAULT_LEDGER_DIR = '.faultline';

export function newRunId(date: Date): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** A seed for a run that names none; journaled so `--seed` can replay the same selection. */
export function drawSeed(): number {
  return randomBytes(4).readUInt32BE(0) & 0x7fffffff;
}

export function ledgerDirFor(cwd: string, configured: string | undefined): string {
  const dir = configured ?? DEFAULT_LEDGER_DIR;
  return isAbsolute(dir) ? dir : resolve(cwd, dir);
}

/** The drivers an experiment uses, so only their preflight checks run. */
export function driversUsed(loaded: LoadedExperiment, registry: DriverRegistry): Set<string> {
  const { experiment } = loaded;
  const names = new Set<string>(Object.keys(experiment.targets ?? {}));
  const add = (ref: string, kind: 'probe' | 'action') => names.add((kind === 'probe' ? registry.resolveProbe(ref) : registry.resolveAction(ref)).driver.name);
  for (const a of [...(experiment.setup ?? []), ...(experiment.teardown ?? [])]) 'probe' in a ? add(a.probe, 'probe') : add(a.action, 'action');
  for (const p of experiment.hypothesis?.probes ?? []) add(p.probe, 'probe');
  for (const s of experiment.method) s.probe !== undefined ? add(s.probe, 'probe') : add((s.fault ?? s.action)!, 'action');
  for (const r of experiment.rollbacks ?? []) add(r.action, 'action');
  for (const c of experiment.abort ?? []) if (c.probe !== undefined) add(c.probe, 'probe');
  return names;
}

/** Parses each driver's `targets.<name>` block with the driver's own schema. */
export function parseTargets(loaded: LoadedExperiment, registry: DriverRegistry): Map<string, unknown> {
  const targets = new Map<string, unknown>();
  for (const [name, raw] of Object.entries(loaded.experiment.targets ?? {})) {
    const driver = registry.get(name);
    targets.set(name, driver.target ? parseArgs(driver.target, raw, `targets.${name}`) : raw);
  }
  return targets;
}

interface LiveFault {
  record: FaultRecord;
  /** The driver's apply, awaited before undoing so an undo never overtakes a late apply. */
  applying: Promise<unknown>;
  undoing?: Promise<void>;
}

const APPLY_GRACE_MS = 10_000;

class ExperimentRun {
  private readonly clock: Clock;
  private readonly journal: Journal;
  private readonly ledger: Ledger;
  private readonly env: ActivityEnvironment;
  private readonly outputs = new Map<string, Output>();
  /** Aborted by an interrupt or the run timeout: stops everything except undo, rollbacks and teardown. */
  private readonly stopRun = new AbortController();
  private readonly live: LiveFault[] = [];
  /** What drivers set up for the run (see Driver.provision), undone after the teardown. */
  private readonly provisions: { ledgerId: string; name: string; targets: string[]; undo: UndoSpec }[] = [];
  private methodStart = 0;
  private workload: Workload | undefined;
  /** Where the workload's zero sits on the method's clock (negative: traffic started first). */
  private workloadOffsetMs = 0;
  private deviations: string[] = [];
  private runError: unknown;
  private interrupted = false;
  private aborted = false;
  private incomplete: string[] = [];

  constructor(private readonly options: RunOptions) {
    this.clock = options.clock ?? systemClock;
    const { loaded } = options;
    const started = this.clock.date();
    const runId = newRunId(started);
    const seed = options.seed ?? loaded.experiment.settings?.seed ?? drawSeed();
    this.ledger = new Ledger(options.ledgerDir ?? ledgerDirFor(options.cwd, loaded.experiment.settings?.ledgerDir));
    this.env = {
      registry: options.registry,
      cwd: options.cwd,
      env: options.env,
      runId,
      seed,
      clock: this.clock,
      targets: new Map(),
      outputs: this.outputs,
      ...(options.driverFlags ? { flags: options.driverFlags } : {}),
    };
    this.journal = {
      journalVersion: JOURNAL_VERSION,
      faultline: FAULTLINE_VERSION,
      runId,
      seed,
      experiment: {
        file: loaded.file,
        title: loaded.experiment.title,
        ...(loaded.experiment.description ? { description: loaded.experiment.description } : {}),
        tags: loaded.experiment.tags ?? [],
        source: loaded.source,
      },
      startedAt: started.toISOString(),
      endedAt: started.toISOString(),
      durationMs: 0,
      status: 'passed',
      reason: '',
      dryRun: false,
      rollbackStrategy: this.rollbackStrategy(),
      hypothesis: {},
      activities: [],
      faults: [],
      windows: [],
      verdicts: [],
      ledger: [],
    };
  }

  private rollbackStrategy(): RollbackStrategy {
    return this.options.rollbackStrategy ?? this.options.loaded.experiment.settings?.rollbackStrategy ?? 'default';
  }

  private emit(event: RunEvent): void {
    this.options.onEvent?.(redactSecrets(event, this.options.loaded.secretValues));
  }

  private phase(phase: Phase, title: string): void {
    this.emit({ type: 'phase', phase, title });
  }

  private record(record: ActivityRecord): ActivityRecord {
    this.journal.activities.push(record);
    this.emit({ type: 'activity', record });
    return record;
  }

  async run(): Promise<Journal> {
    const started = this.clock.now();
    const { signal } = this.options;
    const onInterrupt = () => {
      this.interrupted = true;
      this.stopRun.abort(new FaultlineError('E_INTERNAL', 'interrupted', { exit: 'interrupted' }));
    };
    if (signal?.aborted) onInterrupt();
    else signal?.addEventListener('abort', onInterrupt, { once: true });
    const timeoutMs = this.options.timeoutMs ?? this.options.loaded.experiment.settings?.timeout;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            const error = new FaultlineError('E_TIMEOUT', `the run exceeded its timeout of ${formatDuration(timeoutMs)}`, {
              hint: 'Raise --timeout or settings.timeout; faults were undone.',
            });
            this.runError ??= error;
            this.stopRun.abort(error);
          }, timeoutMs);

    let beforeMet = false;
    let methodCompleted = false;
    try {
      await this.refuseDirtyLedger();
      this.env.targets = parseTargets(this.options.loaded, this.options.registry);
      await this.provisionAll();
      await this.runSetup();
      await this.preflight();
      beforeMet = await this.checkHypothesis('before');
      if (beforeMet) methodCompleted = await this.runMethod();
      await this.undoAll();
      if (methodCompleted && !this.stopRun.signal.aborted && this.incomplete.length === 0) await this.checkHypothesis('after');
    } catch (error) {
      if (!this.stopRun.signal.aborted || !this.interrupted) this.runError ??= error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onInterrupt);
      await this.undoAll();
      await this.runRollbacks(beforeMet);
      await this.runTeardown();
      await this.releaseProvisions();
      await this.finish(started);
    }
    return redactSecrets(this.journal, this.options.loaded.secretValues);
  }

  private async refuseDirtyLedger(): Promise<void> {
    const open = await this.ledger.openEntries();
    if (open.length === 0) return;
    const list = open.map((e) => `${e.intent.action} on ${e.intent.targets.join(', ') || '?'} (run ${e.intent.runId})`).join('; ');
    if (this.options.ignoreLedger) {
      this.emit({ type: 'note', message: `the ledger still holds ${open.length} applied fault(s), left for \`faultline recover\`: ${list}` });
      return;
    }
    throw new FaultlineError('E_PREFLIGHT', `the ledger ${this.ledger.file} holds ${open.length} fault(s) still applied: ${list}`, {
      hint: 'Run `faultline recover` to undo them, or pass --force to start anyway.',
    });
  }

  private async runSetup(): Promise<void> {
    const setup = this.options.loaded.experiment.setup ?? [];
    if (setup.length === 0) return;
    this.phase('setup', 'Setup');
    for (const [index, activity] of setup.entries()) {
      const record = await this.runActivity(activity, 'setup', `setup-${index + 1}`, this.stopRun.signal);
      if (record.status !== 'succeeded') {
        throw new FaultlineError('E_DRIVER', `setup step "${record.name}" ${record.status}: ${record.error?.message ?? describeMisses(record)}`, {
          hint: 'Setup must succeed before any fault is injected; nothing was injected.',
        });
      }
    }
  }

  private async runTeardown(): Promise<void> {
    const teardown = this.options.loaded.experiment.teardown ?? [];
    if (teardown.length === 0) return;
    this.phase('teardown', 'Teardown');
    for (const [index, activity] of teardown.entries()) {
      // Teardown runs even after an interrupt, so it gets its own signal, bounded by each activity's timeout.
      const record = await this.runActivity(activity, 'teardown', `teardown-${index + 1}`, new AbortController().signal);
      if (record.status !== 'succeeded') this.runError ??= new FaultlineError('E_DRIVER', `teardown step "${record.name}" ${record.status}: ${record.error?.message ?? describeMisses(record)}`);
    }
  }

  private async runActivity(
    activity: NonNullable<LoadedExperiment['experiment']['setup']>[number],
    phase: Phase,
    key: string,
    signal: AbortSignal,
  ): Promise<ActivityRecord> {
    if ('probe' in activity) return this.runProbeSpec(activity, phase, key, signal);
    const name = activity.name ?? `action ${activity.action}`;
    this.emit({ type: 'activity-start', key, phase, kind: 'action', name });
    const { record, output } = await runAction(
      this.env,
      { key, phase, ref: activity.action, name, args: activity.with, timeoutMs: activity.timeout },
      signal,
    );
    if (output && activity.id) this.outputs.set(activity.id, output);
    return this.record(record);
  }

  private async runProbeSpec(probe: ProbeSpec | ProbeAbortSpec, phase: Phase, key: string, signal: AbortSignal): Promise<ActivityRecord> {
    const name = probe.name ?? `probe ${probe.probe}`;
    this.emit({ type: 'activity-start', key, phase, kind: 'probe', name });
    const record = await runProbe(
      this.env,
      {
        key,
        phase,
        ref: probe.probe,
        name,
        args: probe.with,
        timeoutMs: probe.timeout,
        expect: probe.expect,
        until: 'until' in probe ? probe.until : undefined,
      },
      signal,
    );
    if ('id' in probe && probe.id && record.output) this.outputs.set(probe.id, record.output as Output);
    return record;
  }

  private async preflight(): Promise<void> {
    const used = driversUsed(this.options.loaded, this.options.registry);
    const drivers = [...used].map((name) => this.options.registry.get(name)).filter((d) => d.preflight);
    if (drivers.length === 0) return;
    this.phase('preflight', 'Preflight');
    for (const driver of drivers) {
      await withDeadline(
        (signal) => driver.preflight!(driverContext(this.env, driver, signal, [])),
        DEFAULT_ACTION_TIMEOUT_MS,
        this.stopRun.signal,
        `preflight of ${driver.name}`,
      ).catch((error: unknown) => {
        throw new FaultlineError('E_PREFLIGHT', `preflight of ${driver.name} failed: ${errorMessage(error)}`, {
          cause: error,
          hint: error instanceof FaultlineError && error.hint ? error.hint : 'No fault was injected.',
        });
      });
    }
  }

  /** Provisions of the drivers used, before the setup: the system under test may need them when it starts. */
  private async provisionAll(): Promise<void> {
    for (const name of driversUsed(this.options.loaded, this.options.registry)) {
      const driver = this.options.registry.get(name);
      if (driver.provision) await this.provision(driver, driver.provision);
    }
  }

  /** Sets up what a driver's targets ask for (a managed server, declared objects), through the ledger like a fault. */
  private async provision(driver: Driver, definition: ProvisionDefinition): Promise<void> {
    const key = `provision-${driver.name}`;
    const name = `provision ${driver.name}`;
    const logs: string[] = [];
    const startedAt = this.clock.date();
    const started = this.clock.now();
    const activity: ActivityRecord = { key, phase: 'setup', kind: 'action', ref: `${driver.name}.provision`, name, startedAt: startedAt.toISOString(), endedAt: startedAt.toISOString(), durationMs: 0, status: 'succeeded' };
    const finish = (error?: unknown) => this.finishActivity(activity, started, logs, error);
    const fail = (error: unknown) => {
      finish(error);
      return new FaultlineError('E_PREFLIGHT', `${name} failed: ${errorMessage(error)}`, {
        cause: error,
        hint: error instanceof FaultlineError && error.hint ? error.hint : 'No fault was injected.',
      });
    };
    let prepared: PreparedAction | null;
    try {
      prepared = await withDeadline((s) => definition.prepare(driverContext(this.env, driver, s, logs)), DEFAULT_ACTION_TIMEOUT_MS, this.stopRun.signal, `preparing ${name}`);
    } catch (error) {
      throw fail(error);
    }
    if (prepared === null) return;
    this.phase('setup', `Provision (${driver.name})`);
    activity.targets = prepared.targets;
    const ledgerId = `${this.env.runId}/${key}`;
    const intent: LedgerIntent = { kind: 'intent', id: ledgerId, runId: this.env.runId, experiment: this.options.loaded.file, step: name, action: `${driver.name}.provision`, targets: prepared.targets, undo: prepared.undo, at: startedAt.toISOString() };
    await this.ledger.append(redactSecrets(intent, this.options.loaded.secretValues));
    // Listed before apply: a half-done apply is undone too (undos are idempotent).
    if (prepared.undo) this.provisions.push({ ledgerId, name, targets: prepared.targets, undo: prepared.undo });
    try {
      activity.output = await withDeadline((s) => definition.apply(prepared, driverContext(this.env, driver, s, logs)), DEFAULT_ACTION_TIMEOUT_MS, this.stopRun.signal, name);
      await this.ledger.append({ kind: 'applied', id: ledgerId, at: this.clock.date().toISOString() });
      finish();
    } catch (error) {
      await this.ledger.append({ kind: 'apply-failed', id: ledgerId, at: this.clock.date().toISOString(), error: errorMessage(error) });
      throw fail(error);
    }
  }

  /** Undoes the provisions, newest first, once nothing else needs them (after the teardown). */
  private async releaseProvisions(): Promise<void> {
    for (const provision of this.provisions.splice(0).reverse()) {
      if (this.options.keepFaults) {
        this.emit({ type: 'note', message: `${provision.name} kept with the faults (--keep-faults): \`faultline recover\` releases it` });
        continue;
      }
      await this.undoActivity(`undo-${provision.ledgerId.split('/').pop()}`, `undo ${provision.name}`, provision.undo, provision.targets, provision.ledgerId, provision.name);
    }
  }

  /** Checks the steady state; a miss makes the run deviated. */
  private async checkHypothesis(when: 'before' | 'after'): Promise<boolean> {
    const hypothesis = this.options.loaded.experiment.hypothesis;
    if (!hypothesis) return true;
    this.phase(when, `Steady state ${when}${hypothesis.title ? `: ${hypothesis.title}` : ''}`);
    const names: string[] = [];
    let met = true;
    for (const [index, probe] of hypothesis.probes.entries()) {
      const record = this.record(await this.runProbeSpec(probe, when, `${when}-${index + 1}`, this.stopRun.signal));
      names.push(record.name);
      if (record.status !== 'succeeded') {
        met = false;
        if (record.status !== 'cancelled') this.deviations.push(`steady state ${when}: ${record.name} ${record.status}: ${record.error?.message ?? describeMisses(record)}`);
      }
    }
    this.journal.hypothesis[when] = { met, probes: names };
    return met;
  }

  /** Returns true when the method ran to its planned end (no abort, interrupt or error). */
  private async runMethod(): Promise<boolean> {
    const schedule = scheduleMethod(this.options.loaded.experiment.method);
    this.phase('method', 'Method');
    const method = new AbortController();
    // Every scheduled step waits on this signal at once; their number is bounded by the experiment.
    setMaxListeners(0, method.signal);
    const stopMethod = (reason: unknown) => {
      if (!method.signal.aborted) method.abort(reason);
    };
    const onStop = () => stopMethod(this.stopRun.signal.reason);
    if (this.stopRun.signal.aborted) return false;
    this.stopRun.signal.addEventListener('abort', onStop, { once: true });
    const watchers = new AbortController();
    const spec = this.options.loaded.experiment.workload;
    try {
      if (spec) {
        this.workload = this.startWorkload(spec);
        // The baseline: traffic before any fault; cut short by an interrupt like everything else.
        await this.clock.sleep(spec.before, method.signal).catch(() => undefined);
      }
      if (method.signal.aborted) return false;
      this.methodStart = this.clock.now();
      this.journal.methodStartedAt = this.clock.date().toISOString();
      if (this.workload) this.workloadOffsetMs = -this.workload.elapsed();
      const watching = this.watch(watchers.signal, stopMethod);
      try {
        const finished = stepCompletions(schedule);
        await Promise.all(schedule.map((item) => this.runScheduled(item, method.signal, stopMethod, finished)));
      } finally {
        watchers.abort();
        await watching;
      }
      // Faults without an undo (a kill) stay in their window until the method ends.
      for (const live of this.live) if (live.record.status === 'irreversible') this.workload?.recorder.faultEnded(live.record.key, this.workload.elapsed());
      await this.undoAll();
      // The recovery window: traffic after every fault is gone.
      if (spec && !method.signal.aborted) await this.clock.sleep(spec.after, method.signal).catch(() => undefined);
    } finally {
      this.stopRun.signal.removeEventListener('abort', onStop);
      await this.stopWorkload(method.signal.aborted);
    }
    return !method.signal.aborted;
  }

  private startWorkload(spec: NonNullable<Experiment['workload']>): Workload {
    const workload = new Workload({
      url: spec.url,
      method: spec.method,
      headers: spec.headers ?? {},
      body: spec.body,
      timeoutMs: spec.timeout,
      rate: spec.rate,
      maxInFlight: spec.maxInFlight,
      concurrency: spec.concurrency,
      isSuccess: successRule(spec.success),
    });
    workload.start();
    this.emit({ type: 'note', message: `workload: ${spec.rate !== undefined ? `${spec.rate} req/s` : `${spec.concurrency} users`} → ${spec.method} ${spec.url}` });
    return workload;
  }

  /** Stops the traffic and writes its windows to the journal; safe to call twice. */
  private async stopWorkload(abandon: boolean): Promise<void> {
    const workload = this.workload;
    if (!workload) return;
    this.workload = undefined;
    await workload.stop(abandon);
    const { workload: record, windows } = workload.result(this.workloadOffsetMs);
    this.journal.workload = record;
    this.journal.windows = windows;
  }

  private elapsed(): number {
    return this.clock.now() - this.methodStart;
  }

  private async sleepUntil(offsetMs: number, signal: AbortSignal): Promise<void> {
    const wait = offsetMs - this.elapsed();
    if (wait > 0) await this.clock.sleep(wait, signal);
    else if (signal.aborted) throw signal.reason;
  }

  private async runScheduled(item: ScheduledStep, signal: AbortSignal, stopMethod: (reason: unknown) => void, finished: StepCompletions): Promise<void> {
    let marked = false;
    const markFinished = () => {
      if (!marked) finished.get(item.id)?.arrive();
      marked = true;
    };
    try {
      // `after: <id>`: not before that step has finished (a fault: has taken effect), whatever the clock says.
      if (item.step.after) await untilSettledOrAborted(finished.get(item.step.after)?.done, signal);
      await this.sleepUntil(item.startMs, signal);
      const delayMs = Math.max(0, this.elapsed() - item.startMs);
      if (item.kind === 'fault') {
        const fault = await this.applyFault(item, signal);
        markFinished();
        if (item.endMs !== undefined) {
          // A fault started late (after its `after` step) still lasts its whole duration.
          await this.sleepUntil(item.endMs + (item.step.after ? delayMs : 0), signal);
          await this.undoFault(fault);
        }
      } else if (item.kind === 'probe') {
        const record = this.record(await this.runProbeSpec({ ...item.step, probe: item.ref, name: item.name }, 'method', item.key, signal));
        if (record.status !== 'succeeded' && record.status !== 'cancelled') {
          this.deviations.push(`method probe ${record.name} ${record.status}: ${record.error?.message ?? describeMisses(record)}`);
        }
      } else {
        this.emit({ type: 'activity-start', key: item.key, phase: 'method', kind: 'action', name: item.name });
        const { record, output } = await runAction(
          this.env,
          { key: item.key, phase: 'method', ref: item.ref, name: item.name, args: item.step.with, timeoutMs: item.step.timeout },
          signal,
        );
        this.record(record);
        if (output) this.outputs.set(item.id, output);
        if (record.status === 'failed' || record.status === 'timeout') {
          throw new FaultlineError('E_DRIVER', `action ${record.name} ${record.status}: ${record.error?.message}`, record.error?.hint ? { hint: record.error.hint } : {});
        }
      }
      markFinished();
      if (item.step.pauses?.after) await this.clock.sleep(item.step.pauses.after, signal);
    } catch (error) {
      markFinished();
      if (signal.aborted) return; // cancelled by an abort, an interrupt or another step's failure
      this.runError ??= error;
      stopMethod(error);
    }
  }

  private async applyFault(item: ScheduledStep, signal: AbortSignal): Promise<LiveFault> {
    const { driver, ref, entry } = this.options.registry.resolveAction(item.ref);
    const logs: string[] = [];
    const startedAt = this.clock.date();
    const started = this.clock.now();
    this.emit({ type: 'activity-start', key: item.key, phase: 'method', kind: 'fault', name: item.name });
    const activity: ActivityRecord = {
      key: item.key,
      phase: 'method',
      kind: 'fault',
      ref,
      name: item.name,
      startedAt: startedAt.toISOString(),
      endedAt: startedAt.toISOString(),
      durationMs: 0,
      status: 'succeeded',
    };
    const finish = (error?: unknown) => this.finishActivity(activity, started, logs, error);
    let args: unknown;
    let prepared;
    try {
      const resolved = resolveStepReferences(item.step.with ?? {}, this.outputs, item.key);
      activity.args = resolved;
      args = parseArgs(entry.args, resolved, 'with');
      prepared = await withDeadline((s) => entry.prepare(args, driverContext(this.env, driver, s, logs)), DEFAULT_ACTION_TIMEOUT_MS, signal, `preparing ${item.name}`);
    } catch (error) {
      finish(error);
      throw error;
    }
    activity.targets = prepared.targets;
    const ledgerId = `${this.env.runId}/${item.key}`;
    const record: FaultRecord = {
      key: item.key,
      name: item.name,
      ref,
      ledgerId,
      targets: prepared.targets,
      undo: prepared.undo,
      scheduledAtMs: item.startMs,
      ...(item.endMs !== undefined ? { scheduledEndMs: item.endMs } : {}),
      status: 'applying',
    };
    const intent: LedgerIntent = {
      kind: 'intent',
      id: ledgerId,
      runId: this.env.runId,
      experiment: this.options.loaded.file,
      step: item.name,
      action: ref,
      targets: prepared.targets,
      undo: prepared.undo,
      at: startedAt.toISOString(),
    };
    // The promise: the undo is on disk before the fault is applied.
    await this.ledger.append(redactSecrets(intent, this.options.loaded.secretValues));
    this.journal.faults.push(record);
    const applying = entry.apply(args, prepared, driverContext(this.env, driver, signal, logs));
    const live: LiveFault = { record, applying };
    this.live.push(live);
    try {
      const output = await withDeadline(() => applying, item.step.timeout ?? DEFAULT_ACTION_TIMEOUT_MS, signal, `fault ${item.name}`);
      record.status = prepared.undo === null ? 'irreversible' : 'applied';
      record.appliedAt = this.clock.date().toISOString();
      record.appliedAtMs = Math.round(this.elapsed());
      this.workload?.recorder.faultApplied(record.key, record.name, this.workload.elapsed());
      record.output = output;
      activity.output = output;
      this.outputs.set(item.id, output);
      await this.ledger.append({ kind: 'applied', id: ledgerId, at: record.appliedAt });
      finish();
      this.emit({ type: 'fault', fault: record });
      return live;
    } catch (error) {
      record.status = prepared.undo === null ? 'irreversible' : 'apply-failed';
      record.error = toJournalError(error);
      await this.ledger.append({ kind: 'apply-failed', id: ledgerId, at: this.clock.date().toISOString(), error: errorMessage(error) });
      finish(error);
      this.emit({ type: 'fault', fault: record });
      throw new FaultlineError('E_DRIVER', `fault ${item.name} could not be applied: ${errorMessage(error)}`, {
        cause: error,
        hint: 'The run stops and undoes what it applied; a fault that did not take effect proves nothing.',
      });
    }
  }

  private undoFault(live: LiveFault): Promise<void> {
    live.undoing ??= this.performUndo(live);
    return live.undoing;
  }

  private async performUndo(live: LiveFault): Promise<void> {
    const { record } = live;
    // An apply that is still running could land after the undo and leave the fault behind.
    const grace = new AbortController();
    await Promise.race([live.applying.catch(() => undefined), this.clock.sleep(APPLY_GRACE_MS, grace.signal).catch(() => undefined)]);
    grace.abort(); // the grace timer must not hold the process open after the run
    if (record.undo === null) return;
    if (this.options.keepFaults) {
      record.status = 'kept';
      this.emit({ type: 'fault', fault: record });
      return;
    }
    const error = await this.undoActivity(`undo-${record.key}`, `undo ${record.name}`, record.undo, record.targets, record.ledgerId, record.name);
    if (error === undefined) {
      record.status = 'undone';
      record.undoneAt = this.clock.date().toISOString();
      record.undoneAtMs = Math.round(this.elapsed());
      this.workload?.recorder.faultEnded(record.key, this.workload.elapsed());
    } else {
      record.status = 'undo-failed';
      record.error = toJournalError(error);
    }
    this.emit({ type: 'fault', fault: record });
  }

  /** Runs one undo as a journaled activity and marks its ledger entry; returns the error when it failed. */
  private async undoActivity(key: string, name: string, undo: UndoSpec, targets: string[], ledgerId: string, label: string): Promise<unknown> {
    this.emit({ type: 'activity-start', key, phase: 'undo', kind: 'undo', name });
    const started = this.clock.now();
    const startedAt = this.clock.date().toISOString();
    const logs: string[] = [];
    const activity: ActivityRecord = { key, phase: 'undo', kind: 'undo', ref: `${undo.driver}.${undo.op}`, name, startedAt, endedAt: startedAt, durationMs: 0, status: 'succeeded', targets };
    let failure: unknown;
    try {
      await runUndo(this.env, undo, logs);
      await this.ledger.append({ kind: 'undone', id: ledgerId, at: this.clock.date().toISOString(), by: 'run', ...(logs.length > 0 ? { notes: redactSecrets([...logs], this.options.loaded.secretValues) } : {}) });
    } catch (error) {
      failure = error;
      activity.status = 'failed';
      activity.error = toJournalError(error);
      this.incomplete.push(`${label}: ${errorMessage(error)}`);
      await this.ledger.append({ kind: 'undo-failed', id: ledgerId, at: this.clock.date().toISOString(), error: errorMessage(error) }).catch(() => undefined);
    }
    this.finishActivity(activity, started, logs);
    return failure;
  }

  /** Closes an activity record (end, duration, logs, the error if any) and journals it. */
  private finishActivity(activity: ActivityRecord, started: number, logs: string[], error?: unknown): void {
    activity.endedAt = this.clock.date().toISOString();
    activity.durationMs = Math.round(this.clock.now() - started);
    if (logs.length > 0) activity.logs = logs;
    if (error !== undefined) {
      activity.status = 'failed';
      activity.error = toJournalError(error);
    }
    this.record(activity);
  }

  /** Undoes every live fault, newest first. */
  private async undoAll(): Promise<void> {
    for (const live of [...this.live].reverse()) await this.undoFault(live);
  }

  /** Abort conditions and the continuous steady state, while the method runs. */
  private async watch(stop: AbortSignal, stopMethod: (reason: unknown) => void): Promise<void> {
    const conditions = this.options.loaded.experiment.abort ?? [];
    const continuous = this.options.loaded.experiment.hypothesis?.continuous;
    const loops = conditions.map((condition, index) =>
      condition.probe !== undefined
        ? this.watchAbortCondition({ ...condition, probe: condition.probe }, index, stop, stopMethod)
        : this.watchWorkloadCondition(condition, index, stop, stopMethod),
    );
    if (continuous) loops.push(this.watchSteadyState(continuous.every, stop));
    await Promise.all(loops);
  }

  /** Yields every `every` ms until `stop` aborts; `stop` aborts when the method ends, so this is bounded. */
  private async *ticks(every: number, stop: AbortSignal): AsyncGenerator<void> {
    while (!stop.aborted) {
      try {
        await this.clock.sleep(every, stop);
      } catch {
        return;
      }
      yield;
    }
  }

  private async tripAbort(name: string, reason: string, misses: ToleranceMiss[], stopMethod: (reason: unknown) => void): Promise<void> {
    this.aborted = true;
    this.journal.abort = { condition: name, at: this.clock.date().toISOString(), misses };
    this.emit({ type: 'abort', condition: name, reason });
    stopMethod(new FaultlineError('E_INTERNAL', reason, { exit: 'aborted' }));
    // Undo at once rather than when the method's tasks have wound down.
    await this.undoAll();
  }

  /** An abort condition on the workload's figures: the error rate over the trailing seconds. */
  private async watchWorkloadCondition(condition: AbortSpec, index: number, stop: AbortSignal, stopMethod: (reason: unknown) => void): Promise<void> {
    const bound = condition.workload;
    if (!bound) return;
    const name = condition.name ?? `abort condition ${index + 1}`;
    for await (const _ of this.ticks(condition.every, stop)) {
      const recorder = this.workload?.recorder;
      if (!recorder) return;
      const recent = recorder.trailing(bound.over);
      // Judged only once a full span of seconds is in, on enough requests.
      if (recent.seconds * 1000 < bound.over || recent.requests < bound.minRequests) continue;
      const errorRate = (recent.requests - recent.ok) / recent.requests;
      if (errorRate <= bound.errorRate) continue;
      const reason = `${name} tripped: error rate ${formatRatio(errorRate)} (${recent.requests - recent.ok}/${recent.requests}) over the last ${formatDuration(recent.seconds * 1000)}, above ${formatRatio(bound.errorRate)}`;
      const miss: ToleranceMiss = { field: 'workload.errorRate', expected: `<= ${formatRatio(bound.errorRate)}`, actual: formatRatio(errorRate), message: reason };
      await this.tripAbort(name, reason, [miss], stopMethod);
      return;
    }
  }

  private async watchAbortCondition(condition: ProbeAbortSpec, index: number, stop: AbortSignal, stopMethod: (reason: unknown) => void): Promise<void> {
    let consecutive = 0;
    let checks = 0;
    const name = condition.name ?? `abort condition ${index + 1}`;
    for await (const _ of this.ticks(condition.every, stop)) {
      if (!this.live.some((l) => l.record.status === 'applied' || l.record.status === 'applying')) continue;
      checks += 1;
      const record = await this.runProbeSpec({ ...condition, name }, 'abort-check', `abort-${index + 1}-${checks}`, stop);
      if (record.status === 'cancelled') return;
      if (record.status === 'succeeded') {
        consecutive = 0;
        continue;
      }
      consecutive += 1;
      this.record(record);
      if (consecutive >= condition.failures) {
        const reason = `${name} tripped after ${consecutive} consecutive miss(es): ${record.error?.message ?? describeMisses(record)}`;
        await this.tripAbort(name, reason, record.misses ?? [], stopMethod);
        return;
      }
    }
  }

  private async watchSteadyState(every: number, stop: AbortSignal): Promise<void> {
    const probes = this.options.loaded.experiment.hypothesis?.probes ?? [];
    const during = (this.journal.hypothesis.during = { checks: 0, misses: 0 });
    for await (const _ of this.ticks(every, stop)) {
      for (const [index, probe] of probes.entries()) {
        const record = await this.runProbeSpec({ ...probe, until: undefined }, 'during', `during-${during.checks + 1}-${index + 1}`, stop);
        if (record.status === 'cancelled') return;
        during.checks += 1;
        this.record(record);
        if (record.status !== 'succeeded') {
          during.misses += 1;
          this.deviations.push(`steady state during the method: ${record.name} ${record.status}: ${record.error?.message ?? describeMisses(record)}`);
        }
      }
    }
  }

  private shouldRollBack(beforeMet: boolean): boolean {
    switch (this.rollbackStrategy()) {
      case 'never':
        return false;
      case 'always':
        return true;
      case 'deviated':
        return this.deviations.length > 0 && beforeMet;
      default:
        // As Chaos Toolkit: roll back unless the system was not in its steady state to begin with.
        return beforeMet;
    }
  }

  private async runRollbacks(beforeMet: boolean): Promise<void> {
    const rollbacks = this.options.loaded.experiment.rollbacks ?? [];
    if (rollbacks.length === 0 || !this.shouldRollBack(beforeMet)) return;
    this.phase('rollback', 'Rollbacks');
    for (const [index, action] of rollbacks.entries()) {
      const key = `rollback-${index + 1}`;
      const record = await this.runActivity(action, 'rollback', key, new AbortController().signal);
      if (record.status !== 'succeeded') this.incomplete.push(`rollback ${record.name}: ${record.error?.message ?? record.status}`);
    }
  }

  private async finish(started: number): Promise<void> {
    const journal = this.journal;
    journal.endedAt = this.clock.date().toISOString();
    journal.durationMs = Math.round(this.clock.now() - started);
    const runIds = new Set([this.env.runId]);
    try {
      await this.ledger.close();
      journal.ledger = (await this.ledger.entries()).filter((e) => runIds.has(e.intent.runId));
      await this.ledger.compact();
    } catch (error) {
      this.incomplete.push(`ledger: ${errorMessage(error)}`);
    }
    journal.verdicts = evaluateVerdicts(this.options.loaded.experiment.verdicts, journal);
    const [status, reason] = this.verdict();
    journal.status = status;
    journal.reason = reason;
    if (this.runError !== undefined) journal.error = toJournalError(this.runError);
  }

  private verdict(): [RunStatus, string] {
    if (this.incomplete.length > 0) return ['rollback-incomplete', `not everything was undone: ${this.incomplete.join('; ')}. Run \`faultline recover\`.`];
    if (this.interrupted) return ['interrupted', 'interrupted; faults were undone'];
    if (this.runError !== undefined) return ['failed', errorMessage(this.runError)];
    if (this.aborted) return ['aborted', `aborted: ${this.journal.abort?.condition ?? 'abort condition'} tripped; faults were undone`];
    // A verdict that failed, or that the run could not exercise, keeps the run from passing.
    const unmet = this.journal.verdicts
      .filter((v) => v.result !== 'pass')
      .map((v) => `${v.name} ${v.result === 'fail' ? 'did not hold' : 'was not exercised'}: ${v.evidence.summary}`);
    const deviations = [...unmet, ...this.deviations];
    if (deviations.length > 0) {
      // The journal lists every miss; the one-line reason names the first few.
      const shown = deviations.slice(0, 3).join('; ');
      const more = deviations.length - 3;
      return ['deviated', more > 0 ? `${shown}; and ${more} more (see the journal)` : shown];
    }
    const kept = this.journal.faults.filter((f) => f.status === 'kept').length;
    const held = this.journal.verdicts.length > 0 ? `the steady state held and ${this.journal.verdicts.map((v) => v.name).join(', ')} held` : 'the steady state held';
    return ['passed', kept > 0 ? `${held}; ${kept} fault(s) kept in place (--keep-faults): run \`faultline recover\`` : held];
  }
}

/** Per step id: resolved once every occurrence of the step has finished, for steps that start `after` it. */
type StepCompletions = Map<string, { done: Promise<void>; arrive: () => void }>;

function stepCompletions(schedule: readonly ScheduledStep[]): StepCompletions {
  const completions: StepCompletions = new Map();
  for (const id of new Set(schedule.map((item) => item.id))) {
    let remaining = schedule.filter((item) => item.id === id).length;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    completions.set(id, { done, arrive: () => (--remaining === 0 ? resolve() : undefined) });
  }
  return completions;
}

async function untilSettledOrAborted(promise: Promise<void> | undefined, signal: AbortSignal): Promise<void> {
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

export async function runExperiment(options: RunOptions): Promise<Journal> {
  return new ExperimentRun(options).run();
}

