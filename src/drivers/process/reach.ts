// Evidence that a process fault reached the traffic, from what Linux tells about the process's sockets:
// its listening TCP sockets, the established connections it holds on those ports (callers connected to
// it), and the connections waiting in their accept queues (a frozen process cannot accept). Read from
// /proc/<pid>/fd (socket inodes) and /proc/<pid>/net/tcp{,6}; no mutating call. Linux keeps no
// per-process count of the connections a process served, so a caller whose short connections all fell
// between two readings goes unseen: the judge says "reached" or "cannot tell", never "not reached".
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { FaultEffect, ReachEvidence, ReachReading, ReachReadings } from '../types.js';

const LISTEN = '0A';
const ESTABLISHED = '01';

interface TcpRow {
  localPort: number;
  state: string;
  rxQueue: number;
  inode: string;
}

/** Rows of /proc/net/tcp or tcp6: `sl local rem st tx_queue:rx_queue tr:tm retrnsmt uid timeout inode …`. */
export function parseTcpTable(text: string): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const port = parseInt(fields[1]!.split(':').pop()!, 16);
    const rxQueue = parseInt(fields[4]!.split(':')[1] ?? '0', 16);
    rows.push({ localPort: port, state: fields[3]!, rxQueue, inode: fields[9]! });
  }
  return rows;
}

/** What one process's sockets show: listening sockets, callers connected, connections waiting to be accepted. */
export function socketCounters(inodes: Set<string>, rows: TcpRow[]): { listening: number; inbound: number; waiting: number } {
  const owned = rows.filter((row) => inodes.has(row.inode));
  const listens = owned.filter((row) => row.state === LISTEN);
  const ports = new Set(listens.map((row) => row.localPort));
  return {
    listening: listens.length,
    inbound: owned.filter((row) => row.state === ESTABLISHED && ports.has(row.localPort)).length,
    // For a listening socket, rx_queue is the accept queue: connections the process has not taken yet.
    waiting: listens.reduce((sum, row) => sum + row.rxQueue, 0),
  };
}

/** Reads the counters of a process (and its pid, for the summary); a gone or unreadable process is an `unavailable` reading. */
export async function readProcessSockets(pid: number): Promise<ReachReading> {
  try {
    const inodes = new Set<string>();
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const match = /^socket:\[(\d+)\]$/.exec(link);
      if (match) inodes.add(match[1]!);
    }
    const tables = await Promise.all(['tcp', 'tcp6'].map((name) => readFile(`/proc/${pid}/net/${name}`, 'utf8').catch(() => '')));
    return { counters: { pid, ...socketCounters(inodes, tables.flatMap(parseTcpTable)) } };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { counters: {}, unavailable: code === 'ENOENT' ? `pid ${pid} is gone` : `cannot read the sockets of pid ${pid} (${code ?? String(error)}): faultline needs the same user as the process, or root` };
  }
}

/** Judges a process fault: `what` names it ("kill", "stop"). */
export function judgeProcessReach(what: string, readings: ReachReadings): ReachEvidence {
  const { baseline, applied, undone } = readings;
  const pid = applied.counters.pid ?? baseline?.counters.pid ?? '?';
  if (applied.unavailable) return { source: 'driver', reached: null, summary: `no socket counters: ${applied.unavailable}` };
  const usable = [baseline, applied, undone].filter((r): r is ReachReading => !!r && !r.unavailable);
  const inbound = Math.max(...usable.map((r) => r.counters.inbound ?? 0));
  const waiting = Math.max(...usable.map((r) => r.counters.waiting ?? 0));
  if (undone && !undone.unavailable && (undone.counters.waiting ?? 0) > 0) {
    return { source: 'driver', reached: true, summary: `${undone.counters.waiting} connection(s) from callers waited in the accept queue of pid ${pid} while the ${what} was live` };
  }
  if (inbound > 0 || waiting > 0) {
    return { source: 'driver', reached: true, summary: `pid ${pid} held up to ${inbound} connection(s) from callers on its listening ports around the ${what}${waiting ? `, ${waiting} waiting to be accepted` : ''}` };
  }
  if ((applied.counters.listening ?? 0) === 0) {
    return { source: 'driver', reached: null, summary: `pid ${pid} has no listening TCP socket, so whether callers reached it is unknown` };
  }
  return {
    source: 'driver',
    reached: null,
    summary: `pid ${pid} held no connection from callers at the readings; Linux keeps no count of the connections a process served, so short connections between readings go unseen`,
  };
}

// ---- effects ---------------------------------------------------------------------------------------

/** Signals whose default action ends the process: its ports refuse afterwards. */
const ENDING_SIGNALS = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGABRT']);

export function processKillEffect(signal: string): FaultEffect {
  return ENDING_SIGNALS.has(signal) ? { outage: 'refused' } : {};
}

/** SIGSTOP: the kernel still completes handshakes into the backlog; nothing answers them. */
export const STOPPED_EFFECT: FaultEffect = { delayMs: Infinity, outage: 'black-hole' };
