// The fault ledger: an append-only, fsynced JSON-lines file under .faultline/ that records every fault
// *before* it is applied, with its undo as data. Whatever happens to the process that applied a fault,
// a later process can read this file and undo what is still applied (`faultline recover`).
import { open, readFile, stat, truncate } from 'node:fs/promises';
import { makeDirectory } from '../core/make-dir.js';
import { isMapping } from '../core/mapping.js';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FaultlineError, errorMessage } from '../core/errors.js';
import type { UndoSpec } from '../drivers/types.js';
import { ownerAlive, processAlive, withLock, type ProcessOwner } from './ledger-lock.js';
import type { SecretSource } from './secret-references.js';

export const LEDGER_FILE = 'ledger.jsonl';

/** The first record of a fault, written and flushed before the fault is applied. */
export interface LedgerIntent {
  kind: 'intent';
  id: string;
  runId: string;
  experiment: string;
  step: string;
  action: string;
  targets: string[];
  undo: UndoSpec | null;
  at: string;
  /** The run's process: while it lives, its faults are its own to undo (recover and other runs leave them). */
  owner?: ProcessOwner;
  /** When the guardian undoes it even though the run still lives (the fault's ttl). */
  expiresAt?: string;
  /** Where each `${secrets.<name>}` in this record comes from; the values themselves are never written. */
  secrets?: Record<string, SecretSource>;
}

export type LedgerRecord =
  | LedgerIntent
  | { kind: 'applied'; id: string; at: string }
  | { kind: 'apply-failed'; id: string; at: string; error: string }
  /** `notes`: what the undo found, such as a target already gone, so the ledger says why nothing was done. */
  | { kind: 'undone'; id: string; at: string; by: 'run' | 'recover' | 'guardian'; notes?: string[] }
  | { kind: 'undo-failed'; id: string; at: string; error: string }
  /** `recover` or the guardian takes a fault before undoing it, so two of them never undo it at once. */
  | { kind: 'claimed'; id: string; at: string; by: 'recover' | 'guardian'; pid: number };

export type LedgerEntryState = 'applying' | 'applied' | 'apply-failed' | 'undone' | 'undo-failed' | 'irreversible';

/** One fault, folded from its records. */
export interface LedgerEntry {
  intent: LedgerIntent;
  state: LedgerEntryState;
  appliedAt?: string;
  undoneAt?: string;
  /** What the undo reported (a target that vanished before it, say). */
  notes?: string[];
  errors: string[];
  /** The last process that took it for undoing; a claim by a live process is respected. */
  claim?: { by: 'recover' | 'guardian'; pid: number; at: string };
}

export type ClaimResult = 'claimed' | 'settled' | 'missing' | { heldBy: 'recover' | 'guardian'; pid: number };

/** An entry still needs undoing unless it was undone or has nothing to undo. */
export function needsUndo(entry: LedgerEntry): boolean {
  return entry.intent.undo !== null && entry.state !== 'undone';
}

/** An entry whose run still lives: that run undoes it (or its guardian, at its ttl). */
export function heldByLiveRun(entry: LedgerEntry): boolean {
  const owner = entry.intent.owner;
  return owner !== undefined && owner.pid !== process.pid && ownerAlive(owner);
}

export function foldLedger(records: LedgerRecord[]): LedgerEntry[] {
  const entries = new Map<string, LedgerEntry>();
  for (const record of records) {
    if (record.kind === 'intent') {
      entries.set(record.id, { intent: record, state: 'applying', errors: [] });
      continue;
    }
    const entry = entries.get(record.id);
    if (!entry) continue; // a record whose intent was lost cannot be acted on; the intent is what holds the undo
    switch (record.kind) {
      case 'applied':
        entry.state = entry.intent.undo === null ? 'irreversible' : 'applied';
        entry.appliedAt = record.at;
        break;
      case 'apply-failed':
        // A failed apply may have half-happened; the undo still runs (undos are idempotent).
        entry.state = entry.intent.undo === null ? 'irreversible' : 'apply-failed';
        entry.errors.push(record.error);
        break;
      case 'undone':
        entry.state = 'undone';
        entry.undoneAt = record.at;
        if (record.notes?.length) entry.notes = record.notes;
        break;
      case 'undo-failed':
        entry.state = 'undo-failed';
        entry.errors.push(record.error);
        break;
      case 'claimed':
        entry.claim = { by: record.by, pid: record.pid, at: record.at };
        break;
    }
  }
  return [...entries.values()];
}

const DAMAGED_HINT = 'The ledger was edited or corrupted. Check the faults it lists by hand before deleting it.';

const isText = (value: unknown): value is string => typeof value === 'string';
const isTextList = (value: unknown): boolean => Array.isArray(value) && value.every(isText);

/**
 * Why a parsed line is not a record faultline writes, or undefined when it is one. Checked by hand,
 * not with a schema library: the guardian reads the ledger too and must start fast.
 */
