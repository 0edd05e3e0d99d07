// Evidence that a Toxiproxy fault reached the traffic: the server's own per-proxy byte counters
// (`toxiproxy-server -proxy-metrics` serves them in Prometheus text at GET /metrics), read at the
// workload's baseline, at apply and at undo, and what each fault does to a request that meets it.
//
// Toxiproxy adds a connection's bytes to its counters when the connection ends (each direction is one
// io.Copy, counted once it returns), and counts `received` bytes on the way in, before its toxics act (a
// black-holed or reset request still counts). So bytes received between apply and undo mean connections
// that met the toxic ended in that time. Pooled connections that stay open through the window count
// later: when the proxy listens on this machine, the reading also counts the connections open through
// it (/proc/net/tcp), and a window with open connections but no counted bytes is "cannot tell", never
// "not reached". A proxy taken down carries nothing while it is down (and closes its connections, which
// then count): for an outage the evidence is also that it carried traffic right before it went.
import { errorMessage } from '../../core/errors.js';
import { readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { formatBytes } from '../docker/size.js';
import { parseTcpTable } from '../process/reach.js';
import type { FaultEffect, ReachEvidence, ReachReading, ReachReadings } from '../types.js';

const READ_TIMEOUT_MS = 2_000;
const METRIC_PREFIX = 'toxiproxy_proxy_';
export const NO_METRICS = 'this Toxiproxy serves no /metrics; start it with -proxy-metrics';

type Direction = 'upstream' | 'downstream';

/** Counter name in a reading: `received:<proxy>:<direction>` and `sent:<proxy>:<direction>`. */
function counterKey(kind: 'received' | 'sent', proxy: string, direction: Direction): string {
  return `${kind}:${proxy}:${direction}`;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!.replace(/\\(.)/g, '$1');
  return labels;
}

/**
 * The byte counters of the named proxies from a Prometheus text page. A proxy that never carried a
 * byte has no series yet: it reads as 0. Series of a deleted and re-created proxy add up.
 */
export function proxyByteCounters(page: string, proxies: string[]): Record<string, number> {
  const counters: Record<string, number> = {};
  for (const proxy of proxies) {
    for (const kind of ['received', 'sent'] as const) for (const direction of ['upstream', 'downstream'] as const) counters[counterKey(kind, proxy, direction)] = 0;
  }
  // The page keeps a series for every proxy the server ever had: skip the others before any regex.
  const wanted = proxies.map((proxy) => `proxy="${proxy.replace(/["\\]/g, '\\$&')}"`);
  for (const line of page.split('\n')) {
    if (!line.startsWith(METRIC_PREFIX) || !wanted.some((label) => line.includes(label))) continue;
    const match = /^toxiproxy_proxy_(received|sent)_bytes_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = parseLabels(match[2]!);
    const direction = labels.direction as Direction;
    if (!proxies.includes(labels.proxy ?? '') || (direction !== 'upstream' && direction !== 'downstream')) continue;
    const key = counterKey(match[1] as 'received' | 'sent', labels.proxy!, direction);
    counters[key] = (counters[key] ?? 0) + Number(match[3]);
  }
  return counters;
}

/**
 * One GET with node:http: `fetch` loads undici on its first call, which alone can take longer than the
 * engine's deadline for a reading on a busy machine.
 */
function getText(url: string, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(READ_TIMEOUT_MS)]) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Reads the proxies' byte counters from the server; never throws: a failure is an `unavailable` reading. */
export async function readProxyBytes(url: string, proxies: string[], signal: AbortSignal): Promise<ReachReading> {
  if (!url) return { counters: {}, unavailable: 'the managed Toxiproxy server was not running' };
  try {
    // Both at once: the engine gives a reading a short deadline.
    const [{ status, body: page }, open] = await Promise.all([getText(`${url}/metrics`, signal), openConnections(url, proxies, signal)]);
    // Without -proxy-metrics the server answers 404; with it, the page has at least the handler's own counters.
    if (status === 404) return { counters: {}, unavailable: NO_METRICS };
    if (status !== 200) return { counters: {}, unavailable: `${url}/metrics answered ${status}` };
    if (!page.includes('# TYPE') && !page.includes(METRIC_PREFIX)) return { counters: {}, unavailable: NO_METRICS };
    return { counters: { ...proxyByteCounters(page, proxies), ...open } };
  } catch (error) {
    return { counters: {}, unavailable: `cannot read ${url}/metrics: ${errorMessage(error)}` };
  }
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Counters `open:<proxy>`: established connections into each proxy's listening port, when the server
 * runs on this machine (its URL is loopback); none otherwise. Best effort: a failure leaves them out.
 */
async function openConnections(url: string, proxies: string[], signal: AbortSignal): Promise<Record<string, number>> {
  if (!LOCAL_HOSTS.has(new URL(url).hostname)) return {};
  try {
    const all = JSON.parse((await getText(`${url}/proxies`, signal)).body) as Record<string, { listen?: string }>;
    const rows = (await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((file) => readFile(file, 'utf8').catch(() => '')))).flatMap(parseTcpTable);
    const counters: Record<string, number> = {};
    for (const proxy of proxies) {
      const port = Number(all[proxy]?.listen?.split(':').pop());
      if (!port) continue;
      counters[`open:${proxy}`] = rows.filter((row) => row.state === '01' && row.localPort === port).length;
    }
    return counters;
  } catch {
    return {};
  }
}

