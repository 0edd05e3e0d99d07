import { describe, expect, it } from 'vitest';
import type { Journal, RunStatus } from '../engine/journal.js';
import { renderJunit } from '../report/junit.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderSummary } from '../report/terminal.js';
import { Chalk } from 'chalk';
import { agreement, foldRepetitions } from './repetitions.js';
import type { VerdictResult } from './types.js';

function run(index: number, status: RunStatus, results: Record<string, VerdictResult>): Journal {
  return {
    journalVersion: 1,
    faultline: 'test',
    runId: `run-${index}`,
    seed: index,
    experiment: { file: 'x.yaml', title: 'x', tags: [], source: {} },
    startedAt: `2026-11-30T10:0${index}:00.000Z`,
    endedAt: `2026-11-30T10:0${index}:10.000Z`,
    durationMs: 10_000,
    status,
    reason: `reason ${index}`,
    dryRun: false,
    rollbackStrategy: 'default',
    hypothesis: {},
    activities: [],
    faults: [],
    windows: [],
    verdicts: Object.entries(results).map(([name, result]) => ({
      name: name as 'timeouts',
      result,
      evidence: { summary: `${name} ${result} in run ${index}`, faults: [], windows: [], checks: [], figures: {} },
    })),
    ledger: [],
  };
}

describe('foldRepetitions', () => {
  it('one run is its own journal', () => {
    const only = run(1, 'passed', { timeouts: 'pass' });
    expect(foldRepetitions([only])).toBe(only);
  });

  it('runs that agree keep the result, with the agreement and every run recorded', () => {
    const folded = foldRepetitions([1, 2, 3].map((i) => run(i, 'passed', { timeouts: 'pass', retries: 'pass' })));
    expect(folded.status).toBe('passed');
    expect(folded.reason).toBe('3 of 3 runs passed: reason 3');
    expect(folded.verdicts[0]).toMatchObject({ name: 'timeouts', result: 'pass', evidence: { repetitions: ['pass', 'pass', 'pass'], summary: 'pass 3/3; last run: timeouts pass in run 3' } });
    expect(folded.repetitions!.map((r) => [r.index, r.runId, r.status])).toEqual([[1, 'run-1', 'passed'], [2, 'run-2', 'passed'], [3, 'run-3', 'passed']]);
    expect(folded.durationMs).toBe(30_000);
    expect(folded.startedAt).toBe('2026-11-30T10:01:00.000Z');
  });

  it('a verdict that flips is unstable and the run does not pass', () => {
    const folded = foldRepetitions([run(1, 'passed', { retries: 'pass' }), run(2, 'deviated', { retries: 'fail' }), run(3, 'passed', { retries: 'pass' })]);
    expect(folded.verdicts[0]).toMatchObject({ result: 'unstable', evidence: { summary: 'differs between runs (pass 2/3, fail 1/3); run 2: retries fail in run 2' } });
    expect(folded.status).toBe('deviated');
    expect(folded.reason).toMatch(/^retries was unstable: differs between runs/);
  });

  it('the worst run status wins over the verdicts', () => {
    const folded = foldRepetitions([run(1, 'passed', { timeouts: 'pass' }), run(2, 'rollback-incomplete', { timeouts: 'pass' })]);
    expect(folded.status).toBe('rollback-incomplete');
    expect(folded.reason).toBe('run 2 of 2: reason 2');
  });

  it('agreement counts each result', () => {
    expect(agreement(['pass', 'not-exercised', 'pass'])).toBe('pass 2/3, not-exercised 1/3');
  });
});

describe('reports of repeated runs', () => {
  const folded = foldRepetitions([run(1, 'passed', { timeouts: 'pass', retries: 'pass' }), run(2, 'deviated', { timeouts: 'pass', retries: 'fail' })]);

  it('the terminal and Markdown show the agreement; JUnit makes an unstable verdict a failure', () => {
    const text = renderSummary(folded, new Chalk({ level: 0 }));
    expect(text).toMatch(/timeouts +PASS 2\/2 +pass 2\/2; last run/);
    expect(text).toMatch(/retries +UNSTABLE \(pass 1\/2, fail 1\/2\)/);
    expect(renderMarkdown([folded], { cwd: '/' })).toContain('| retries | 🔀 UNSTABLE (pass 1/2, fail 1/2) |');
    const junit = renderJunit([folded]);
    expect(junit).toMatch(/<testcase classname="faultline.verdicts" name="retries"[^>]*>\s*<failure type="verdict-unstable" message="unstable: differs between runs/);
  });
});
