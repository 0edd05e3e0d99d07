// Two-stage interrupt: the first SIGINT/SIGTERM aborts the run, which still undoes its faults; a second
// exits at once with the interrupted code and leaves the ledger for `faultline recover`.
// Also the handler that exists before anything else is loaded: bin/faultline.js installs it first, so a
// signal during the seconds of module loading ends the process with the interrupted code and a message,
// never by the default action. This file imports only the exit codes, so it loads in milliseconds.
import { ExitCode } from '../core/exit-codes.js';

export interface InterruptHandle {
  signal: AbortSignal;
  /** Restores the handlers that were there before. */
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The handler until a command installs its own: nothing has been applied yet, so exiting is safe. */
function exitBeforeStart(signal: NodeJS.Signals): void {
  process.stderr.write(`\n${signal}: exiting (this command had not applied any fault)\n`);
  process.exit(ExitCode.interrupted);
}

// The early handler lives on the process, not in this module: bin/faultline.js installs it from the
// small compiled module, and the CLI's bundle (its own copy of this file) must find it to replace it.
const EARLY = Symbol.for('faultline.earlyInterruptHandler');
type EarlySlot = { [EARLY]?: (signal: NodeJS.Signals) => void };
const slot = globalThis as EarlySlot;

/** Called first thing by bin/faultline.js, before the CLI's modules load. */
export function installEarlyInterruptHandler(): void {
  if (slot[EARLY]) return;
  slot[EARLY] = exitBeforeStart;
  for (const name of SIGNALS) process.on(name, exitBeforeStart);
}

/**
 * A rejection nobody handled (a driver's stray background promise) must not kill a run that holds
 * faults: by default Node exits at once, and the faults stay. It is reported and the run goes on.
 */
function reportStrayRejection(reason: unknown): void {
  const message = reason instanceof Error ? reason.message : String(reason);
  process.stderr.write(`\nwarning: an unhandled rejection was ignored so the run can still undo its faults: ${message}\n`);
}

export function handleInterrupts(onFirst: (signal: NodeJS.Signals) => void, onSecond: (signal: NodeJS.Signals) => void): InterruptHandle {
  const controller = new AbortController();
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count += 1;
    if (count === 1) {
      onFirst(signal);
      controller.abort(signal);
      return;
    }
    onSecond(signal);
    process.exit(ExitCode.interrupted);
  };
  const previous = slot[EARLY];
  for (const name of SIGNALS) {
    if (previous) process.off(name, previous);
    process.on(name, handler);
  }
  process.on('unhandledRejection', reportStrayRejection);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of SIGNALS) {
        process.off(name, handler);
        if (previous) process.on(name, previous);
      }
      process.off('unhandledRejection', reportStrayRejection);
    },
  };
}
