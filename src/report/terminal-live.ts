// The live line of a run on a terminal: the current phase, the workload's last second (throughput,
// error rate, p99) and the faults in effect with how long each has been live, kept from the engine's
// events and rendered into the spinner's text.
import { formatDuration } from '../core/duration.js';
import { formatRatio } from '../core/ratio.js';
import type { RunEvent } from '../engine/run.js';
import type { WorkloadSecond } from '../workload/types.js';

interface LiveFault {
  name: string;
  since: number;
  undo: boolean;
}

/** Phases after which the traffic's figures are stale: the method is over. */
const AFTER_METHOD = new Set(['after', 'rollback', 'teardown']);

export class LiveStatus {
  private phase: string | undefined;
  private second: WorkloadSecond | undefined;
  private secondAt = 0;
  private readonly faults = new Map<string, LiveFault>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Takes what the engine tells; returns true when the line changed. */
  update(event: RunEvent): boolean {
    switch (event.type) {
      case 'phase':
        this.phase = event.phase;
        if (AFTER_METHOD.has(event.phase)) this.second = undefined;
        return true;
      case 'workload':
        this.second = event.second;
        this.secondAt = this.now();
        return true;
      case 'fault': {
        const { fault } = event;
        if (fault.status === 'applied' || fault.status === 'irreversible') {
          if (!this.faults.has(fault.key)) this.faults.set(fault.key, { name: fault.name, since: this.now(), undo: fault.status === 'applied' });
        } else {
          this.faults.delete(fault.key);
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** Whether there is traffic or a fault to show, so the line is worth keeping on screen. */
  get active(): boolean {
    return this.second !== undefined || this.faults.size > 0;
  }

  /** `method · 50 req/s, errors 0.2%, p99 41ms · faults: slow-a 2s, kill-a (no undo)`; empty before anything happened. */
  render(): string {
    const parts: string[] = [];
    if (this.phase) parts.push(this.phase);
    const second = this.second;
    // A second is told once an answer arrives in the next one: silence means nothing is answering.
    const silentMs = this.now() - this.secondAt;
    if (second && silentMs >= 2500) {
      parts.push(`no answers for ${Math.floor(silentMs / 1000)}s`);
    } else if (second) {
      const errors = second.requests ? formatRatio(second.errors / second.requests) : '-';
      parts.push(second.requests === 0 ? 'no answers this second' : `${second.requests} req/s, errors ${errors}${second.p99 !== null ? `, p99 ${formatDuration(second.p99)}` : ''}`);
    }
    if (this.faults.size > 0) {
      const now = this.now();
      const live = [...this.faults.values()].map((f) => (f.undo ? `${f.name} ${Math.floor((now - f.since) / 1000)}s` : `${f.name} (no undo)`));
      parts.push(`faults: ${live.join(', ')}`);
    }
    return parts.join(' · ');
  }
}
