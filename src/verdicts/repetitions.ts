// `faultline run --repeat N`: N full runs of one experiment (each undoes its faults), folded into one
// journal: the last run's journal, every run summarised in `repetitions`, and each verdict replaced
// by its agreement across the runs. A verdict that differs between runs is `unstable`, which does not
// pass: a mechanism that holds only sometimes has not been shown to hold.
import type { Journal, RepetitionSummary, RunStatus } from '../engine/journal.js';
import type { VerdictRecord, VerdictResult } from './types.js';

/** Worst first: the status of the folded journal is the worst any run had, before verdicts are weighed. */
const SEVERITY: readonly RunStatus[] = ['rollback-incomplete', 'interrupted', 'failed', 'aborted', 'deviated', 'passed'];

/** Statuses after which the next repetition may start: every fault was undone and nobody asked to stop. */
export const REPEATABLE: ReadonlySet<RunStatus> = new Set(['passed', 'deviated', 'aborted']);

export function summariseRepetition(journal: Journal, index: number): RepetitionSummary {
  return {
    index,
    runId: journal.runId,
    seed: journal.seed,
    startedAt: journal.startedAt,
    durationMs: journal.durationMs,
    status: journal.status,
    reason: journal.reason,
    verdicts: journal.verdicts.map((v) => ({ name: v.name, result: v.result, summary: v.evidence.summary })),
  };
}

/** `pass 3/3`, or `pass 2/3, fail 1/3`: how the runs judged one verdict. */
export function agreement(results: readonly VerdictResult[]): string {
  const counts = new Map<VerdictResult, number>();
  for (const result of results) counts.set(result, (counts.get(result) ?? 0) + 1);
  return [...counts].map(([result, count]) => `${result} ${count}/${results.length}`).join(', ');
}

function foldVerdict(last: VerdictRecord, runs: readonly Journal[]): VerdictRecord {
  const results = runs.map((run) => run.verdicts.find((v) => v.name === last.name)?.result ?? 'not-exercised');
  const evidence = { ...last.evidence, repetitions: results };
  if (results.every((r) => r === results[0])) return { ...last, result: results[0]!, evidence: { ...evidence, summary: `${agreement(results)}; last run: ${last.evidence.summary}` } };
  // Name a run that did not pass, so the reader sees what went wrong at least once.
  const index = results.findIndex((r) => r !== 'pass');
  const odd = runs[index]!.verdicts.find((v) => v.name === last.name);
  const why = odd ? `; run ${index + 1}: ${odd.evidence.summary}` : '';
  return { ...last, result: 'unstable', evidence: { ...evidence, summary: `differs between runs (${agreement(results)})${why}` } };
}

/** One journal for N runs of the same experiment, in the order they ran. */
export function foldRepetitions(runs: readonly Journal[]): Journal {
  const last = runs.at(-1)!;
  if (runs.length === 1) return last;
  const verdicts = last.verdicts.map((v) => foldVerdict(v, runs));
  const repetitions = runs.map((run, i) => summariseRepetition(run, i + 1));
  const worst = runs.reduce((a, b) => (SEVERITY.indexOf(b.status) < SEVERITY.indexOf(a.status) ? b : a));
  const folded: Journal = { ...last, verdicts, repetitions, startedAt: runs[0]!.startedAt, durationMs: runs.reduce((sum, r) => sum + r.durationMs, 0) };
  if (worst.status !== 'passed' && worst.status !== 'deviated') {
    return { ...folded, status: worst.status, reason: `run ${runs.indexOf(worst) + 1} of ${runs.length}: ${worst.reason}`, ...(worst.error ? { error: worst.error } : {}) };
  }
  const unmet = verdicts.filter((v) => v.result !== 'pass').map((v) => `${v.name} ${v.result === 'unstable' ? 'was unstable' : v.result === 'fail' ? 'did not hold' : 'was not exercised'}: ${v.evidence.summary}`);
  const deviatedRuns = runs.filter((r) => r.status === 'deviated');
  if (unmet.length > 0) return { ...folded, status: 'deviated', reason: unmet.slice(0, 3).join('; ') };
  if (deviatedRuns.length > 0) {
    const first = deviatedRuns[0]!;
    return { ...folded, status: 'deviated', reason: `run ${runs.indexOf(first) + 1} of ${runs.length}: ${first.reason}` };
  }
  return { ...folded, status: 'passed', reason: `${runs.length} of ${runs.length} runs passed: ${last.reason}` };
}
