// Two-stage interrupt: the first SIGINT/SIGTERM aborts the run, which still undoes its faults; a second
// exits at once with the interrupted code and leaves the ledger for `faultline recover`.
import { ExitCode } from '../core/exit-codes.js';

export interface InterruptHandle {
  signal: AbortSignal;
  /** Restores the handlers that were there before. */
  dispose(): void;
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
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
