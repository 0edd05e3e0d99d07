// A fake clock for the engine's timing logic: time stands still until the test moves it, and moves
// only to the next moment something sleeps until, so what the engine does at each scheduled moment
// happens in order whatever the machine's load. Real I/O (the ledger, /proc) runs between moves.
import type { Clock } from '../../src/core/clock.js';
import { abortReason } from '../../src/core/clock.js';

interface Sleeper {
  at: number;
  wake: () => void;
}

export class ManualClock implements Clock {
  private nowMs = 0;
  private readonly epochMs = Date.parse('2026-01-01T00:00:00.000Z');
  private readonly sleepers = new Set<Sleeper>();

  now(): number {
    return this.nowMs;
  }

  date(): Date {
    return new Date(this.epochMs + this.nowMs);
  }

  /** The wall-clock time of a moment on this clock's monotonic scale. */
  dateAt(ms: number): Date {
    return new Date(this.epochMs + ms);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const sleeper: Sleeper = {
        at: this.nowMs + Math.max(0, ms),
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers.delete(sleeper);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.add(sleeper);
    });
  }

  /** The earliest moment something sleeps until, if anything sleeps. */
  nextWake(): number | undefined {
    let next: number | undefined;
    for (const s of this.sleepers) if (next === undefined || s.at < next) next = s.at;
    return next;
  }

  /** Moves to `ms` (never back), waking every sleeper due by then. */
  advanceTo(ms: number): void {
    this.nowMs = Math.max(this.nowMs, ms);
    for (const s of [...this.sleepers]) {
      if (s.at <= this.nowMs) {
        this.sleepers.delete(s);
        s.wake();
      }
    }
  }

  /**
   * Until `done` settles: every few real milliseconds, moves to the next moment something sleeps until,
   * never past `limitMs`. Bounded by `maxSteps`.
   */
  async drive(done: Promise<unknown>, limitMs = Infinity, maxSteps = 4_000): Promise<void> {
    let settled = false;
    void done.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let step = 0; step < maxSteps && !settled; step++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const next = this.nextWake();
      if (next !== undefined && next <= limitMs) this.advanceTo(next);
    }
  }
}
