// The engine, in its phase order: ledger check → provisions → setup → preflight → steady state before →
// method (see method.ts; watchers.ts beside it) → undo → steady state after → rollbacks → teardown →
// provisions released → outcome (outcome.ts). Every fault and provision goes through the one fault
// lifecycle (src/safety/fault-lifecycle.ts): in the ledger before it is applied, undone on every path out.
import { FaultlineError, errorMessage } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import { evaluateVerdicts } from '../verdicts/evaluate.js';
import { DEFAULT_ACTION_TIMEOUT_MS, driverContext, toJournalError, withDeadline } from './activity.js';
import { RunFaults } from './faults.js';
import type { Journal } from './journal.js';
import { MethodScheduler } from './method.js';
import { decideOutcome, shouldRollBack } from './outcome.js';
import { describeMisses, RunContext, type RunEvent, type RunOptions } from './run-context.js';
import { driversUsed, parseTargets } from './targets.js';
import { readVerdictMetrics } from './metric-readings.js';
import { Notifier } from './notify.js';
import type { PrometheusTarget } from '../drivers/prometheus/client.js';
import { systemClock } from '../core/clock.js';
import { heldByLiveRun } from '../safety/ledger.js';

export { DEFAULT_LEDGER_DIR, describeMisses, drawSeed, ledgerDirFor, newRunId, type RunEvent, type RunOptions } from './run-context.js';
export { driversUsed, parseTargets } from './targets.js';

class ExperimentRun {
  private readonly run: RunContext;
  private readonly faults: RunFaults;

  private readonly notifier: Notifier;

  constructor(options: RunOptions) {
    this.notifier = new Notifier({
      specs: options.loaded.experiment.notify ?? [],
      secrets: options.loaded.secretValues,
      clock: options.clock ?? systemClock,
      ...(options.journalDir ? { journalDir: options.journalDir } : {}),
    });
    // The abort webhook rides on the abort event, so the watchers need not know about webhooks.
    const onEvent = (event: RunEvent) => {
      options.onEvent?.(event);
      if (event.type === 'abort') this.notifier.abort(this.run.journal, event.condition, event.reason);
    };
    this.run = new RunContext({ ...options, onEvent });
    this.faults = new RunFaults(this.run);
  }

  async execute(): Promise<Journal> {
    const { run, faults } = this;
    const started = run.clock.now();
    const { signal } = run.options;
    const onInterrupt = () => {
      run.interrupted = true;
      run.stopRun.abort(new FaultlineError('E_INTERNAL', 'interrupted', { exit: 'interrupted' }));
    };
    if (signal?.aborted) onInterrupt();
    else signal?.addEventListener('abort', onInterrupt, { once: true });
    const timer = this.startTimeout();
    let beforeMet = false;
    let methodCompleted = false;
    this.notifier.start(run.journal);
    try {
      await this.refuseDirtyLedger();
      run.env.targets = parseTargets(run.options.loaded, run.options.registry);
      run.lifecycle.arm();
      await this.provisionAll();
      await this.runSetup();
      await this.preflight();
      beforeMet = await this.checkHypothesis('before');
      if (beforeMet) methodCompleted = await new MethodScheduler(run, faults).runMethod();
      await faults.undoAll();
      if (methodCompleted && !run.stopRun.signal.aborted && run.incomplete.length === 0) await this.checkHypothesis('after');
    } catch (error) {
      if (!run.stopRun.signal.aborted || !run.interrupted) run.runError ??= error;
    } finally {
      clearTimeout(timer);
      await faults.undoAll();
      await this.readMetrics();
      await this.runRollbacks(beforeMet);
      await this.runTeardown();
      await faults.releaseProvisions();
      // Listened to until here: an interrupt during the teardown makes the run interrupted, as the exit code says.
      signal?.removeEventListener('abort', onInterrupt);
      await this.finish(started);
      const sent = await this.notifier.end(run.journal);
      if (sent.length > 0) run.journal.notifications = sent;
    }
    return run.lifecycle.redact(run.journal);
  }

