// Words and short figures every report format shares, so the terminal, Markdown, JUnit and JSON
// name a status, a verdict or an offset the same way.
import { formatDuration } from '../core/duration.js';
import type { FaultRecord, Journal, RunStatus } from '../engine/journal.js';
import { formatRatio } from '../core/ratio.js';
import { agreement } from '../verdicts/repetitions.js';
import type { VerdictRecord, VerdictResult } from '../verdicts/types.js';
import type { WorkloadWindow } from '../workload/types.js';

export const STATUS_LABEL: Record<RunStatus, string> = {
  passed: 'PASSED',
  deviated: 'DEVIATED',
  aborted: 'ABORTED',
  failed: 'RUN ERROR',
  'rollback-incomplete': 'ROLLBACK INCOMPLETE',
  interrupted: 'INTERRUPTED',
};

export const VERDICT_RESULT_LABEL: Record<VerdictResult, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  'not-exercised': 'NOT EXERCISED',
  unstable: 'UNSTABLE',
};

/** `PASS`, or after `run --repeat`: `PASS 3/3`, `UNSTABLE (pass 2/3, fail 1/3)`. */
export function verdictResultText(verdict: Pick<VerdictRecord, 'result' | 'evidence'>): string {
  const runs = verdict.evidence.repetitions;
  if (!runs) return VERDICT_RESULT_LABEL[verdict.result];
  if (verdict.result === 'unstable') return `${VERDICT_RESULT_LABEL.unstable} (${agreement(runs)})`;
  return `${VERDICT_RESULT_LABEL[verdict.result]} ${runs.filter((r) => r === verdict.result).length}/${runs.length}`;
}

/** `timeouts: checkout stays fast`, or the bare name when the experiment gives no title. */
export function verdictLabel(verdict: Pick<VerdictRecord, 'name' | 'title'>): string {
  return verdict.title ? `${verdict.name}: ${verdict.title}` : verdict.name;
}

/** Offset from the method start: `+5.01s`, or `-` when it never happened. */
export function offset(ms: number | undefined): string {
  return ms === undefined ? '-' : `+${formatDuration(ms)}`;
}

export function faultStatus(fault: Pick<FaultRecord, 'status'>): string {
  return fault.status === 'irreversible' ? 'applied (no undo)' : fault.status;
}

function shellQuote(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command that replays the run's target selection; --var flags given to the run are not recorded. */
export function reproduceCommand(journal: Pick<Journal, 'experiment' | 'seed'>, file = journal.experiment.file): string {
  return `faultline run ${shellQuote(file)} --seed ${journal.seed}`;
}


export const WINDOW_COLUMNS = ['window', 'requests', 'success', 'p50', 'p99', 'longest gap'];

/** A workload window as one table row, in WINDOW_COLUMNS order. */
export function windowRow(window: WorkloadWindow): string[] {
  const latency = (ms: number | undefined) => (ms === undefined ? '-' : formatDuration(ms));
  return [
    window.name,
    String(window.requests),
    window.requests === 0 ? '-' : `${formatRatio(window.successRate)} (${window.ok}/${window.requests})`,
    latency(window.latency?.p50),
    latency(window.latency?.p99),
    formatDuration(window.longestGapMs),
  ];
}
