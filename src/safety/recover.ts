// `faultline recover`: from a new process, undo every fault the ledger still holds as applied.
// Idempotent: running it twice, or on faults that were never really applied, is harmless.
import type { DriverRegistry } from '../drivers/registry.js';
import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { Ledger, now, type LedgerEntry } from './ledger.js';
import { runUndo } from './undo.js';

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
  result: 'undone' | 'failed' | 'would-undo';
  error?: string;
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
  return { ledger: ledger.file, entries, clean: entries.every((e) => e.result === 'undone') };
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
  if (options.dryRun) return result;
  try {
    await runUndo(
      { registry: options.registry, cwd: options.cwd, env: options.env, runId: entry.intent.runId, clock: options.clock ?? systemClock, targets: new Map() },
      undo,
      result.logs,
    );
    await ledger.append({ kind: 'undone', id: entry.intent.id, at: now(), by: 'recover', ...(result.logs.length > 0 ? { notes: [...result.logs] } : {}) });
    result.result = 'undone';
  } catch (error) {
    result.result = 'failed';
    result.error = errorMessage(error);
    await ledger.append({ kind: 'undo-failed', id: entry.intent.id, at: now(), error: errorMessage(error) });
  }
  return result;
}
