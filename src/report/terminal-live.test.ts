import { describe, expect, it } from 'vitest';
import type { FaultRecord } from '../engine/journal.js';
import { LiveStatus } from './terminal-live.js';

const fault = (key: string, status: FaultRecord['status']): FaultRecord => ({ key, name: `fault ${key}`, ref: 'process.stop', ledgerId: key, targets: [], undo: null, scheduledAtMs: 0, status });

describe('the live status line', () => {
  it('shows the phase, the last second of traffic and the faults in effect for how long', () => {
    let now = 1_000;
    const live = new LiveStatus(() => now);
    expect(live.render()).toBe('');
    expect(live.active).toBe(false);
    live.update({ type: 'phase', phase: 'method', title: 'Method' });
    live.update({ type: 'workload', second: { t: 3, requests: 50, ok: 49, errors: 1, p50: 12, p99: 41, max: 60 } });
    live.update({ type: 'fault', fault: fault('a', 'applied') });
    live.update({ type: 'fault', fault: fault('b', 'irreversible') });
    now += 2_150;
    expect(live.render()).toBe('method · 50 req/s, errors 2%, p99 41ms · faults: fault a 2s, fault b (no undo)');
    expect(live.active).toBe(true);
    live.update({ type: 'fault', fault: fault('a', 'undone') });
    live.update({ type: 'workload', second: { t: 4, requests: 0, ok: 0, errors: 0, p50: null, p99: null, max: null } });
    expect(live.render()).toBe('method · no answers this second · faults: fault b (no undo)');
    now += 3_200;
    expect(live.render()).toBe('method · no answers for 3s · faults: fault b (no undo)');
  });

  it('forgets the traffic once the method is over', () => {
    const live = new LiveStatus(() => 0);
    live.update({ type: 'workload', second: { t: 0, requests: 5, ok: 5, errors: 0, p50: 1, p99: 2, max: 3 } });
    expect(live.update({ type: 'phase', phase: 'after', title: 'Steady state after' })).toBe(true);
    expect(live.render()).toBe('after');
    expect(live.active).toBe(false);
    expect(live.update({ type: 'note', message: 'x' })).toBe(false);
  });
});
