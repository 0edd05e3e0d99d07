// What each probe found over a run, one entry per probe step: a steady-state probe before, during
// (every check folded into one) and after the method, and each method probe with its repeats
// folded in. JUnit test cases, the Markdown misses and the JSON report are made from these.
import { describeMisses, type ActivityRecord, type Journal } from '../engine/journal.js';

export type ProbePhase = 'before' | 'during' | 'after' | 'method';

export interface ProbeOutcome {
  phase: ProbePhase;
  /** The step key without its repeat suffix (`before-1`, `during-2`, `step-3`). */
  key: string;
  name: string;
  /** met: every check held; missed: at least one did not; skipped: none ran to a result. */
  result: 'met' | 'missed' | 'skipped';
  checks: number;
  /** The records that did not hold, in order. */
  misses: ActivityRecord[];
  durationMs: number;
}

const PROBE_PHASES: readonly string[] = ['before', 'during', 'after', 'method'];

/** The step a record belongs to: repeats (`step-2#3`) and during checks (`during-4-2`) fold into one. */
function stepKey(record: ActivityRecord): string {
  if (record.phase === 'during') return `during-${record.key.split('-').at(-1)}`;
  return record.key.split('#')[0]!;
}

/** `gateway answers (3/12)` → `gateway answers`. */
function stepName(record: ActivityRecord): string {
  return record.key.includes('#') ? record.name.replace(/ \(\d+\/\d+\)$/, '') : record.name;
}

/** A record that held; cancelled and skipped ones say nothing about the system. */
const held = (record: ActivityRecord) => record.status === 'succeeded';
const ranToResult = (record: ActivityRecord) => record.status !== 'cancelled' && record.status !== 'skipped';

export function probeOutcomes(journal: Pick<Journal, 'activities'>): ProbeOutcome[] {
  const steps = new Map<string, { phase: ProbePhase; name: string; records: ActivityRecord[] }>();
  for (const record of journal.activities) {
    if (record.kind !== 'probe' || !PROBE_PHASES.includes(record.phase)) continue;
    const key = stepKey(record);
    const step = steps.get(key) ?? { phase: record.phase as ProbePhase, name: stepName(record), records: [] };
    step.records.push(record);
    steps.set(key, step);
  }
  const order: ProbePhase[] = ['before', 'method', 'during', 'after'];
  return [...steps.entries()]
    .map(([key, step]): ProbeOutcome => {
      const ran = step.records.filter(ranToResult);
      const misses = ran.filter((record) => !held(record));
      return {
        phase: step.phase,
        key,
        name: step.name,
        result: ran.length === 0 ? 'skipped' : misses.length > 0 ? 'missed' : 'met',
        checks: ran.length,
        misses,
        durationMs: step.records.reduce((sum, record) => sum + record.durationMs, 0),
      };
    })
    .sort((a, b) => order.indexOf(a.phase) - order.indexOf(b.phase));
}

/** Why a probe record did not hold, in the words the run's reason uses. */
export function missReason(record: ActivityRecord): string {
  return record.error?.message ?? describeMisses(record);
}
