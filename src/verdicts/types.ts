// A resilience verdict as the journal holds it: its result and the evidence behind it, with numbers.

export const VERDICT_NAMES = ['timeouts', 'retries', 'failover', 'self-healing'] as const;
export type VerdictName = (typeof VERDICT_NAMES)[number];

export type VerdictResult = 'pass' | 'fail' | 'not-exercised';

/** One bound checked against one measured figure: `p99 latency 612 ms ≤ 2 s`. */
export interface VerdictCheck {
  what: string;
  bound: string;
  measured: string;
  ok: boolean;
}

export interface VerdictEvidence {
  /** One sentence with the numbers that decided the result. */
  summary: string;
  /** Fault step keys judged. */
  faults: string[];
  /** Names of the workload windows read. */
  windows: string[];
  checks: VerdictCheck[];
  /** Measured figures by name (ms, ratios, counts), null when not measured. */
  figures: Record<string, number | null>;
}

export interface VerdictRecord {
  name: VerdictName;
  /** The experiment's own title for it, when it gives one. */
  title?: string;
  result: VerdictResult;
  evidence: VerdictEvidence;
}
