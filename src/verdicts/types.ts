// A resilience verdict as the journal holds it: its result and the evidence behind it, with numbers.

export const VERDICT_NAMES = ['timeouts', 'retries', 'failover', 'self-healing'] as const;
export type VerdictName = (typeof VERDICT_NAMES)[number];

/** unstable: the verdict differed between the repetitions of `run --repeat`; it does not pass. */
export const VERDICT_RESULTS = ['pass', 'fail', 'not-exercised', 'unstable'] as const;
export type VerdictResult = (typeof VERDICT_RESULTS)[number];

/** One bound checked against one measured figure: `p99 latency 612 ms ≤ 2 s`. */
export interface VerdictCheck {
  what: string;
  bound: string;
  measured: string;
  ok: boolean;
  /** A rate whose 95% interval straddles the bound: too few requests to decide (ok is false). */
  undecided?: boolean;
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
  /** What to change in the experiment so the verdict can be decided (not-exercised verdicts). */
  hint?: string;
  /** Traffic verdicts: each source's evidence that each fault reached the workload's requests. */
  reach?: ReachFinding[];
  /** Traffic verdicts: whether each fault could have broken the bounds on a system without the mechanism. */
  strength?: StrengthFinding[];
  /** After `run --repeat`: the result of each repetition, in order. */
  repetitions?: VerdictResult[];
}

/** One source's word on whether one fault acted on the workload's requests. */
export interface ReachFinding {
  fault: string;
  source: 'traffic' | 'driver' | 'injected';
  /** null: this source cannot tell. */
  reached: boolean | null;
  summary: string;
}

/** Whether a fault was strong enough to break the verdict's bounds on a system without the mechanism. */
export interface StrengthFinding {
  fault: string;
  /** null: the fault declares no effect, or its effect cannot be weighed against these bounds. */
  strong: boolean | null;
  summary: string;
  /** How to make the fault test the mechanism, when it cannot. */
  hint?: string;
}

export interface VerdictRecord {
  name: VerdictName;
  /** The experiment's own title for it, when it gives one. */
  title?: string;
  result: VerdictResult;
  evidence: VerdictEvidence;
}
