// The fault ledger: an append-only, fsynced JSON-lines file under .faultline/ that records every fault
// *before* it is applied, with its undo as data. Whatever happens to the process that applied a fault,
// a later process can read this file and undo what is still applied (`faultline recover`).
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FaultlineError, errorMessage } from '../core/errors.js';
import type { UndoSpec } from '../drivers/types.js';

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
}

export type LedgerRecord =
  | LedgerIntent
  | { kind: 'applied'; id: string; at: string }
  | { kind: 'apply-failed'; id: string; at: string; error: string }
  /** `notes`: what the undo found, such as a target already gone, so the ledger says why nothing was done. */
  | { kind: 'undone'; id: string; at: string; by: 'run' | 'recover'; notes?: string[] }
  | { kind: 'undo-failed'; id: string; at: string; error: string };

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
}

/** An entry still needs undoing unless it was undone or has nothing to undo. */
export function needsUndo(entry: LedgerEntry): boolean {
  return entry.intent.undo !== null && entry.state !== 'undone';
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
    }
  }
  return [...entries.values()];
}

/** Reads a ledger file; a torn last line (the writer was killed mid-write) is ignored, anything else is an error. */
export function parseLedger(text: string, file: string): LedgerRecord[] {
  const lines = text.split('\n');
  const records: LedgerRecord[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as LedgerRecord);
    } catch (error) {
      const isLast = lines.slice(index + 1).every((rest) => rest.trim() === '');
      if (isLast) return;
      throw new FaultlineError('E_LEDGER', `${file}:${index + 1}: unreadable ledger record: ${errorMessage(error)}`, {
        hint: 'The ledger was edited or corrupted. Check the faults it lists by hand before deleting it.',
      });
    }
  });
  return records;
}

export class Ledger {
  readonly dir: string;
  readonly file: string;
  private handle: FileHandle | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, LEDGER_FILE);
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

  /** Appends a record and waits until it is on disk. Appends are serialised so records never interleave. */
  append(record: LedgerRecord): Promise<void> {
    const write = this.queue.then(async () => {
      if (!this.handle) {
        await mkdir(this.dir, { recursive: true });
        this.handle = await open(this.file, 'a');
      }
      await this.handle.write(`${JSON.stringify(record)}\n`);
      await this.handle.sync();
    });
    this.queue = write.catch(() => undefined);
    return write.catch((error: unknown) => {
      throw new FaultlineError('E_LEDGER', `cannot write the ledger ${this.file}: ${errorMessage(error)}`, {
        cause: error,
        hint: 'No fault is applied without its ledger record; check the disk and the folder permissions.',
      });
    });
  }

  /**
   * Drops settled history once nothing needs undoing, so the file does not grow without end.
   * Written to a temporary file and renamed, so a crash leaves either the old or the new ledger.
   */
  async compact(): Promise<void> {
    await this.close();
    const entries = await this.entries();
    if (entries.length === 0 || entries.some(needsUndo)) return;
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, '');
    await rename(temporary, this.file);
  }

  async close(): Promise<void> {
    await this.queue;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

export function now(): string {
  return new Date().toISOString();
}
