// A lock file beside the ledger, so processes sharing a ledger folder (two runs, a run and `recover`,
// the guardian) never lose a record: appends, compaction and claims happen under it. Created with
// O_EXCL and holding the owner's pid; a lock whose owner is dead (killed mid-append) is taken over.
// Held for milliseconds at a time: an undo itself never runs under it.
import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { FaultlineError, errorMessage } from '../core/errors.js';

/** A live owner holds the lock for milliseconds; one holding it this long is hung and is taken over. */
const STALE_MS = 10_000;
const WAIT_LIMIT_MS = 15_000;

/** True when a process with this pid exists (on this machine). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Which process owns something in the ledger: its pid and, where /proc exists, its start time (pids are reused). */
export interface ProcessOwner {
  pid: number;
  startTime?: number;
}

function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const value = Number(fields[19]);
    return Number.isInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function currentOwner(): ProcessOwner {
  const startTime = startTimeOf(process.pid);
  return startTime === undefined ? { pid: process.pid } : { pid: process.pid, startTime };
}

/** True while the owning process still runs (the same process, not a later one given its pid). */
export function ownerAlive(owner: ProcessOwner): boolean {
  if (!processAlive(owner.pid)) return false;
  if (owner.startTime === undefined) return true;
  const now = startTimeOf(owner.pid);
  return now === undefined || now === owner.startTime;
}

/**
 * What holds the lock file now: `gone` when it vanished (its owner released it: try again, and never
 * unlink, or the next owner's fresh lock would go), `stale` when its owner died or hung, else `held`.
 */
async function lockState(path: string): Promise<'gone' | 'stale' | 'held'> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const pid = Number.parseInt(text, 10);
    const old = Date.now() - info.mtimeMs > STALE_MS;
    // An empty file is a lock being written right now, unless it is old.
    if (text.trim() === '') return old ? 'stale' : 'held';
    return !processAlive(pid) || old ? 'stale' : 'held';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'held';
  }
}

async function acquire(path: string): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new FaultlineError('E_LEDGER', `cannot lock the ledger (${path}): ${errorMessage(error)}`, { cause: error, hint: 'Check the folder\'s permissions.' });
      }
    }
    const state = await lockState(path);
    if (state === 'gone' && Date.now() <= deadline) continue;
    if (state === 'stale') {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new FaultlineError('E_LEDGER', `the ledger lock ${path} is held by another process for more than ${WAIT_LIMIT_MS / 1000} s`, {
        hint: 'Another faultline process is using this ledger folder. If none is running, delete the lock file.',
      });
    }
    // Bounded by the deadline above; the jitter keeps two waiters from retrying in step.
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 + attempt) + Math.random() * 5));
  }
}

/** Runs `work` holding the lock at `path`. */
export async function withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  await acquire(path);
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
