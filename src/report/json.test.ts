import { describe, expect, it } from 'vitest';
import { expectGolden } from '../../test/support/golden.js';
import { goldenPath, JOURNAL_FIXTURES, loadFixture } from '../../test/support/journals.js';
import { jsonReport, renderJson, REPORT_VERSION } from './json.js';

describe('JSON report', () => {
  it.each(JOURNAL_FIXTURES)('renders %s as its golden file', async (name) => {
    expectGolden(goldenPath(`${name}.report.json`), renderJson([await loadFixture(name)]));
  });

  it('gives scripts the status with its exit code, the verdicts, the faults and the windows', async () => {
    const report = jsonReport(await loadFixture('deviated-timeouts'));
    expect(report).toMatchObject({ reportVersion: REPORT_VERSION, status: 'deviated', exitCode: 1, seed: 42, reproduce: 'faultline run experiments/checkout-slow-payments.yaml --seed 42' });
    expect(report.verdicts.map((v) => [v.name, v.result])).toEqual([
      ['timeouts', 'fail'],
      ['retries', 'pass'],
    ]);
    expect(report.faults[0]).toMatchObject({ key: 'slow-payments', status: 'undone', appliedAtMs: 3009, undoneAtMs: 13015, appliedAt: '2026-05-04T09:45:05.009Z' });
    expect(report.windows.map((w) => w.name)).toEqual(['baseline', 'fault slow-payments', 'recovery', 'total']);
    expect(report.probes.filter((p) => p.result === 'missed')).toEqual([
      { phase: 'during', key: 'during-1', name: 'checkout answers within 1s', result: 'missed', checks: 2, missed: 1, firstMiss: 'status 504, expected 200' },
      { phase: 'after', key: 'after-1', name: 'checkout answers within 1s', result: 'missed', checks: 1, missed: 1, firstMiss: 'latency 1.42s, expected at most 1s' },
    ]);
    // The per-second series and the activities stay in the journal.
    expect(report.workload).toEqual({ model: 'closed', method: 'GET', url: 'http://127.0.0.1:18080/api/checkout', concurrency: 10, timeoutMs: 3000, startMs: -2000, endMs: 16000 });
    expect(Object.keys(report)).not.toContain('activities');
  });

  it.each([
    ['passed-verdicts', 0],
    ['run-error-not-exercised', 4],
    ['no-workload', 0],
  ] as const)('gives %s exit code %d', async (name, code) => {
    expect(jsonReport(await loadFixture(name)).exitCode).toBe(code);
  });

  it('reads a journal written before windows and verdicts existed as having none', async () => {
    const report = jsonReport(await loadFixture('no-workload'));
    expect(report.windows).toEqual([]);
    expect(report.verdicts).toEqual([]);
    expect(report.workload).toBeUndefined();
  });

  it('renders several runs as an array', async () => {
    const parsed = JSON.parse(renderJson(await Promise.all(JOURNAL_FIXTURES.map(loadFixture))));
    expect(parsed.map((r: { status: string }) => r.status)).toEqual(['passed', 'deviated', 'failed', 'passed']);
  });
});
