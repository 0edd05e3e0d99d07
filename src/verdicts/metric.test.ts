import { describe, expect, it } from 'vitest';
import type { FaultRecord, Journal, MetricReading } from '../engine/journal.js';
import { verdictsSchema } from './schema.js';
import { evaluateVerdicts } from './evaluate.js';
import { recoveryOf } from './metric.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function fault(key = 'kill'): FaultRecord {
  return { key, name: key, ref: 'process.kill', ledgerId: `r/${key}`, targets: [], undo: null, scheduledAtMs: 0, status: 'irreversible', appliedAt: at(0), appliedAtMs: 0 };
}

function reading(role: MetricReading['role'], verdict: MetricReading['verdict'], values: number[], query = 'q'): MetricReading {
  return {
    verdict,
    role,
    fault: 'kill',
    query,
    url: 'http://127.0.0.1:9090',
    from: at(0),
    to: at(values.length - 1),
    stepMs: 1000,
    series: [{ labels: { job: 'api' }, samples: values.map((v, i) => [T0 + i * 1000, v]) }],
  };
}

function journal(metrics: MetricReading[]): Journal {
  return { faults: [fault()], metrics, hypothesis: {}, activities: [], windows: [], verdicts: [] } as unknown as Journal;
}

describe('self-healing from a metric', () => {
  const spec = verdictsSchema.parse({ 'self-healing': { metric: { query: 'up{job="api"}', equals: 1 }, within: '5s' } });

  it('measures the time from the fault until the query holds again after the loss', () => {
    expect(recoveryOf(reading('judged', 'self-healing', [1, 0, 0, 1, 1]), { equals: 1, empty: 'miss' })).toEqual({ lostAt: T0 + 1000, backAt: T0 + 3000 });
    const [v] = evaluateVerdicts(spec, journal([reading('judged', 'self-healing', [1, 0, 0, 1, 1])]));
    expect(v!.result).toBe('pass');
    expect(v!.evidence.figures.recoveryMs).toBe(3000);
  });

  it('fails when the metric is not back within the objective', () => {
    const [v] = evaluateVerdicts(spec, journal([reading('judged', 'self-healing', [1, 0, 0, 0, 0, 0, 0, 0])]));
    expect(v!.result).toBe('fail');
  });

  it('is not exercised when the metric never showed the loss', () => {
    const [v] = evaluateVerdicts(spec, journal([reading('judged', 'self-healing', [1, 1, 1])]));
    expect(v!.result).toBe('not-exercised');
    expect(v!.evidence.summary).toContain('never saw the loss');
  });
});

describe('retries from a metric', () => {
  const withReach = verdictsSchema.parse({ retries: { metric: { query: 'ratio', max: 0.1, reached: { query: 'failed', min: 1 } } } });
  const withoutReach = verdictsSchema.parse({ retries: { metric: { query: 'ratio', max: 0.1 } } });

  it('passes with every sample within bounds and evidence of reach', () => {
    const [v] = evaluateVerdicts(withReach, journal([reading('judged', 'retries', [0, 0.02, 0.05]), reading('reached', 'retries', [0, 3, 2])]));
    expect(v!.result).toBe('pass');
  });

  it('fails on a sample above the bound', () => {
    const [v] = evaluateVerdicts(withReach, journal([reading('judged', 'retries', [0, 0.4, 0.05]), reading('reached', 'retries', [0, 3, 2])]));
    expect(v!.result).toBe('fail');
    expect(v!.evidence.summary).toContain('= 0.4, expected at most 0.1');
  });

  it('is not exercised without evidence that the fault reached the traffic', () => {
    expect(evaluateVerdicts(withReach, journal([reading('judged', 'retries', [0, 0, 0]), reading('reached', 'retries', [0, 0, 0])]))[0]!.result).toBe('not-exercised');
    const [v] = evaluateVerdicts(withoutReach, journal([reading('judged', 'retries', [0, 0, 0])]));
    expect(v!.result).toBe('not-exercised');
    expect(v!.evidence.summary).toContain('add metric.reached');
  });

  it('is not exercised when Prometheus could not be read', () => {
    const broken = { ...reading('judged', 'retries', []), error: 'Prometheus at x cannot be reached' };
    expect(evaluateVerdicts(withReach, journal([broken]))[0]!.result).toBe('not-exercised');
  });
});