  /** The Prometheus samples metric verdicts are judged on, read once the faults are undone (metric-readings.ts). */
  private async readMetrics(): Promise<void> {
    const { run } = this;
    const readings = await readVerdictMetrics(run.experiment.verdicts, run.journal, {
      target: run.env.targets.get('prometheus') as PrometheusTarget | undefined,
      cwd: run.options.cwd,
      clock: run.clock,
      // Bounded by the verdicts' windows and objectives; an interrupt cuts it short.
      signal: run.options.signal ?? new AbortController().signal,
    });
    if (readings.length > 0) run.journal.metrics = readings;
  }

  private startTimeout(): NodeJS.Timeout | undefined {
    const { run } = this;
    const timeoutMs = run.options.timeoutMs ?? run.experiment.settings?.timeout;
    if (timeoutMs === undefined) return undefined;
    return setTimeout(() => {
      const error = new FaultlineError('E_TIMEOUT', `the run exceeded its timeout of ${formatDuration(timeoutMs)}`, {
        hint: 'Raise --timeout or settings.timeout; faults were undone.',
      });
      run.runError ??= error;
      run.stopRun.abort(error);
    }, timeoutMs);
  }

  private async refuseDirtyLedger(): Promise<void> {
    const { ledger } = this.run.lifecycle;
    // Faults of another run that is still going are that run's to undo: two runs may share a ledger folder.
    const open = (await ledger.openEntries()).filter((e) => !heldByLiveRun(e));
    if (open.length === 0) return;
    const list = open.map((e) => `${e.intent.action} on ${e.intent.targets.join(', ') || '?'} (run ${e.intent.runId})`).join('; ');
    if (this.run.options.ignoreLedger) {
      this.run.emit({ type: 'note', message: `the ledger still holds ${open.length} applied fault(s), left for \`faultline recover\`: ${list}` });
      return;
    }
    throw new FaultlineError('E_PREFLIGHT', `the ledger ${ledger.file} holds ${open.length} fault(s) still applied: ${list}`, {
      hint: 'Run `faultline recover` to undo them, or pass --force to start anyway.',
    });
  }

  /** Provisions of the drivers used, before the setup: the system under test may need them when it starts. */
  private async provisionAll(): Promise<void> {
    const { registry, loaded } = this.run.options;
    for (const name of driversUsed(loaded, registry)) {
      const driver = registry.get(name);
      if (driver.provision) await this.faults.provision(driver, driver.provision);
    }
  }

  private async runSetup(): Promise<void> {
    const setup = this.run.experiment.setup ?? [];
    if (setup.length === 0) return;
    this.run.phase('setup', 'Setup');
    for (const [index, activity] of setup.entries()) {
      const record = await this.run.runActivity(activity, 'setup', `setup-${index + 1}`, this.run.stopRun.signal);
      if (record.status !== 'succeeded') {
        throw new FaultlineError('E_DRIVER', `setup step "${record.name}" ${record.status}: ${record.error?.message ?? describeMisses(record)}`, {
          hint: 'Setup must succeed before any fault is injected; nothing was injected.',
        });
      }
    }
  }

  private async preflight(): Promise<void> {
    const { run } = this;
    const drivers = [...driversUsed(run.options.loaded, run.options.registry)].map((name) => run.options.registry.get(name)).filter((d) => d.preflight);
    if (drivers.length === 0) return;
    run.phase('preflight', 'Preflight');
    for (const driver of drivers) {
      await withDeadline((signal) => driver.preflight!(driverContext(run.env, driver, signal, [])), DEFAULT_ACTION_TIMEOUT_MS, run.stopRun.signal, `preflight of ${driver.name}`).catch(
        (error: unknown) => {
          throw new FaultlineError('E_PREFLIGHT', `preflight of ${driver.name} failed: ${errorMessage(error)}`, {
            cause: error,
            hint: error instanceof FaultlineError && error.hint ? error.hint : 'No fault was injected.',
          });
        },
      );
    }
  }