/** Most connections open through the proxies at any of the readings; undefined when none could be counted. */
function openAtReadings(readings: (ReachReading | undefined)[], proxies: string[]): number | undefined {
  let most: number | undefined;
  for (const reading of readings) {
    if (!reading) continue;
    const counts = proxies.map((proxy) => reading.counters[`open:${proxy}`]).filter((n): n is number => n !== undefined);
    if (counts.length) most = Math.max(most ?? 0, counts.reduce((a, b) => a + b, 0));
  }
  return most;
}

/** Bytes received by the proxies (either direction) from one reading to the next. */
function receivedBetween(from: ReachReading, to: ReachReading, proxies: string[]): number {
  let total = 0;
  for (const proxy of proxies) {
    for (const direction of ['upstream', 'downstream'] as const) {
      const key = counterKey('received', proxy, direction);
      // Counters only grow; a smaller value means the server restarted in between: count from zero.
      const before = from.counters[key] ?? 0;
      const after = to.counters[key] ?? 0;
      total += after >= before ? after - before : after;
    }
  }
  return total;
}

function proxyList(proxies: string[]): string {
  return proxies.length === 1 ? `proxy ${proxies[0]}` : `proxies ${proxies.join(', ')}`;
}

/** What the judge needs to know of the fault: its name for the sentence, its proxies, toxicity and whether it is an outage. */
export interface ToxiproxyFault {
  what: string;
  proxies: string[];
  toxicity: number;
  outage: boolean;
}

/**
 * Judges the readings of a Toxiproxy fault. Toxic with toxicity 1: reached when bytes crossed its proxy
 * while it was live. Outage: also reached when bytes crossed right before it (callers that routed around
 * a dead proxy met the fault too). Toxicity below 1: cannot be confirmed per request (null).
 */
