// The one fault lifecycle, for faults and for provisions alike: prepare → ledger intent (flushed) →
// apply → applied / apply-failed → undo → undone / undo-failed. Every ledger record of a run is written
// here and passes the redaction policy on the way, so no call site can forget it.
import type { PreparedAction, UndoSpec } from '../drivers/types.js';
import { abortReason, type Clock } from '../core/clock.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import { redactSecrets } from '../engine/journal.js';
import { withDeadline } from '../engine/activity.js';
import type { Ledger, LedgerEntry, LedgerRecord } from './ledger.js';
import { currentOwner } from './ledger-lock.js';
import { startGuardian, type GuardianHandle } from './guardian-process.js';
import { referToSecrets, resolveSecretReferences, type KnownSecret, type SecretSource } from './secret-references.js';
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
  /** The fault's ttl, as a moment: the guardian undoes it then even if the run still lives. */
  expiresAt?: Date;
}

/** A fault or provision whose intent is on disk: from here on, it is undone on every path out. */
export interface HeldFault {
  readonly ledgerId: string;
  readonly targets: string[];
  /** As the ledger holds it: secrets as `${secrets.<name>}` references, resolved when it runs. */
  readonly undo: UndoSpec | null;
  readonly secrets: Record<string, SecretSource>;
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
  secrets: readonly KnownSecret[];
  clock: Clock;
  undoEnv: UndoEnvironment;
  /** Start the dead-man switch (guardian.ts) before the first intent is written. */
  guardian?: boolean;
  /** Told when the guardian starts (its pid), for the run's notes. */
  onGuardian?: (pid: number | undefined) => void;
}

export class FaultLifecycle {
  private readonly owner = currentOwner();
  private guardian: GuardianHandle | undefined;

  constructor(private readonly options: FaultLifecycleOptions) {}

  get ledger(): Ledger {
    return this.options.ledger;
  }

  /** The redaction policy for what a person reads (events, the journal): every secret value becomes `***`. */
  redact<T>(value: T): T {
    return redactSecrets(
      value,
      this.options.secrets.map((s) => s.value),
    );
  }

  /** The only way a run writes to the ledger: through the ledger's secret policy. */
  private write(record: LedgerRecord): Promise<Record<string, SecretSource>> {
    return writeLedgerRecord(this.options.ledger, record, this.options.secrets);
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
    if (prepared.undo !== null) this.arm();
    const ledgerId = `${this.options.runId}/${intent.key}`;
    const secrets = await this.write({
      kind: 'intent',
      id: ledgerId,
      runId: this.options.runId,
      experiment: this.options.experiment,
      step: intent.step,
      action: intent.action,
      targets: prepared.targets,
      undo: prepared.undo,
      at: intent.at.toISOString(),
      owner: this.owner,
      ...(intent.expiresAt ? { expiresAt: intent.expiresAt.toISOString() } : {}),
    });
    // The run undoes from what the ledger holds, resolved as `recover` would: one path for both.
    const undo = referToSecrets(prepared.undo, this.options.secrets).value;
    return { ledgerId, targets: prepared.targets, undo, secrets, applying: Promise.resolve() };
  }

  /**
   * Starts the guardian, once, if the run wants one. The first intent does it at the latest; the run
   * calls it at its start, so the guardian has loaded the drivers by the time a fault is applied.
   */
  arm(): void {
    if (!this.options.guardian || this.guardian) return;
    const { ledger, runId, undoEnv } = this.options;
    this.guardian = startGuardian({ ledgerDir: ledger.dir, runId, cwd: undoEnv.cwd, run: this.owner }, undoEnv.env) ?? { pid: undefined, finished: () => undefined };
    this.options.onGuardian?.(this.guardian.pid);
  }

