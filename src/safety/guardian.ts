// The dead-man switch: a small process a run starts (detached) when it applies its first fault. It
// outlives the run: when the run dies without saying it is done (kill -9, out of memory, its session
// closed), the guardian undoes what the ledger still holds for that run, with no human; and it undoes
// any fault whose ttl has passed even while the run lives (a hung run). It claims each entry before
// undoing, so it and `faultline recover` never undo the same fault twice.
//
// Started as `node dist/safety/guardian.js '<json>'`. Only node built-ins and the ledger are loaded at
// start, so it watches within milliseconds; the drivers load in the background while the run is alive.
import { appendFileSync, rmSync } from 'node:fs';
import { makeDirectorySync } from '../core/make-dir.js';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger, needsUndo, type LedgerEntry } from './ledger.js';
import { ownerAlive, type ProcessOwner } from './ledger-lock.js';

export interface GuardianArgs {
  ledgerDir: string;
  runId: string;
  cwd: string;
  run: ProcessOwner;
}

/** How often the guardian looks at the run and the ledger; the pipe from the run reports a death sooner. */
const POLL_MS = 200;
/** After the run died, failed undos are tried again this long (an engine briefly unreachable), then left to `recover`. */
const RETRY_FOR_MS = 5 * 60_000;
const RETRY_EVERY_MS = 2_000;

type Undoer = (entry: LedgerEntry) => Promise<{ result: 'undone' | 'failed'; error?: string }>;

async function loadUndoer(args: GuardianArgs, ledger: Ledger): Promise<Undoer> {
  // Loaded after the watch has begun: these modules take a while, the pipe and the ledger do not.
  const [{ createDefaultRegistry }, { claimAndUndo }, { systemClock }] = await Promise.all([
    import('../drivers/builtin.js'),
    import('./fault-lifecycle.js'),
    import('../core/clock.js'),
  ]);
  const registry = await createDefaultRegistry();
  return async (entry) => {
    const env = { registry, cwd: args.cwd, env: process.env, runId: entry.intent.runId, clock: systemClock, targets: new Map() };
    const { result, outcome } = await claimAndUndo(ledger, entry, env, 'guardian');
    return outcome.error === undefined ? { result } : { result, error: outcome.error instanceof Error ? outcome.error.message : String(outcome.error) };
  };
}

export async function guard(args: GuardianArgs, input: NodeJS.ReadableStream | undefined): Promise<number> {
  const ledger = new Ledger(args.ledgerDir);
  const logFile = join(args.ledgerDir, `guardian-${args.runId}.log`);
  let acted = false;
  makeDirectorySync(args.ledgerDir);
  const log = (message: string) => {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} ${message}\n`);
    } catch {
      // A log that cannot be written must not stop the undo.
    }
  };
  const loading = Date.now();
  const undoer = loadUndoer(args, ledger);
  undoer.then(() => log(`ready: the drivers loaded in ${Date.now() - loading} ms`), () => undefined);
  undoer.catch((error: unknown) => log(`cannot load the drivers: ${error instanceof Error ? error.message : String(error)}`));
  let done = false;
  let dead = false;
  let wake: (() => void) | undefined;
  const poke = () => wake?.();
  input?.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('done')) {
      done = true;
      poke();
    }
  });
  // The run holds the other end of this pipe: it closes when the run exits, however it exits.
  input?.on('end', () => {
    if (!done) dead = true;
    poke();
  });
  input?.on('error', () => {
    if (!done) dead = true;
    poke();
  });
  const ours = async (): Promise<LedgerEntry[]> => (await ledger.entries()).filter((e) => e.intent.runId === args.runId && needsUndo(e)).reverse();
  let deadSince: number | undefined;
  const failing = new Map<string, number>();
  for (;;) {
    if (done) {
      // A run that ended on its own leaves no guardian log behind unless the guardian undid something.
      if (acted) log('the run finished');
      else rmSync(logFile, { force: true });
      return 0;
    }
    if (!dead && !ownerAlive(args.run)) dead = true;
    const now = Date.now();
    let open: LedgerEntry[] = [];
    try {
      open = await ours();
    } catch (error) {
      log(`cannot read the ledger: ${error instanceof Error ? error.message : String(error)}`);
    }
    // Dead: everything of the run. Alive: only what outlived its ttl.
    const due = open.filter((e) => dead || (e.intent.expiresAt !== undefined && Date.parse(e.intent.expiresAt) <= now));
    if (dead) {
      deadSince ??= now;
      if (open.length === 0) {
        log('the run died; nothing of it is left applied');
        await ledger.close();
        return 0;
      }
      if (now - deadSince > RETRY_FOR_MS) {
        log(`giving up after ${RETRY_FOR_MS / 1000} s: ${open.length} fault(s) still applied; run \`faultline recover\``);
        await ledger.close();
        return 1;
      }
    }
    for (const entry of due) {
      if ((failing.get(entry.intent.id) ?? 0) > now) continue;
      const undo = await undoer;
      const reason = dead ? 'the run died' : `its ttl passed (${entry.intent.expiresAt})`;
      acted = true;
      const { result, error } = await undo(entry);
      log(`${result} ${entry.intent.action} on ${entry.intent.targets.join(', ')} (${reason})${error ? `: ${error}` : ''}`);
      if (result === 'failed') failing.set(entry.intent.id, Date.now() + RETRY_EVERY_MS);
    }
    // Sleep until the next poll, or sooner when the pipe says something.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, POLL_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
  }
}

// Run as a script (not when imported by a test).
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  // A closed terminal session must not take the guardian with it.
  process.on('SIGHUP', () => undefined);
  const args = JSON.parse(process.argv[2] ?? '{}') as GuardianArgs;
  guard(args, process.stdin).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
