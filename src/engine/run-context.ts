// What the parts of one run share: the options, the journal being written, the run's abort signal,
// the fault lifecycle, and the activity services (events, probes and actions recorded in the journal).
// The phases (run.ts), the method's scheduler (method.ts), the watchers (watchers.ts) and the faults
// (faults.ts) all work through one RunContext.
import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import type { DriverRegistry } from '../drivers/registry.js';
import type { DriverOptionValues, Output } from '../drivers/types.js';
import type { LoadedExperiment } from '../experiment/load.js';
import type { ProbeAbortSpec, ProbeSpec, RollbackStrategy } from '../experiment/schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { FaultLifecycle } from '../safety/fault-lifecycle.js';
import { Ledger } from '../safety/ledger.js';
import { FAULTLINE_VERSION } from '../version.js';
import { runAction, runProbe, toJournalError, type ActivityEnvironment } from './activity.js';
import { plannedMethodLength, scheduleMethod } from './timeline.js';
import { JOURNAL_VERSION, type ActivityRecord, type FaultRecord, type Journal, type Phase } from './journal.js';
import type { RunningWorkload, WorkloadSecond } from '../workload/types.js';

export type RunEvent =
  | { type: 'phase'; phase: Phase; title: string }
  | { type: 'activity-start'; key: string; phase: Phase; kind: ActivityRecord['kind']; name: string }
  | { type: 'activity'; record: ActivityRecord }
  | { type: 'fault'; fault: FaultRecord }
  | { type: 'abort'; condition: string; reason: string }
  | { type: 'note'; message: string }
  /** One second of the workload's traffic, as soon as it is over: for live progress. */
  | { type: 'workload'; second: WorkloadSecond };

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
  /** Values of the drivers' own command-line options, by driver name (`--context` for kubernetes). */
  driverOptions?: ReadonlyMap<string, DriverOptionValues>;
  /** Start the dead-man switch with the first fault (needs the built guardian script; the CLI's default). */
  guardian?: boolean;
  onEvent?: (event: RunEvent) => void;
  /** The folder journals are written to: `notify` compares verdicts with the previous run's there. */
  journalDir?: string;
}

export const DEFAULT_LEDGER_DIR = '.faultline';
/** Without settings.ttl, faults may stay applied this long beyond the planned method. */
export const DEFAULT_TTL_SLACK_MS = 10 * 60_000;

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

export { describeMisses } from './journal.js';

/** A setup, teardown or rollback step: a probe or an action. */
export type StepActivity = NonNullable<LoadedExperiment['experiment']['setup']>[number];

export class RunContext {
  readonly clock: Clock;
  readonly journal: Journal;
  readonly env: ActivityEnvironment;
  readonly outputs = new Map<string, Output>();
  readonly lifecycle: FaultLifecycle;
  /** Aborted by an interrupt or the run timeout: stops everything except undo, rollbacks and teardown. */
  readonly stopRun = new AbortController();
  /** Steady-state and method-probe misses, in the order they happened. */
  readonly deviations: string[] = [];
  /** Undos and rollbacks that failed. */
  readonly incomplete: string[] = [];
  runError: unknown;
  interrupted = false;
  aborted = false;
  /** The method's zero on the run's clock. */
  methodStart = 0;
  workload: RunningWorkload | undefined;
  /** Wall-clock ms past which no fault may stay applied (settings.ttl); the guardian enforces it. */
  readonly ttlDeadline: number;

