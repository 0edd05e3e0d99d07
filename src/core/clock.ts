// Time, injected: the engine never reads the global clock, so timing logic is testable with a fake one.
import { FaultlineError } from './errors.js';

export interface Clock {
  /** Monotonic milliseconds, for measuring. */
  now(): number;
  /** Wall-clock time, for timestamps in journals and ledgers. */
  date(): Date;
  /** Resolves after ms, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new FaultlineError('E_INTERNAL', 'aborted');
}
