// The JSON report: a small, stable digest of a journal for scripts (`faultline report j.json --format
// json | jq .status`). The journal itself is the complete record (every activity with its output,
// the per-second traffic, the ledger) and grows with the run; this keeps what a script decides on:
// the status with its exit code, the verdicts with their evidence, the faults with when each was
// applied and undone, the traffic windows and each probe's result. Fields are only ever added
// within one reportVersion.
import { EXIT_CODE_BY_STATUS, type FaultRecord, type Journal, type JournalError, type RepetitionSummary, type RunStatus } from '../engine/journal.js';
import type { VerdictRecord } from '../verdicts/types.js';
import type { WorkloadRecord, WorkloadWindow } from '../workload/types.js';
import { reproduceCommand } from './labels.js';
import { missReason, probeOutcomes, type ProbeOutcome } from './probes.js';

export const REPORT_VERSION = 1;

export type JsonReportFault = Pick<
  FaultRecord,
  'key' | 'name' | 'ref' | 'targets' | 'status' | 'scheduledAtMs' | 'scheduledEndMs' | 'appliedAt' | 'appliedAtMs' | 'undoneAt' | 'undoneAtMs' | 'error'
>;

export interface JsonReportProbe extends Pick<ProbeOutcome, 'phase' | 'key' | 'name' | 'result' | 'checks'> {
  missed: number;
  /** Why the first miss missed, as the run's reason words it. */
  firstMiss?: string;
}

export interface JsonReport {
  reportVersion: typeof REPORT_VERSION;
  faultline: string;
  runId: string;
  seed: number;
  experiment: { title: string; file: string; description?: string; tags: string[] };
  startedAt: string;
  endedAt: string;
  durationMs: number;
  status: RunStatus;
  /** The exit code `faultline run` gave this run: 0 passed, 1 deviated, 3 aborted, 4 run error, 5 rollback incomplete, 130 interrupted. */
  exitCode: number;
  reason: string;
  error?: JournalError;
  /** Replays the run's target selection. */
  reproduce: string;
  verdicts: VerdictRecord[];
  faults: JsonReportFault[];
  /** The workload's settings, without its per-second series. */
  workload?: Omit<WorkloadRecord, 'seconds' | 'secondsPerEntry'>;
  windows: WorkloadWindow[];
  probes: JsonReportProbe[];
  abort?: { condition: string; at: string };
  /** `run --repeat`: every run's status and verdicts. */
  repetitions?: RepetitionSummary[];
}

function pickFault(fault: FaultRecord): JsonReportFault {
  const { key, name, ref, targets, status, scheduledAtMs, scheduledEndMs, appliedAt, appliedAtMs, undoneAt, undoneAtMs, error } = fault;
  return { key, name, ref, targets, status, scheduledAtMs, scheduledEndMs, appliedAt, appliedAtMs, undoneAt, undoneAtMs, error };
}

function pickProbe(probe: ProbeOutcome): JsonReportProbe {
  const first = probe.misses[0];
  return { phase: probe.phase, key: probe.key, name: probe.name, result: probe.result, checks: probe.checks, missed: probe.misses.length, ...(first ? { firstMiss: missReason(first) } : {}) };
}

export function jsonReport(journal: Journal): JsonReport {
  const { title, file, description, tags } = journal.experiment;
  let workload: JsonReport['workload'];
  if (journal.workload) {
    const { seconds: _seconds, secondsPerEntry: _perEntry, ...settings } = journal.workload;
    workload = settings;
  }
  return {
    reportVersion: REPORT_VERSION,
    faultline: journal.faultline,
    runId: journal.runId,
    seed: journal.seed,
    experiment: { title, file, description, tags: tags ?? [] },
    startedAt: journal.startedAt,
    endedAt: journal.endedAt,
    durationMs: journal.durationMs,
    status: journal.status,
    exitCode: EXIT_CODE_BY_STATUS[journal.status],
    reason: journal.reason,
    error: journal.error,
    reproduce: reproduceCommand(journal),
    verdicts: journal.verdicts,
    faults: journal.faults.map(pickFault),
    workload,
    windows: journal.windows,
    probes: probeOutcomes(journal).map(pickProbe),
    abort: journal.abort ? { condition: journal.abort.condition, at: journal.abort.at } : undefined,
    ...(journal.repetitions ? { repetitions: journal.repetitions } : {}),
  };
}

/** One run's report as a JSON object; several runs' as an array of them. */
export function renderJson(journals: readonly Journal[]): string {
  const reports = journals.map(jsonReport);
  return `${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`;
}
