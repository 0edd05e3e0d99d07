import { describe, expect, it } from 'vitest';
import type { Journal } from './journal.js';
import { jsonBody, slackBody, verdictChanges } from './notify.js';

function journal(status: Journal['status'], results: Record<string, 'pass' | 'fail' | 'not-exercised'>): Journal {
  return {
    runId: 'r1',
    status,
    reason: 'why',
    durationMs: 1000,
    startedAt: '2026-01-01T00:00:00.000Z',
    experiment: { title: 'T', file: 'e.yaml', tags: [], source: {} },
    verdicts: Object.entries(results).map(([name, result]) => ({ name, result, evidence: { summary: `${name} ${result}`, faults: [], windows: [], checks: [], figures: {} } })),
  } as unknown as Journal;
}

describe('notifications', () => {
  it('lists the verdicts and the status that changed, and nothing else', () => {
    const changes = verdictChanges(journal('passed', { retries: 'pass', timeouts: 'pass' }), journal('deviated', { retries: 'fail', timeouts: 'pass', failover: 'pass' }));
    expect(changes).toEqual([
      { name: 'status', from: 'passed', to: 'deviated' },
      { name: 'retries', from: 'pass', to: 'fail' },
      { name: 'failover', from: null, to: 'pass' },
    ]);
    expect(verdictChanges(journal('passed', { retries: 'pass' }), journal('passed', { retries: 'pass' }))).toEqual([]);
  });

  it('builds a generic JSON body and a Slack text', () => {
    const j = journal('deviated', { retries: 'fail' });
    expect(jsonBody('start', j, {})).toEqual({ event: 'start', runId: 'r1', experiment: { title: 'T', file: 'e.yaml' }, startedAt: j.startedAt });
    expect(jsonBody('end', j, {})).toMatchObject({ status: 'deviated', verdicts: [{ name: 'retries', result: 'fail', summary: 'retries fail' }] });
    expect(slackBody('end', j, {}).text).toBe(':x: faultline deviated: *T* (run r1): why\n• retries: fail — retries fail');
    expect(slackBody('verdict-change', j, { changes: [{ name: 'retries', from: 'pass', to: 'fail' }] }).text).toContain('• retries: pass → fail');
  });
});