export function judgeProxyReach(fault: ToxiproxyFault, readings: ReachReadings): ReachEvidence {
  const { what, proxies, toxicity, outage } = fault;
  const where = proxyList(proxies);
  // A reading that failed counts as not taken.
  const usable = (reading?: ReachReading) => (reading && !reading.unavailable ? reading : undefined);
  const [baseline, undone] = [usable(readings.baseline), usable(readings.undone)];
  if (readings.applied.unavailable) {
    // Without the reading at apply, an outage can still be judged from the baseline to the undo: a proxy
    // that is down carries nothing, so bytes in that span crossed it before it went (or met the black hole).
    const span = outage && toxicity >= 1 && baseline && undone ? receivedBetween(baseline, undone, proxies) : 0;
    if (span > 0) return { source: 'driver', reached: true, summary: `${formatBytes(span)} crossed ${where} between the baseline's start and the undo of the ${what} (no reading at apply)` };
    return { source: 'driver', reached: null, summary: `no byte counters for ${where}: ${readings.applied.unavailable}` };
  }
  const during = undone ? receivedBetween(readings.applied, undone, proxies) : undefined;
  const before = baseline ? receivedBetween(baseline, readings.applied, proxies) : undefined;
  const duringText = during === undefined ? '' : `${formatBytes(during)} crossed ${where} while the ${what} was live`;
  const beforeText = before === undefined ? '' : `${formatBytes(before)} crossed ${where} between the baseline's start and the ${what}`;
  if (toxicity < 1) {
    return {
      source: 'driver',
      reached: null,
      summary:
        `toxicity ${toxicity}: Toxiproxy draws it per connection, so callers that reuse their connections may meet it on no request, ` +
        `and bytes crossing the proxy cannot tell which requests did${duringText ? ` (${duringText})` : ''}; ` +
        'use toxicity 1 on one of several instances, or a fault with exact counts',
    };
  }
  if (during !== undefined && during > 0) return { source: 'driver', reached: true, summary: duringText };
  if (outage && before !== undefined && before > 0) {
    return { source: 'driver', reached: true, summary: `${beforeText}${during === undefined ? '' : `, ${formatBytes(during)} while it was live`}: the traffic went through it when it went` };
  }
  if (outage && before === undefined && (during === undefined || during === 0)) {
    return {
      source: 'driver',
      reached: null,
      summary: `no reading at the workload's baseline${readings.baseline?.unavailable ? ` (${readings.baseline.unavailable})` : ''}, so whether traffic crossed ${where} before the ${what} is unknown${duringText ? ` (${duringText})` : ''}`,
    };
  }
  if (during === undefined) {
    return { source: 'driver', reached: null, summary: `no reading when the ${what} was undone${readings.undone?.unavailable ? ` (${readings.undone.unavailable})` : ''}, so whether traffic met it is unknown` };
  }
  const open = openAtReadings(outage ? [baseline, readings.applied, undone] : [readings.applied, undone], proxies);
  if (open) {
    return {
      source: 'driver',
      reached: null,
      summary: `no connection through ${where} ended ${outage ? "from the baseline's start until the undo" : `while the ${what} was live`}, but up to ${open} stayed open (Toxiproxy counts a connection's bytes when it closes), so whether requests met it is unknown`,
    };
  }
  const path = `the workload's requests do not go through ${proxies.length === 1 ? 'it' : 'them'}`;
  return { source: 'driver', reached: false, summary: outage ? `no bytes crossed ${where} from the baseline's start until the ${what} was undone: ${path}` : `no bytes crossed ${where} while the ${what} was live: ${path}` };
}

// ---- effects: what each fault does to a request that meets it ------------------------------------

/** Adds the per-connection draw of a toxicity below 1 to an effect. */
function withToxicity(effect: FaultEffect, toxicity: number, failing: boolean): FaultEffect {
  if (toxicity >= 1) return effect;
  return { ...effect, ...(failing ? { failShare: toxicity } : {}), perConnection: true };
}

export function latencyEffect(latencyMs: number, jitterMs: number, toxicity: number): FaultEffect {
  return withToxicity({ delayMs: Math.max(0, latencyMs - jitterMs) }, toxicity, false);
}

/** timeout 0: no data ever passes and the connection stays open (a black hole); otherwise closed after the timeout. */
export function timeoutEffect(timeoutMs: number, toxicity: number): FaultEffect {
  if (timeoutMs === 0) return withToxicity({ delayMs: Infinity, outage: 'black-hole' }, toxicity, true);
  return withToxicity({ delayMs: timeoutMs, failShare: 1 }, toxicity, true);
}

export function resetPeerEffect(toxicity: number): FaultEffect {
  return { failShare: toxicity, ...(toxicity < 1 ? { perConnection: true } : {}) };
}

/** rate 0 stops the data (a black hole); any other rate delays by the response size, which the fault cannot know. */
export function bandwidthEffect(rate: number, toxicity: number): FaultEffect {
  return rate === 0 ? withToxicity({ delayMs: Infinity, outage: 'black-hole' }, toxicity, true) : withToxicity({}, toxicity, false);
}

/** Both streams black-holed: the proxies stop answering; closed after the timeout when it is set. */
export function partitionEffect(timeoutMs: number, toxicity: number): FaultEffect {
  const effect: FaultEffect = timeoutMs === 0 ? { delayMs: Infinity, outage: 'black-hole' } : { delayMs: timeoutMs, failShare: 1, outage: 'black-hole' };
  return withToxicity(effect, toxicity, true);
}

/** A disabled proxy closes its listener: connections are refused. */
export const DOWN_EFFECT: FaultEffect = { outage: 'refused' };