  /** Checks the steady state; a miss makes the run deviated. */
  private async checkHypothesis(when: 'before' | 'after'): Promise<boolean> {
    const { run } = this;
    const hypothesis = run.experiment.hypothesis;
    if (!hypothesis) return true;
    run.phase(when, `Steady state ${when}${hypothesis.title ? `: ${hypothesis.title}` : ''}`);
    const names: string[] = [];
    let met = true;
    for (const [index, probe] of hypothesis.probes.entries()) {
      const record = run.record(await run.runProbeSpec(probe, when, `${when}-${index + 1}`, run.stopRun.signal));
      names.push(record.name);
      if (record.status !== 'succeeded') {
        met = false;
        if (record.status !== 'cancelled') run.deviations.push(`steady state ${when}: ${record.name} ${record.status}: ${record.error?.message ?? describeMisses(record)}`);
      }
    }
    run.journal.hypothesis[when] = { met, probes: names };
    return met;
  }

  private async runRollbacks(beforeMet: boolean): Promise<void> {
    const { run } = this;
    const rollbacks = run.experiment.rollbacks ?? [];
    if (rollbacks.length === 0 || !shouldRollBack(run.rollbackStrategy(), beforeMet, run.deviations.length > 0)) return;
    run.phase('rollback', 'Rollbacks');
    for (const [index, action] of rollbacks.entries()) {
      // Rollbacks run even after an interrupt, so each gets its own signal, bounded by its timeout.
      const record = await run.runActivity(action, 'rollback', `rollback-${index + 1}`, new AbortController().signal);
      if (record.status !== 'succeeded') run.incomplete.push(`rollback ${record.name}: ${record.error?.message ?? record.status}`);
    }
  }

  private async runTeardown(): Promise<void> {
    const { run } = this;
    const teardown = run.experiment.teardown ?? [];
    if (teardown.length === 0) return;
    run.phase('teardown', 'Teardown');
    for (const [index, activity] of teardown.entries()) {
      // Teardown runs even after an interrupt, so it gets its own signal, bounded by each activity's timeout.
      const record = await run.runActivity(activity, 'teardown', `teardown-${index + 1}`, new AbortController().signal);
      if (record.status !== 'succeeded') run.runError ??= new FaultlineError('E_DRIVER', `teardown step "${record.name}" ${record.status}: ${record.error?.message ?? describeMisses(record)}`);
    }
  }

  private async finish(started: number): Promise<void> {
    const { run } = this;
    const { journal, lifecycle } = run;
    journal.endedAt = run.clock.date().toISOString();
    journal.durationMs = Math.round(run.clock.now() - started);
    try {
      await lifecycle.ledger.close();
      journal.ledger = (await lifecycle.ledger.entries()).filter((e) => e.intent.runId === run.env.runId);
      await lifecycle.ledger.compact();
    } catch (error) {
      run.incomplete.push(`ledger: ${errorMessage(error)}`);
    }
    lifecycle.finished();
    journal.verdicts = evaluateVerdicts(run.experiment.verdicts, journal);
    const { status, reason } = decideOutcome({
      incomplete: run.incomplete,
      interrupted: run.interrupted,
      ...(run.runError !== undefined ? { runError: errorMessage(run.runError) } : {}),
      ...(run.aborted ? { abortedBy: journal.abort?.condition ?? 'abort condition' } : {}),
      verdicts: journal.verdicts,
      deviations: run.deviations,
      keptFaults: journal.faults.filter((f) => f.status === 'kept').length,
    });
    journal.status = status;
    journal.reason = reason;
    if (run.runError !== undefined) journal.error = toJournalError(run.runError);
  }
}

export async function runExperiment(options: RunOptions): Promise<Journal> {
  return new ExperimentRun(options).execute();
}
