// How a workload with `replicas: N` is divided among its N worker processes: each gets 1/N of the
// rate (open model) or of the users (closed model) and of maxInFlight, split exactly (the shares add
// up to the whole; a remainder goes one each to the first workers), and an open-model phase so their
// requests interleave into one even stream instead of arriving N at a time.

export interface WorkerShare {
  index: number;
  /** Open model: this worker's requests per second. */
  rate?: number;
  /** Closed model: this worker's users. */
  concurrency?: number;
  maxInFlight: number;
  /** Open model: this worker's first request is due this long after the run's zero. */
  phaseMs: number;
}

/**
 * `total` in `parts` shares that add up to it: the whole units evenly, one more to each of the first
 * `units % parts` workers, and a fractional rest (a rate of 10.5) to the last worker, the one with the fewest.
 */
export function splitShares(total: number, parts: number): number[] {
  if (!Number.isInteger(parts) || parts < 1) throw new RangeError(`parts must be a positive integer, not ${parts}`);
  const units = Math.floor(total);
  const rest = total - units;
  const base = Math.floor(units / parts);
  const extra = units - base * parts;
  const shares = Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
  shares[parts - 1]! += rest;
  return shares;
}

export function workerShares(spec: { rate?: number | undefined; concurrency?: number | undefined; maxInFlight: number }, replicas: number): WorkerShare[] {
  const rates = spec.rate !== undefined ? splitShares(spec.rate, replicas) : undefined;
  const users = spec.concurrency !== undefined ? splitShares(spec.concurrency, replicas) : undefined;
  const slots = splitShares(spec.maxInFlight, replicas);
  return slots.map((maxInFlight, index) => ({
    index,
    ...(rates ? { rate: rates[index]! } : {}),
    ...(users ? { concurrency: users[index]! } : {}),
    maxInFlight,
    // Worker i's k-th request is due at (i + kN) / rate: the merged arrivals are as even as one generator's.
    phaseMs: spec.rate !== undefined ? (index * 1000) / spec.rate : 0,
  }));
}
