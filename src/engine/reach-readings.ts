// The engine's side of evidence of reach (drivers/types.ts): a fault's declared effect, and its
// driver's counters read at three moments, which the driver then judges into ReachEvidence for the
// journal. The three reads:
//   baseline  when the workload starts, for every planned fault whose action reads counters: its
//             targets are prepared (no mutating call) and read in the background, so the baseline is
//             never delayed; a read not finished when its fault is applied is left out, and so is
//             one whose targets differ from those the fault is applied to (random selection, a
//             target restarted in between) or whose arguments name outputs of steps still to come;
//   applied   as the fault is applied (started just before, beside the ledger intent and the apply);
//   undone    as it is undone (started just before, beside the undo; for a kill: when the method ends).
// Every read has a short deadline and never fails the run: a read that fails or times out is
// recorded as unavailable, and a judge that throws yields "cannot tell".
import { errorMessage } from '../core/errors.js';
import type { ActionDefinition, DriverContext, FaultEffect, PreparedAction, ReachEvidence, ReachReading, ReachReadings } from '../drivers/types.js';
import { withDeadline } from './activity.js';

/**
 * Long enough for a local round trip to a driver's server on a loaded machine (500 ms ran out on a
 * 2-core machine at load 25 and turned good runs into not-exercised). The reads run beside the apply
 * and the undo, so a slow read delays neither.
 */
export const REACH_READ_DEADLINE_MS = 2_000;
/** Preparing a target for the baseline read (listing pods, inspecting containers) may take longer; it runs in the background. */
export const REACH_PREPARE_DEADLINE_MS = 5_000;

type ContextFor = (signal: AbortSignal) => DriverContext;

/** The effect the action declares for these arguments; a declaration that throws declares nothing. */
export function declaredEffect(entry: ActionDefinition, args: unknown): FaultEffect | undefined {
  try {
    return entry.effect?.(args);
  } catch {
    return undefined;
  }
}

/** One bounded read of the driver's counters; never throws. */
export async function readReach(entry: ActionDefinition, args: unknown, prepared: PreparedAction, contextFor: ContextFor, parent?: AbortSignal): Promise<ReachReading | undefined> {
  if (!entry.readReach) return undefined;
  try {
    return await withDeadline((signal) => entry.readReach!(args, prepared, contextFor(signal)), REACH_READ_DEADLINE_MS, parent, 'reading the fault\'s counters');
  } catch (error) {
    return { counters: {}, unavailable: `the counters could not be read: ${errorMessage(error)}` };
  }
}

/** The driver's judgement of the readings; never throws. */
export function judgeReach(entry: ActionDefinition, args: unknown, readings: ReachReadings): ReachEvidence | undefined {
  if (!entry.judgeReach) return undefined;
  try {
    return entry.judgeReach(args, readings);
  } catch (error) {
    return { source: 'driver', reached: null, summary: `the driver could not judge its counters: ${errorMessage(error)}` };
  }
}

const sameTargets = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((target, i) => target === b[i]);

export interface BaselineRequest {
  key: string;
  entry: ActionDefinition;
  /** Resolves the step's arguments now; throws when they name outputs of steps still to come. */
  resolveArgs: () => unknown;
  contextFor: ContextFor;
}

/** Baseline reads started when the workload starts, taken by each fault when it is applied. */
export class BaselineReadings {
  private readonly done = new Map<string, { targets: string[]; reading: ReachReading }>();
  private readonly pending: Promise<void>[] = [];

  start(requests: readonly BaselineRequest[], signal: AbortSignal): void {
    for (const request of requests) {
      if (!request.entry.readReach) continue;
      this.pending.push(this.readOne(request, signal));
    }
  }

  private async readOne({ key, entry, resolveArgs, contextFor }: BaselineRequest, signal: AbortSignal): Promise<void> {
    try {
      const args = resolveArgs();
      const prepared = await withDeadline((s) => entry.prepare(args, contextFor(s)), REACH_PREPARE_DEADLINE_MS, signal, 'preparing the baseline read');
      const reading = await readReach(entry, args, prepared, contextFor, signal);
      if (reading) this.done.set(key, { targets: prepared.targets, reading });
    } catch {
      // No baseline for this fault: its driver judges from the other two readings.
    }
  }

  /** The baseline read for this fault, if it finished and saw the same targets. */
  take(key: string, targets: readonly string[]): ReachReading | undefined {
    const found = this.done.get(key);
    return found && sameTargets(found.targets, targets) ? found.reading : undefined;
  }

  /** Lets reads still in flight finish (each is bounded), so none outlives the run. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.pending);
  }
}
