// Evidence that a Docker fault reached the traffic: the target containers' network counters (rx/tx
// bytes of their interfaces, from one-shot Engine API stats), read at the workload's baseline, at apply
// and at undo. An outage (kill, stop, pause, disconnect, restart) reached the traffic when the container
// moved bytes right before it; any other fault, when it moved bytes while the fault was live. A few
// hundred bytes of background chatter (ARP, neighbour discovery) are not traffic: below 1 KiB is none.
import { errorMessage } from '../../core/errors.js';
import { processKillEffect } from '../process/reach.js';
import type { FaultEffect, PreparedAction, ReachEvidence, ReachReading, ReachReadings } from '../types.js';
import { dockerClient, type DockerSession } from './connection.js';
import type { Selection } from './select.js';
import { formatBytes } from './size.js';

const READ_TIMEOUT_MS = 3_000;
/** Less than this between two readings is background chatter, not a caller's request and answer. */
export const TRAFFIC_THRESHOLD_BYTES = 1024;

interface NetworkStats {
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

/** Bytes in and out of every interface of one container; undefined when it has none (stopped, host network). */
export function networkBytes(stats: NetworkStats): { rx: number; tx: number } | undefined {
  const networks = Object.values(stats.networks ?? {});
  if (networks.length === 0) return undefined;
  return networks.reduce((sum, n) => ({ rx: sum.rx + (n.rx_bytes ?? 0), tx: sum.tx + (n.tx_bytes ?? 0) }), { rx: 0, tx: 0 });
}

/** One-shot stats of each selected container; a container with no counters just has none in the reading. */
export async function readContainerBytes(prepared: PreparedAction, signal: AbortSignal, session: DockerSession | undefined): Promise<ReachReading> {
  const selection = prepared.state as Selection | undefined;
  if (!selection?.containers?.length) return { counters: {}, unavailable: 'no container was selected' };
  const docker = await dockerClient(selection.dockerHost, session);
  const counters: Record<string, number> = {};
  const abortSignal = AbortSignal.any([signal, AbortSignal.timeout(READ_TIMEOUT_MS)]);
  try {
    await Promise.all(
      selection.containers.map(async (ref) => {
        const stats = (await docker.getContainer(ref.id).stats({ stream: false, 'one-shot': true, abortSignal } as never)) as unknown as NetworkStats;
        const bytes = networkBytes(stats);
        if (bytes) Object.assign(counters, { [`rx:${ref.name}`]: bytes.rx, [`tx:${ref.name}`]: bytes.tx });
      }),
    );
  } catch (error) {
    return { counters, unavailable: `cannot read the containers' stats: ${errorMessage(error)}` };
  }
  return { counters };
}

/** Bytes the containers moved from one reading to the next, counting only containers read both times. */
function movedBetween(from: ReachReading, to: ReachReading): number | undefined {
  let total: number | undefined;
  for (const key of Object.keys(to.counters)) {
    if (from.counters[key] === undefined) continue;
    const delta = to.counters[key]! - from.counters[key]!;
    // A restarted container starts its counters again from zero.
    total = (total ?? 0) + (delta >= 0 ? delta : to.counters[key]!);
  }
  return total;
}

/** The containers a reading names (counters are keyed rx:<name> and tx:<name>). */
function containersOf(readings: ReachReadings): string {
  const names = [...new Set(Object.keys({ ...readings.baseline?.counters, ...readings.applied.counters }).map((key) => key.slice(3)))];
  return names.length === 0 ? 'the containers' : `container${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
}

/** Judges a Docker fault's readings: `what` names it ("kill"), `outage` says whether the target stops answering. */
export function judgeContainerReach(what: string, outage: boolean, readings: ReachReadings): ReachEvidence {
  const unavailable = [readings.baseline, readings.applied].find((r) => r?.unavailable)?.unavailable;
  const where = containersOf(readings);
  if (unavailable) return { source: 'driver', reached: null, summary: `no network counters: ${unavailable}` };
  if (Object.keys(readings.applied.counters).length === 0) {
    return { source: 'driver', reached: null, summary: `${where} had no network counters (host network, or not running), so whether they served traffic is unknown` };
  }
  const before = readings.baseline ? movedBetween(readings.baseline, readings.applied) : undefined;
  const during = readings.undone && !readings.undone.unavailable ? movedBetween(readings.applied, readings.undone) : undefined;
  if (during !== undefined && during >= TRAFFIC_THRESHOLD_BYTES) {
    return { source: 'driver', reached: true, summary: `${where} moved ${formatBytes(during)} on the network while the ${what} was live` };
  }
  if (outage && before !== undefined && before >= TRAFFIC_THRESHOLD_BYTES) {
    return { source: 'driver', reached: true, summary: `${where} moved ${formatBytes(before)} on the network between the baseline's start and the ${what}: it was serving traffic` };
  }
  if (outage ? before === undefined : during === undefined) {
    return { source: 'driver', reached: null, summary: outage ? `no reading at the workload's baseline, so whether ${where} served traffic before the ${what} is unknown` : `no reading when the ${what} was undone` };
  }
  const moved = outage ? before! : during!;
  return {
    source: 'driver',
    reached: false,
    summary: `${where} moved ${formatBytes(moved)} on the network ${outage ? `between the baseline's start and the ${what}` : `while the ${what} was live`}: no traffic went through them`,
  };
}

// ---- effects ---------------------------------------------------------------------------------------

/** A signal that ends the container's main process stops the container: its ports refuse. */
export function killEffect(signal: string | number): FaultEffect {
  return typeof signal === 'string' ? processKillEffect(signal) : {};
}

export const REFUSED: FaultEffect = { outage: 'refused' };
/** Frozen or cut off: connections are not refused, they go unanswered. */
export const BLACK_HOLE: FaultEffect = { delayMs: Infinity, outage: 'black-hole' };