export function recordProblem(value: unknown): string | undefined {
  if (!isMapping(value)) return 'not a JSON object';
  if (!isText(value.id) || value.id === '') return 'no "id"';
  if (!isText(value.at)) return 'no "at" time';
  switch (value.kind) {
    case 'intent': {
      for (const key of ['runId', 'experiment', 'step', 'action'] as const) if (!isText(value[key])) return `"${key}" is not text`;
      if (!isTextList(value.targets)) return '"targets" is not a list of text';
      const undo = value.undo;
      if (undo !== null && !(isMapping(undo) && isText(undo.driver) && isText(undo.op) && isMapping(undo.args))) return '"undo" is neither null nor { driver, op, args }';
      if (value.owner !== undefined && !(isMapping(value.owner) && Number.isInteger(value.owner.pid))) return '"owner" has no whole-number pid';
      if (value.expiresAt !== undefined && !isText(value.expiresAt)) return '"expiresAt" is not text';
      if (value.secrets !== undefined && !isMapping(value.secrets)) return '"secrets" is not a mapping';
      return undefined;
    }
    case 'applied':
      return undefined;
    case 'apply-failed':
    case 'undo-failed':
      return isText(value.error) ? undefined : '"error" is not text';
    case 'undone':
      if (!['run', 'recover', 'guardian'].includes(value.by as string)) return '"by" is not run, recover or guardian';
      return value.notes === undefined || isTextList(value.notes) ? undefined : '"notes" is not a list of text';
    case 'claimed':
      if (!['recover', 'guardian'].includes(value.by as string)) return '"by" is not recover or guardian';
      return Number.isInteger(value.pid) ? undefined : '"pid" is not a whole number';
    default:
      return `unknown kind ${JSON.stringify(value.kind)}`;
  }
}

/** Reads a ledger file; a torn last line (the writer was killed mid-write) is ignored, anything else is an error. */
export function parseLedger(text: string, file: string): LedgerRecord[] {
  const lines = text.split('\n');
  const records: LedgerRecord[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const isLast = lines.slice(index + 1).every((rest) => rest.trim() === '');
      if (isLast) return;
      throw new FaultlineError('E_LEDGER', `${file}:${index + 1}: unreadable ledger record: ${errorMessage(error)}`, { hint: DAMAGED_HINT, exit: 'invalidInput' });
    }
    // A whole line that parses is never torn: a record that is not in shape was written by something else.
    const problem = recordProblem(value);
    if (problem) throw new FaultlineError('E_LEDGER', `${file}:${index + 1}: not a ledger record faultline writes: ${problem}`, { hint: DAMAGED_HINT, exit: 'invalidInput' });
    records.push(value as LedgerRecord);
  });
  return records;
}

export class Ledger {
  readonly dir: string;
  readonly file: string;
  readonly lockFile: string;
  private handle: FileHandle | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private dirMade = false;

  constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, LEDGER_FILE);
    this.lockFile = `${this.file}.lock`;
  }

  async entries(): Promise<LedgerEntry[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new FaultlineError('E_LEDGER', `cannot read the ledger ${this.file}: ${errorMessage(error)}`, { cause: error });
    }
    return foldLedger(parseLedger(text, this.file));
  }

  async openEntries(): Promise<LedgerEntry[]> {
    return (await this.entries()).filter(needsUndo);
  }

  /** Serialises this process's ledger work, and takes the folder's lock for it (see ledger-lock.ts). */
  private locked<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(async () => {
      if (!this.dirMade) await makeDirectory(this.dir);
      this.dirMade = true;
      return withLock(this.lockFile, work);
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async write(record: LedgerRecord): Promise<void> {
    // O_APPEND: every write lands at the end of the file as it is now, even after another process compacted it.
    this.handle ??= await open(this.file, 'a');
    await this.handle.write(`${JSON.stringify(record)}\n`);
    await this.handle.sync();
  }

  /** Appends a record and waits until it is on disk. Appends never interleave, in this process or another. */
  append(record: LedgerRecord): Promise<void> {
    return this.locked(() => this.write(record)).catch((error: unknown) => {
      if (error instanceof FaultlineError && error.code === 'E_LEDGER') throw error;
      throw new FaultlineError('E_LEDGER', `cannot write the ledger ${this.file}: ${errorMessage(error)}`, {
        cause: error,
        hint: 'No fault is applied without its ledger record; check the disk and the folder permissions.',
      });
    });
  }

  /**
   * Takes an entry for undoing: `claimed` when this process may undo it now; `settled` when nothing is
   * left to undo; `heldBy` when another live process (recover or a guardian) is undoing it.
   */
  claim(id: string, by: 'recover' | 'guardian'): Promise<ClaimResult> {
    return this.locked(async () => {
      const entry = (await this.entries()).find((e) => e.intent.id === id);
      if (!entry) return 'missing';
      if (!needsUndo(entry)) return 'settled';
      const { claim } = entry;
      if (claim && claim.pid !== process.pid && processAlive(claim.pid)) return { heldBy: claim.by, pid: claim.pid };
      await this.write({ kind: 'claimed', id, at: new Date().toISOString(), by, pid: process.pid });
      return 'claimed';
    });
  }

  /**
   * Drops settled history once nothing needs undoing, so the file does not grow without end. Under the
   * lock, so no record another process appends can fall between the check and the truncation.
   */
  async compact(): Promise<void> {
    // No ledger file, nothing to drop: and a folder that was never made is not made now.
    if (!(await stat(this.file).catch(() => undefined))) return this.close();
    await this.locked(async () => {
      const entries = await this.entries();
      if (entries.length === 0 || entries.some(needsUndo)) return;
      await truncate(this.file, 0);
    });
    await this.close();
  }

  async close(): Promise<void> {
    await this.queue;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
