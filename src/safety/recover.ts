// `faultline recover`: from a new process, undo every fault the ledger still holds as applied.
// Idempotent: running it twice, or on faults that were never really applied, is harmless.
import type { DriverRegistry } from '../drivers/registry.js';
import { systemClock, type Clock } from '../core/clock.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import { claimAndUndo } from './fault-lifecycle.js';
import { heldByLiveRun, Ledger, type LedgerEntry } from './ledger.js';

export interface RecoverOptions {
  ledgerDir: string;
  registry: DriverRegistry;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  /** List what would be undone without undoing it. */
  dryRun?: boolean;
}

export interface RecoveredEntry {
  id: string;
  action: string;
  targets: string[];
  undo: string;
  /** `running`: the run that applied it still lives and undoes it itself; recover leaves it. */
  result: 'undone' | 'failed' | 'would-undo' | 'running';
  error?: string;
  /** What to do about the failure, such as how to provide a secret the undo needs. */
  hint?: string;
  /** The failure is the user's to fix (a secret not set): `recover` exits 2. */
  needsInput?: boolean;
  logs: string[];
}

export interface RecoverReport {
  ledger: string;
  entries: RecoveredEntry[];
  /** True when nothing is left to undo. */
  clean: boolean;
}

export async function recover(options: RecoverOptions): Promise<RecoverReport> {
  const ledger = new Ledger(options.ledgerDir);
  const open = await ledger.openEntries();
  const entries: RecoveredEntry[] = [];
  // Newest first, as a run would have undone them.
  for (const entry of [...open].reverse()) entries.push(await recoverEntry(entry, ledger, options));
  await ledger.close();
  if (!options.dryRun) await ledger.compact();
  return { ledger: ledger.file, entries, clean: entries.every((e) => e.result === 'undone' || e.result === 'running') };
}

async function recoverEntry(entry: LedgerEntry, ledger: Ledger, options: RecoverOptions): Promise<RecoveredEntry> {
  const undo = entry.intent.undo!;
  const result: RecoveredEntry = {
    id: entry.intent.id,
    action: entry.intent.action,
    targets: entry.intent.targets,
    undo: `${undo.driver}.${undo.op}`,
    result: 'would-undo',
    logs: [],
  };
  if (heldByLiveRun(entry)) {
    result.result = 'running';
    result.logs.push(`its run (pid ${entry.intent.owner!.pid}) is still running and undoes it itself`);
    return result;
  }
  if (options.dryRun) return result;
  const env = { registry: options.registry, cwd: options.cwd, env: options.env, runId: entry.intent.runId, clock: options.clock ?? systemClock, targets: new Map() };
  const { result: done, outcome } = await claimAndUndo(ledger, entry, env, 'recover');
  result.logs = outcome.logs;
  result.result = done;
  if (outcome.error !== undefined) {
    result.error = errorMessage(outcome.error);
    if (outcome.error instanceof FaultlineError) {
      if (outcome.error.hint) result.hint = outcome.error.hint;
      // A secret that cannot be read is the user's to provide: exit 2, as for any input.
      if (outcome.error.code === 'E_INPUT') result.needsInput = true;
    }
  }
  return result;
}