  /** The run has undone what it applied (or keeps it on purpose): the guardian leaves. */
  finished(): void {
    this.guardian?.finished();
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

  /**
   * Closes the intent of a fault that was never applied (prepared ahead of an instant the run did not
   * reach, or prepared again): nothing to undo, so it is recorded as settled, with why. An apply is
   * refused from here on, as after an undo.
   */
  withdraw(held: HeldFault, reason: string): Promise<UndoOutcome> {
    held.undoing ??= this.write({ kind: 'undone', id: held.ledgerId, at: this.now(), by: 'run', notes: [`never applied: ${reason}`] }).then(
      () => ({ logs: [] }),
      (error: unknown) => ({ error, logs: [] }),
    );
    return held.undoing;
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
    if (held.undo === null) return { logs: [] };
    return undoLedgerEntry(this.options.ledger, { id: held.ledgerId, undo: held.undo, secrets: held.secrets }, this.options.undoEnv, 'run');
  }
}

/**
 * The ledger's secret policy, for every record anyone writes (the run, `recover`, the guardian): each
 * secret value becomes a `${secrets.<name>}` reference, and an intent lists where those secrets come
 * from. Neither the value nor `***` is ever written. Returns the sources referred to.
 */
export async function writeLedgerRecord(ledger: Ledger, record: LedgerRecord, secrets: readonly KnownSecret[]): Promise<Record<string, SecretSource>> {
  const { value, sources } = referToSecrets(record, secrets);
  const written = value.kind === 'intent' && Object.keys(sources).length > 0 ? { ...value, secrets: { ...value.secrets, ...sources } } : value;
  await ledger.append(written);
  return sources;
}

/**
 * Undoes one ledger entry and records the result: its secret references resolved from their sources
 * (the same way for the run, `recover` and the guardian), what the undo logged or the error it met
 * written back under the same policy.
 */
export async function undoLedgerEntry(
  ledger: Ledger,
  entry: { id: string; undo: UndoSpec; secrets: Readonly<Record<string, SecretSource>> | undefined },
  env: UndoEnvironment,
  by: 'run' | 'recover' | 'guardian',
): Promise<UndoOutcome> {
  const logs: string[] = [];
  let known: KnownSecret[] = [];
  try {
    const resolved = await resolveSecretReferences(entry.undo, entry.secrets, env.env);
    known = resolved.secrets;
    await runUndo(env, resolved.value, logs);
    await writeLedgerRecord(ledger, { kind: 'undone', id: entry.id, at: new Date().toISOString(), by, ...(logs.length > 0 ? { notes: [...logs] } : {}) }, known);
    return { logs: referToSecrets(logs, known).value };
  } catch (error) {
    const message = referToSecrets(errorMessage(error), known).value;
    await writeLedgerRecord(ledger, { kind: 'undo-failed', id: entry.id, at: new Date().toISOString(), error: message }, known).catch(() => undefined);
    return { error, logs: referToSecrets(logs, known).value };
  }
}

/** How long `recover` or a guardian waits for another process that is undoing the same entry. */
const CLAIM_WAIT_MS = 60_000;

export type ClaimedUndo = { result: 'undone' | 'failed'; by: string; outcome: UndoOutcome };

/**
 * Undoes a ledger entry on behalf of `recover` or a guardian, which never undo the same fault twice:
 * the entry is claimed under the ledger's lock first. When another live process holds the claim, this
 * waits (bounded) until that one has finished and reports its result.
 */
export async function claimAndUndo(ledger: Ledger, entry: LedgerEntry, env: UndoEnvironment, by: 'recover' | 'guardian'): Promise<ClaimedUndo> {
  const deadline = Date.now() + CLAIM_WAIT_MS;
  for (;;) {
    const claim = await ledger.claim(entry.intent.id, by);
    if (claim === 'claimed') {
      const outcome = await undoLedgerEntry(ledger, { id: entry.intent.id, undo: entry.intent.undo!, secrets: entry.intent.secrets }, env, by);
      return { result: outcome.error === undefined ? 'undone' : 'failed', by, outcome };
    }
    if (claim === 'settled' || claim === 'missing') {
      const now = (await ledger.entries()).find((e) => e.intent.id === entry.intent.id);
      const other = now?.claim ? `the ${now.claim.by} (pid ${now.claim.pid})` : 'another process';
      return { result: 'undone', by: other, outcome: { logs: [`already undone by ${other}`] } };
    }
    if (Date.now() > deadline) {
      const error = new FaultlineError('E_LEDGER', `the ${claim.heldBy} (pid ${claim.pid}) is still undoing this fault after ${CLAIM_WAIT_MS / 1000} s`, {
        hint: 'Run `faultline recover` again once it has finished.',
      });
      return { result: 'failed', by, outcome: { error, logs: [] } };
    }
    // Bounded by the deadline above.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
