// How a run ends, as pure functions of what happened: its status and one-line reason, and whether the
// declared rollbacks run. Kept apart from the engine so every combination is unit-tested.
import type { RollbackStrategy } from '../experiment/schema.js';
import type { VerdictRecord } from '../verdicts/types.js';
import type { RunStatus } from './journal.js';

export interface RunFacts {
  /** Undos and rollbacks that failed: something may still be applied. */
  incomplete: readonly string[];
  /** A SIGINT/SIGTERM arrived at any moment of the run, teardown included. */
  interrupted: boolean;
  /** The message of the error that stopped the run (a failed setup, fault or action, the timeout). */
  runError?: string;
  /** The abort condition that tripped, if one did. */
  abortedBy?: string;
  verdicts: readonly Pick<VerdictRecord, 'name' | 'result' | 'evidence'>[];
  /** Steady-state and method-probe misses. */
  deviations: readonly string[];
  /** Faults left in place on purpose (--keep-faults). */
  keptFaults: number;
}

export interface RunOutcome {
  status: RunStatus;
  reason: string;
}

/** The first match wins: what was left behind, then the interrupt, the error, the abort, the deviations. */
export function decideOutcome(facts: RunFacts): RunOutcome {
  if (facts.incomplete.length > 0) {
    return { status: 'rollback-incomplete', reason: `not everything was undone: ${facts.incomplete.join('; ')}. Run \`faultline recover\`.` };
  }
  if (facts.interrupted) return { status: 'interrupted', reason: 'interrupted; faults were undone' };
  if (facts.runError !== undefined) return { status: 'failed', reason: facts.runError };
  if (facts.abortedBy !== undefined) return { status: 'aborted', reason: `aborted: ${facts.abortedBy} tripped; faults were undone` };
  // A verdict that failed, or that the run could not exercise, keeps the run from passing.
  const unmet = facts.verdicts
    .filter((v) => v.result !== 'pass')
    .map((v) => `${v.name} ${v.result === 'fail' ? 'did not hold' : 'was not exercised'}: ${v.evidence.summary}`);
  const deviations = [...unmet, ...facts.deviations];
  if (deviations.length > 0) {
    // The journal lists every miss; the one-line reason names the first few.
    const shown = deviations.slice(0, 3).join('; ');
    const more = deviations.length - 3;
    return { status: 'deviated', reason: more > 0 ? `${shown}; and ${more} more (see the journal)` : shown };
  }
  const held = facts.verdicts.length > 0 ? `the steady state held and ${facts.verdicts.map((v) => v.name).join(', ')} held` : 'the steady state held';
  return {
    status: 'passed',
    reason: facts.keptFaults > 0 ? `${held}; ${facts.keptFaults} fault(s) kept in place (--keep-faults): run \`faultline recover\`` : held,
  };
}

/** Whether the declared rollbacks run, given the strategy and how the run went. */
export function shouldRollBack(strategy: RollbackStrategy, beforeMet: boolean, deviated: boolean): boolean {
  switch (strategy) {
    case 'never':
      return false;
    case 'always':
      return true;
    case 'deviated':
      return deviated && beforeMet;
    default:
      // As Chaos Toolkit: roll back unless the system was not in its steady state to begin with.
      return beforeMet;
  }
}
