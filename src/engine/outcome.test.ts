import { describe, expect, it } from 'vitest';
import { decideOutcome, shouldRollBack, type RunFacts } from './outcome.js';

const clean: RunFacts = { incomplete: [], interrupted: false, verdicts: [], deviations: [], keptFaults: 0 };
const verdict = (name: 'timeouts' | 'retries', result: 'pass' | 'fail' | 'not-exercised') => ({ name, result, evidence: { summary: `${name} evidence` } }) as RunFacts['verdicts'][number];

describe('decideOutcome', () => {
  it('passes a clean run and names the verdicts that held', () => {
    expect(decideOutcome(clean)).toEqual({ status: 'passed', reason: 'the steady state held' });
    expect(decideOutcome({ ...clean, verdicts: [verdict('timeouts', 'pass')] }).reason).toBe('the steady state held and timeouts held');
  });

  it('ranks what was left behind over an interrupt, an interrupt over an error, an error over an abort', () => {
    const all: RunFacts = { ...clean, incomplete: ['undo x: boom'], interrupted: true, runError: 'setup failed', abortedBy: 'errors', deviations: ['miss'] };
    expect(decideOutcome(all).status).toBe('rollback-incomplete');
    expect(decideOutcome(all).reason).toContain('faultline recover');
    expect(decideOutcome({ ...all, incomplete: [] }).status).toBe('interrupted');
    expect(decideOutcome({ ...all, incomplete: [], interrupted: false })).toEqual({ status: 'failed', reason: 'setup failed' });
    expect(decideOutcome({ ...all, incomplete: [], interrupted: false, runError: undefined })).toEqual({ status: 'aborted', reason: 'aborted: errors tripped; faults were undone' });
  });

  it('an interrupt that came during the teardown still makes the run interrupted, so the journal agrees with exit code 130', () => {
    expect(decideOutcome({ ...clean, interrupted: true }).status).toBe('interrupted');
  });

  it('a failed or unexercised verdict keeps the run from passing', () => {
    expect(decideOutcome({ ...clean, verdicts: [verdict('retries', 'fail')] })).toEqual({ status: 'deviated', reason: 'retries did not hold: retries evidence' });
    expect(decideOutcome({ ...clean, verdicts: [verdict('timeouts', 'not-exercised')] }).reason).toBe('timeouts was not exercised: timeouts evidence');
  });

  it('names the first three deviations and counts the rest', () => {
    const outcome = decideOutcome({ ...clean, deviations: ['a', 'b', 'c', 'd', 'e'] });
    expect(outcome).toEqual({ status: 'deviated', reason: 'a; b; c; and 2 more (see the journal)' });
  });

  it('says when faults were kept on purpose', () => {
    expect(decideOutcome({ ...clean, keptFaults: 2 }).reason).toContain('2 fault(s) kept in place');
  });
});

describe('shouldRollBack', () => {
  it('follows the strategy', () => {
    expect(shouldRollBack('never', true, true)).toBe(false);
    expect(shouldRollBack('always', false, false)).toBe(true);
    expect(shouldRollBack('default', true, false)).toBe(true);
    expect(shouldRollBack('default', false, true)).toBe(false);
    expect(shouldRollBack('deviated', true, true)).toBe(true);
    expect(shouldRollBack('deviated', true, false)).toBe(false);
    expect(shouldRollBack('deviated', false, true)).toBe(false);
  });
});
