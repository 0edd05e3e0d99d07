// What the workload records, as the journal holds it: counts by outcome, latency percentiles and the
// longest outage gap per window (baseline, each fault, recovery, the whole run) and per second.
// Only these fixed-size summaries are kept, never one entry per request, so memory stays flat.

/** How one request ended. `dropped`: the open model had no free slot when the request was due. */
export const OUTCOME_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'timeout', 'connection-error', 'dropped'] as const;
export type OutcomeClass = (typeof OUTCOME_CLASSES)[number];

/** Latency in milliseconds, measured from when a request was due (open model) or sent (closed model). */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export type WindowKind = 'baseline' | 'fault' | 'recovery' | 'total';

export interface WorkloadWindow {
  /** `baseline`, `fault freeze-a`, `recovery`, `total`. */
  name: string;
  kind: WindowKind;
  /** The fault's step key, for fault windows. */
  fault?: string;
  /** Offsets from the start of the method, in ms. */
  startMs: number;
  endMs: number;
  requests: number;
  /** Requests that met the workload's success rule (2xx/3xx unless `expect.status` says otherwise). */
  ok: number;
  errors: number;
  outcomes: Record<OutcomeClass, number>;
  /** ok / requests, or null without requests. */
  successRate: number | null;
  errorRate: number | null;
  /** Completed requests per second over the window. */
  throughput: number;
  /** Of every completed request, failed ones included; null without requests. */
  latency: LatencySummary | null;
  /** The longest time within the window without a successful answer, in ms. */
  longestGapMs: number;
}

/** One second of the run, for charts and for abort conditions on the workload. */
export interface WorkloadSecond {
  /** Seconds since the workload started. */
  t: number;
  requests: number;
  ok: number;
  errors: number;
  /** The failed requests by how they ended, when any failed (absent from journals written before it). */
  errorClasses?: Partial<Record<OutcomeClass, number>>;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** One worker process of a split workload (`replicas` > 1): its share and how well its clock matched the run's. */
export interface WorkloadWorker {
  index: number;
  pid: number | undefined;
  rate?: number;
  concurrency?: number;
  maxInFlight: number;
  /** Requests it recorded (its total window), 0 when it was lost. */
  requests: number;
  /** Its clock minus the run's, estimated from the ping with the shortest round trip (NTP-style midpoint). */
  clockSkewMs: number;
  /** That ping's round trip: the skew is known to ±half of it. */
  clockRttMs: number;
  /** The longest a fault window's start or end took to reach it: requests due in that span and answered before it count in the window before. */
  windowLagMs?: number;
  /** Why its traffic is missing from the record, when it died or stopped answering. */
  lost?: string;
}

export interface WorkloadRecord {
  model: 'open' | 'closed';
  method: string;
  url: string;
  /** Open model: requests started per second. */
  rate?: number;
  /** Closed model: users, each sending its next request when the previous one ended. */
  concurrency?: number;
  timeoutMs: number;
  /** Offsets from the start of the method, in ms (negative when traffic started before it). */
  startMs: number;
  endMs: number;
  seconds: WorkloadSecond[];
  /** Per-second entries merged to keep the series bounded on long runs (1 = none). */
  secondsPerEntry: number;
  /** Worker processes that drove the traffic, when `replicas` > 1 (absent: the run's own process). */
  workers?: WorkloadWorker[];
}

/** What the engine holds of a running workload, in process (generator.ts) or split over workers (replicated.ts). */
export interface RunningWorkload {
  readonly recorder: {
    faultApplied(key: string, name: string, atMs: number): void;
    faultEnded(key: string, atMs: number): void;
    trailing(ms: number): { seconds: number; requests: number; ok: number };
    watchSeconds(listener: (second: WorkloadSecond) => void): void;
  };
  /** Milliseconds since the workload started: the clock windows and seconds are kept on. */
  elapsed(): number;
  stop(abandon?: boolean): Promise<void>;
  result(offsetMs: number): { workload: WorkloadRecord; windows: WorkloadWindow[] };
}
