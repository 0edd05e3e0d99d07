import { describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../drivers/builtin.js';
import { abortSchema } from '../experiment/schema.js';
import type { ActivityRecord } from './journal.js';
import { isMonitor, pollingOf, unreachable } from './monitors.js';

const registry = await createDefaultRegistry();
const condition = (fields: Record<string, unknown>) => abortSchema.parse(fields);
const record = (fields: Partial<ActivityRecord>): ActivityRecord =>
  ({ key: 'k', phase: 'abort-check', kind: 'probe', ref: 'x', name: 'n', startedAt: '', endedAt: '', durationMs: 0, status: 'succeeded', ...fields }) as ActivityRecord;

describe('outside monitors', () => {
  it('poll a prometheus probe for the whole method, other probes while faults are live, unless told', () => {
    expect(pollingOf(condition({ probe: 'prometheus', with: { query: 'up' } }), registry)).toBe('method');
    expect(pollingOf(condition({ probe: 'http', with: { url: 'http://x' } }), registry)).toBe('faults');
    expect(pollingOf(condition({ probe: 'http', while: 'method' }), registry)).toBe('method');
    expect(pollingOf(condition({ probe: 'prometheus', while: 'faults' }), registry)).toBe('faults');
    expect(isMonitor(condition({ probe: 'http' }), registry)).toBe(false);
    expect(isMonitor(condition({ probe: 'http', onError: 'ignore' }), registry)).toBe(true);
    expect(isMonitor(condition({ workload: { errorRate: 0.5 } }), registry)).toBe(false);
  });

  it('tell a monitor that cannot be read from one that answered with a miss', () => {
    expect(unreachable(record({ status: 'failed', error: { code: 'E_DRIVER', message: 'Prometheus at x cannot be reached' } }))).toContain('cannot be reached');
    expect(unreachable(record({ status: 'missed', output: { status: null, error: 'connect ECONNREFUSED' } }))).toBe('connect ECONNREFUSED');
    expect(unreachable(record({ status: 'missed', output: { status: 503 } }))).toBeUndefined();
  });

  it('refuse while and onError on a workload condition', () => {
    expect(abortSchema.safeParse({ workload: { errorRate: 0.5 }, onError: 'ignore' }).success).toBe(false);
  });
});
