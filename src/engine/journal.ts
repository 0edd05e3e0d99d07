// The journal: everything a run did, as versioned JSON. It is the single source of truth: the exit
// code, the terminal summary and every report are computed from it and nothing else.
import { writeFileAtomically } from '../core/atomic-file.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import type { FaultEffect, ReachEvidence, UndoSpec } from '../drivers/types.js';
import { ExitCode } from '../core/exit-codes.js';
import type { LedgerEntry } from '../safety/ledger.js';
import type { VerdictRecord, VerdictResult } from '../verdicts/types.js';
import type { WorkloadRecord, WorkloadWindow } from '../workload/types.js';
import type { ToleranceMiss } from './tolerance.js';

export const JOURNAL_VERSION = 1;

export const RUN_STATUSES = ['passed', 'deviated', 'aborted', 'failed', 'rollback-incomplete', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The exit code of `faultline run` for each status; the JSON report carries it too. */
export const EXIT_CODE_BY_STATUS: Record<RunStatus, number> = {
  passed: ExitCode.passed,
  deviated: ExitCode.deviated,
  aborted: ExitCode.aborted,
  failed: ExitCode.runError,
  'rollback-incomplete': ExitCode.rollbackIncomplete,
  interrupted: ExitCode.interrupted,
};

export type Phase = 'setup' | 'preflight' | 'before' | 'method' | 'during' | 'abort-check' | 'undo' | 'after' | 'rollback' | 'teardown';

export type ActivityStatus = 'succeeded' | 'failed' | 'missed' | 'timeout' | 'skipped' | 'cancelled';

export interface JournalError {
  code: string;
  message: string;
  hint?: string;
}

export interface ActivityRecord {
  key: string;
  phase: Phase;
  kind: 'probe' | 'action' | 'fault' | 'undo';
  ref: string;
  name: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  status: ActivityStatus;
  args?: unknown;
  output?: unknown;
  targets?: string[];
  misses?: ToleranceMiss[];
  /** For probes polled with `until`: how many tries, and how long until the tolerance was met. */
  attempts?: number;
  waitedMs?: number;
  logs?: string[];
  error?: JournalError;
}

export type FaultStatus = 'applying' | 'applied' | 'apply-failed' | 'undone' | 'undo-failed' | 'irreversible' | 'kept';

export interface FaultRecord {
  key: string;
  name: string;
  ref: string;
  ledgerId: string;
  targets: string[];
  undo: UndoSpec | null;
  /** Planned offsets from the start of the method, in ms. */
  scheduledAtMs: number;
  scheduledEndMs?: number;
  appliedAt?: string;
  /** Offset from the method start when the fault took effect: scheduled start plus the time to inject. */
  appliedAtMs?: number;
  undoneAt?: string;
  undoneAtMs?: number;
  status: FaultStatus;
  output?: unknown;
  error?: JournalError;
  /** What the fault does to a request that meets it, as its action declares (see drivers/types.ts). */
  effect?: FaultEffect;
  /** The driver's evidence that the fault acted on the workload's requests. */
  reach?: ReachEvidence;
}

export interface HypothesisResult {
  met: boolean;
  probes: string[];
}

export interface Journal {
  journalVersion: typeof JOURNAL_VERSION;
  faultline: string;
  runId: string;
  /** Seed of random target selection; `faultline run --seed <n>` replays it. */
  seed: number;
  experiment: {
    file: string;
    title: string;
    description?: string;
    tags: string[];
    source: unknown;
  };
  startedAt: string;
  endedAt: string;
  durationMs: number;
  status: RunStatus;
  /** Why the run ended as it did, in one sentence. */
  reason: string;
  dryRun: boolean;
  rollbackStrategy: string;
  methodStartedAt?: string;
  hypothesis: {
    before?: HypothesisResult;
    during?: { checks: number; misses: number };
    after?: HypothesisResult;
  };
  activities: ActivityRecord[];
  faults: FaultRecord[];
  /** The traffic driven at the target, when the experiment declares a workload. */
  workload?: WorkloadRecord;
  /** Workload figures by window: baseline, each fault, recovery, total. Empty without a workload. */
  windows: WorkloadWindow[];
  /** The resilience verdicts the experiment declares, evaluated from this journal. */
  verdicts: VerdictRecord[];
  /** The ledger entries of this run, as they stood at the end. */
  ledger: LedgerEntry[];
  abort?: { condition: string; at: string; misses: ToleranceMiss[] };
  /** Queries the metric verdicts read from Prometheus after the method, with every sample seen. */
  metrics?: MetricReading[];
  /** Webhooks sent (or not) for this run; a failed one is recorded here and never fails the run. */
  notifications?: NotificationRecord[];
  error?: JournalError;
  /**
   * `run --repeat N`: every run, in order. The rest of the journal is the last run's, except `verdicts`
   * (each one's agreement across the runs; `unstable` when they differ), `status`, `reason`,
   * `startedAt` and `durationMs` (of all runs).
   */
  repetitions?: RepetitionSummary[];
}

export interface RepetitionSummary {
  index: number;
  runId: string;
  seed: number;
  startedAt: string;
  durationMs: number;
  status: RunStatus;
  reason: string;
  verdicts: { name: string; result: VerdictResult; summary: string }[];
}

/** One PromQL range query a metric verdict reads, over one fault's window. */
export interface MetricReading {
  verdict: 'retries' | 'self-healing';
  /** What the query is for: the verdict's query, or the evidence that the fault reached the traffic. */
  role: 'judged' | 'reached';
  fault: string;
  query: string;
  url: string;
  from: string;
  to: string;
  stepMs: number;
  /** Each series: labels and [epoch ms, value] samples (NaN and ±Inf as text). */
  series: { labels: Record<string, string>; samples: [number, number | string][] }[];
  /** Why the query could not be read (Prometheus down, a query it rejects). */
  error?: string;
}

export interface NotificationRecord {
  event: 'start' | 'abort' | 'end' | 'verdict-change';
  /** The webhook's name, or its URL's host: the URL itself may carry a secret. */
  target: string;
  at: string;
  ok: boolean;
  status?: number;
  error?: string;
  durationMs: number;
}

/** Replaces every secret value in every string, however deep, before anything leaves the process. */
export function redactSecrets<T>(value: T, secrets: readonly string[]): T {
  const usable = secrets.filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
  if (usable.length === 0) return value;
  const visit = (item: unknown): unknown => {
    if (typeof item === 'string') return usable.reduce((text, secret) => text.split(secret).join('***'), item);
    if (Array.isArray(item)) return item.map(visit);
    if (item !== null && typeof item === 'object') return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, visit(v)]));
    return item;
  };
  return visit(value) as T;
}

/** Why a step did not succeed, from its misses: for reasons and reports. */
export function describeMisses(record: ActivityRecord): string {
  return record.misses?.map((m) => m.message).join('; ') || record.status;
}

export async function writeJournal(path: string, journal: Journal): Promise<void> {
  try {
    await writeFileAtomically(path, `${JSON.stringify(journal, null, 2)}\n`);
  } catch (error) {
    throw new FaultlineError('E_FILE', `cannot write the journal ${path}: ${errorMessage(error)}`, {
      cause: error,
      hint: 'Check that its folder can be created and written to, and that the disk has room (--journal chooses another path).',
    });
  }
}
