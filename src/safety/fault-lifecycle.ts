// The one fault lifecycle, for faults and for provisions alike: prepare → ledger intent (flushed) →
// apply → applied / apply-failed → undo → undone / undo-failed. Every ledger record of a run is written
// here and passes the redaction policy on the way, so no call site can forget it.
import type { PreparedAction, UndoSpec } from '../drivers/types.js';
import { abortReason, type Clock } from '../core/clock.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import { redactSecrets } from '../engine/journal.js';
import { withDeadline } from '../engine/activity.js';
import type { Ledger, LedgerRecord } from './ledger.js';
import { runUndo, type UndoEnvironment } from './undo.js';

/** How long an undo waits for a still-running apply before it goes ahead anyway. */
export const APPLY_GRACE_MS = 10_000;

/** What the ledger says about a fault or provision besides its undo. */
export interface FaultIntent {
  /** Unique within the run; the ledger id is `<runId>/<key>`. */
  key: string;
  /** The step's name as the experiment gives it. */
  step: string;
  /** `driver.action`. */
  action: string;
  at: Date;
}

/** A fault or provision whose intent is on disk: from here on, it is undone on every path out. */
export interface HeldFault {
  readonly ledgerId: string;
  readonly targets: string[];
  readonly undo: UndoSpec | null;
  /** The driver's apply; an undo waits for it so it never overtakes a late apply. Never rejects. */
  applying: Promise<void>;
  undoing?: Promise<UndoOutcome>;
}

export interface UndoOutcome {
  /** Undefined when the undo succeeded (or there was nothing to undo). */
  error?: unknown;
  logs: string[];
}

export interface FaultLifecycleOptions {
  ledger: Ledger;
  runId: string;
  /** The experiment file, as the ledger names it for `recover`. */
  experiment: string;
  secretValues: readonly string[];
  clock: Clock;
  undoEnv: UndoEnvironment;
}

export class FaultLifecycle {
  constructor(private readonly options: FaultLifecycleOptions) {}

  get ledger(): Ledger {
    return this.options.ledger;
  }

  /** The redaction policy: what leaves the process holds no secret value. */
  redact<T>(value: T): T {
    return redactSecrets(value, this.options.secretValues);
  }

  /** The only way a run writes to the ledger. */
  private write(record: LedgerRecord): Promise<void> {
    return this.options.ledger.append(this.redact(record));
  }

  private now(): string {
    return this.options.clock.date().toISOString();
  }

  /** Resolves what a fault would hit and how to undo it, bounded by a deadline and the run's signal. */
  prepare<P extends PreparedAction | null>(work: (signal: AbortSignal) => Promise<P>, timeoutMs: number, signal: AbortSignal, what: string): Promise<P> {
    return withDeadline(work, timeoutMs, signal, what);
  }

  /** Writes the intent, flushed: the undo is on disk before anything is applied. */
  async intend(intent: FaultIntent, prepared: PreparedAction): Promise<HeldFault> {
    const ledgerId = `${this.options.runId}/${intent.key}`;
    await this.write({
      kind: 'intent',
      id: ledgerId,
      runId: this.options.runId,
      experiment: this.options.experiment,
      step: intent.step,
      action: intent.action,
      targets: prepared.targets,
      undo: prepared.undo,
      at: intent.at.toISOString(),
    });
    return { ledgerId, targets: prepared.targets, undo: prepared.undo, applying: Promise.resolve() };
  }

  /**
   * Applies a held fault under a deadline and the run's signal, and records the outcome. An apply is
   * never started once the signal has aborted, and its promise always has a handler attached, so a
   * driver that rejects late cannot crash the process with an unhandled rejection.
   */
  async apply<T>(held: HeldFault, work: (signal: AbortSignal) => Promise<T>, timeoutMs: number, signal: AbortSignal, what: string): Promise<T> {
    try {
      if (signal.aborted) throw abortReason(signal);
      // An undo that already began must not be overtaken by the apply it was meant to follow.
      if (held.undoing) throw new FaultlineError('E_INTERNAL', `${what} was not applied: its undo had already begun`);
      const started = work(signal);
      held.applying = started.then(
        () => undefined,
        () => undefined,
      );
      const output = await withDeadline(() => started, timeoutMs, signal, what);
      await this.write({ kind: 'applied', id: held.ledgerId, at: this.now() });
      return output;
    } catch (error) {
      await this.write({ kind: 'apply-failed', id: held.ledgerId, at: this.now(), error: errorMessage(error) }).catch(() => undefined);
      throw error;
    }
  }

  /** Undoes a held fault once (later calls share the first), after its apply settled or its grace ran out. */
  undo(held: HeldFault): Promise<UndoOutcome> {
    held.undoing ??= this.performUndo(held);
    return held.undoing;
  }

  /** Waits until the fault's apply settled, or its grace ran out: an apply still running could land after the undo. */
  async settled(held: HeldFault): Promise<void> {
    const grace = new AbortController();
    await Promise.race([held.applying, this.options.clock.sleep(APPLY_GRACE_MS, grace.signal).catch(() => undefined)]);
    grace.abort(); // the grace timer must not hold the process open after the run
  }

  private async performUndo(held: HeldFault): Promise<UndoOutcome> {
    await this.settled(held);
    const logs: string[] = [];
    if (held.undo === null) return { logs };
    try {
      await runUndo(this.options.undoEnv, held.undo, logs);
      await this.write({ kind: 'undone', id: held.ledgerId, at: this.now(), by: 'run', ...(logs.length > 0 ? { notes: [...logs] } : {}) });
      return { logs };
    } catch (error) {
      await this.write({ kind: 'undo-failed', id: held.ledgerId, at: this.now(), error: errorMessage(error) }).catch(() => undefined);
      return { error, logs };
    }
  }
}