  constructor(readonly options: RunOptions) {
    this.clock = options.clock ?? systemClock;
    const { loaded } = options;
    const started = this.clock.date();
    const runId = newRunId(started);
    const seed = options.seed ?? loaded.experiment.settings?.seed ?? drawSeed();
    this.env = {
      registry: options.registry,
      cwd: options.cwd,
      env: options.env,
      runId,
      seed,
      clock: this.clock,
      targets: new Map(),
      outputs: this.outputs,
      ...(options.driverOptions ? { driverOptions: options.driverOptions } : {}),
    };
    this.lifecycle = new FaultLifecycle({
      ledger: new Ledger(options.ledgerDir ?? ledgerDirFor(options.cwd, loaded.experiment.settings?.ledgerDir)),
      runId,
      experiment: loaded.file,
      secrets: loaded.secrets,
      clock: this.clock,
      undoEnv: this.env,
      // Faults kept on purpose must outlive the run: no dead-man switch then.
      guardian: Boolean(options.guardian) && !options.keepFaults,
      onGuardian: (pid) =>
        this.emit({ type: 'note', message: pid === undefined ? 'no guardian could be started: after a kill -9, run `faultline recover`' : `guardian (pid ${pid}) watches this run: if it dies, its faults are undone` }),
    });
    const planned = plannedMethodLength(scheduleMethod(loaded.experiment.method)) + (loaded.experiment.workload ? loaded.experiment.workload.before + loaded.experiment.workload.after : 0);
    this.ttlDeadline = this.clock.date().getTime() + (loaded.experiment.settings?.ttl ?? planned + DEFAULT_TTL_SLACK_MS);
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

  get experiment(): LoadedExperiment['experiment'] {
    return this.options.loaded.experiment;
  }

  rollbackStrategy(): RollbackStrategy {
    return this.options.rollbackStrategy ?? this.experiment.settings?.rollbackStrategy ?? 'default';
  }

  emit(event: RunEvent): void {
    this.options.onEvent?.(this.lifecycle.redact(event));
  }

  phase(phase: Phase, title: string): void {
    this.emit({ type: 'phase', phase, title });
  }

  record(record: ActivityRecord): ActivityRecord {
    this.journal.activities.push(record);
    this.emit({ type: 'activity', record });
    return record;
  }

  /** When a fault applied now must be undone at the latest: its own ttl, within the run's. */
  expiresAt(ttlMs: number | undefined): Date {
    const now = this.clock.date().getTime();
    return new Date(Math.min(this.ttlDeadline, ttlMs === undefined ? Infinity : now + ttlMs));
  }

  /** Milliseconds since the method started. */
  elapsed(): number {
    return this.clock.now() - this.methodStart;
  }

  /** Runs a setup, teardown or rollback step; an action is journaled. */
  async runActivity(activity: StepActivity, phase: Phase, key: string, signal: AbortSignal): Promise<ActivityRecord> {
    if ('probe' in activity) return this.runProbeSpec(activity, phase, key, signal);
    const name = activity.name ?? `action ${activity.action}`;
    this.emit({ type: 'activity-start', key, phase, kind: 'action', name });
    const { record, output } = await runAction(this.env, { key, phase, ref: activity.action, name, args: activity.with, timeoutMs: activity.timeout }, signal);
    if (output && activity.id) this.outputs.set(activity.id, output);
    return this.record(record);
  }

  /** Runs a probe; the caller decides whether it is journaled (an abort check that passed is not). */
  async runProbeSpec(probe: ProbeSpec | ProbeAbortSpec, phase: Phase, key: string, signal: AbortSignal): Promise<ActivityRecord> {
    const name = probe.name ?? `probe ${probe.probe}`;
    this.emit({ type: 'activity-start', key, phase, kind: 'probe', name });
    const record = await runProbe(
      this.env,
      { key, phase, ref: probe.probe, name, args: probe.with, timeoutMs: probe.timeout, expect: probe.expect, until: 'until' in probe ? probe.until : undefined },
      signal,
    );
    if ('id' in probe && probe.id && record.output) this.outputs.set(probe.id, record.output as Output);
    return record;
  }

  /** Closes an activity record (end, duration, logs, the error if any) and journals it. */
  finishActivity(activity: ActivityRecord, started: number, logs: string[], error?: unknown): void {
    activity.endedAt = this.clock.date().toISOString();
    activity.durationMs = Math.round(this.clock.now() - started);
    if (logs.length > 0) activity.logs = logs;
    if (error !== undefined) {
      activity.status = 'failed';
      activity.error = toJournalError(error);
    }
    this.record(activity);
  }
}
