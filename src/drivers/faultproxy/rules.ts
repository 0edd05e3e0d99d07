// What a fault on the fault proxy is and how it decides, request by request, whether to act: which
// requests it matches (method, path glob or regex, headers), which of those it selects (a seeded
// share, the first N, every Nth, N in a row then M passed), and the exact counts of what it did.
// Pure and free of zod and of the project's drivers: the proxy's child process imports it too.
import { fnv1a32 } from '../../core/hash.js';

export interface FaultMatch {
  /** Upper-case methods; absent: any. */
  methods?: string[];
  /** A glob on the path without the query: `*` within one segment, `**` across segments, `?` one character. */
  path?: string;
  /** A regular expression tested against the path without the query. */
  pathRegex?: string;
  /** Header name (any case) → exact value, or a regular expression written `/…/`. */
  headers?: Record<string, string>;
}

export type FaultSelect =
  | { kind: 'all' }
  /** Each matching request is faulted with this probability, drawn from the run's seed: a replay faults the same ones. */
  | { kind: 'share'; share: number }
  | { kind: 'first'; n: number }
  | { kind: 'every'; n: number }
  /** `fail` in a row, then `pass` in a row, over and over (a circuit breaker's view of an outage). */
  | { kind: 'cycle'; fail: number; pass: number };

export type FaultDo =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** reset: TCP RST; close: a plain close (FIN) before any response byte. */
  | { kind: 'abort'; mode: 'reset' | 'close' }
  /** response: before the request goes upstream; first-byte: the upstream's answer is held back. */
  | { kind: 'delay'; delayMs: number; jitterMs: number; stage: 'response' | 'first-byte' }
  | { kind: 'throttle'; bytesPerSecond: number };

export interface FaultSpec {
  id: string;
  /** Mixed into the run seed for share draws: the same in a replay, whatever the run id (the id carries it). */
  salt: string;
  match: FaultMatch;
  select: FaultSelect;
  do: FaultDo;
}

/** What one fault did since it was added: every request that reached it is either faulted or passed. */
export interface FaultCounts {
  seen: number;
  /** Seen and matched by method, path and headers (faulted ones included). */
  matched: number;
  faulted: number;
  passed: number;
}

export interface FaultReport extends FaultCounts {
  id: string;
  do: FaultDo;
  select: FaultSelect;
  addedAt: string;
  removedAt?: string;
  /** [seen, faulted] in each second since the fault was added (at most MAX_SECONDS of them). */
  perSecond: [number, number][];
}

/** The per-second series stops growing after an hour; the totals stay exact. */
export const MAX_SECONDS = 3600;

/** The request as the rules see it: what a matcher may look at. */
export interface RequestView {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  /** Node's lower-cased header map. */
  headers: Record<string, string | string[] | undefined>;
}

/** A path glob as a regular expression: `**` crosses segments, `*` and `?` stay within one. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function headerTest(expected: string): (value: string) => boolean {
  const regex = /^\/(.*)\/$/s.exec(expected);
  if (regex) {
    const pattern = new RegExp(regex[1]!);
    return (value) => pattern.test(value);
  }
  return (value) => value === expected;
}

/** One compiled test per criterion; a request matches when every one holds. */
export function compileMatch(match: FaultMatch): (request: RequestView) => boolean {
  const tests: ((request: RequestView) => boolean)[] = [];
  if (match.methods && match.methods.length > 0) {
    const methods = new Set(match.methods.map((m) => m.toUpperCase()));
    tests.push((r) => methods.has(r.method));
  }
  const pathOf = (url: string) => {
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  };
  if (match.path !== undefined) {
    const glob = globToRegExp(match.path);
    tests.push((r) => glob.test(pathOf(r.url)));
  }
  if (match.pathRegex !== undefined) {
    const regex = new RegExp(match.pathRegex);
    tests.push((r) => regex.test(pathOf(r.url)));
  }
  for (const [name, expected] of Object.entries(match.headers ?? {})) {
    const key = name.toLowerCase();
    const test = headerTest(expected);
    tests.push((r) => {
      const value = r.headers[key];
      if (value === undefined) return false;
      return Array.isArray(value) ? value.some(test) : test(value);
    });
  }
  if (tests.length === 0) return () => true;
  return (request) => tests.every((test) => test(request));
}

/** murmur3's finalizer: spreads every input bit over the output. */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The draw for the k-th matching request of a fault, in [0, 1): a function of the seed, the fault's salt and k
 * only (no state that depends on timing), so the same run with the same seed faults the same requests.
 */
export function shareDraw(seed: number, salt: string, k: number): number {
  const mixed = mix32((seed >>> 0) ^ fnv1a32(salt));
  return mix32(mixed + Math.imul(k + 1, 0x9e3779b1)) / 4_294_967_296;
}

/** Whether the k-th (0-based) matching request is selected. */
export function selects(select: FaultSelect, k: number, seed: number, salt: string): boolean {
  switch (select.kind) {
    case 'all':
      return true;
    case 'share':
      return shareDraw(seed, salt, k) < select.share;
    case 'first':
      return k < select.n;
    case 'every':
      return (k + 1) % select.n === 0;
    case 'cycle':
      return k % (select.fail + select.pass) < select.fail;
  }
}

/** The share of matching requests a selection faults in the long run; undefined when it has none (first N). */
export function longRunShare(select: FaultSelect): number | undefined {
  switch (select.kind) {
    case 'all':
      return 1;
    case 'share':
      return select.share;
    case 'first':
      return undefined;
    case 'every':
      return 1 / select.n;
    case 'cycle':
      return select.fail / (select.fail + select.pass);
  }
}

/** A fault on a running proxy: decides per request and counts. */
export class ActiveFault {
  readonly counts: FaultCounts = { seen: 0, matched: 0, faulted: 0, passed: 0 };
  private readonly perSecond: [number, number][] = [];
  private readonly matches: (request: RequestView) => boolean;
  readonly addedAtMs: number;
  removedAtMs: number | undefined;

  constructor(
    readonly spec: FaultSpec,
    private readonly seed: number,
    private readonly now: () => number = Date.now,
  ) {
    this.matches = compileMatch(spec.match);
    this.addedAtMs = now();
  }

  /** Counts the request and says whether this fault acts on it. */
  decide(request: RequestView): boolean {
    const { counts } = this;
    counts.seen++;
    let faulted = false;
    if (this.matches(request)) {
      faulted = selects(this.spec.select, counts.matched, this.seed, this.spec.salt);
      counts.matched++;
    }
    if (faulted) counts.faulted++;
    else counts.passed++;
    const second = Math.floor((this.now() - this.addedAtMs) / 1000);
    if (second < MAX_SECONDS) {
      while (this.perSecond.length <= second) this.perSecond.push([0, 0]);
      const bucket = this.perSecond[second]!;
      bucket[0]++;
      if (faulted) bucket[1]++;
    }
    return faulted;
  }

  report(): FaultReport {
    return {
      id: this.spec.id,
      do: this.spec.do,
      select: this.spec.select,
      ...this.counts,
      addedAt: new Date(this.addedAtMs).toISOString(),
      ...(this.removedAtMs !== undefined ? { removedAt: new Date(this.removedAtMs).toISOString() } : {}),
      perSecond: this.perSecond.map(([seen, faulted]) => [seen, faulted]),
    };
  }
}

/** A delay with its jitter drawn: uniform in delay ± jitter, never below zero. */
export function drawDelay(delayMs: number, jitterMs: number, random: () => number = Math.random): number {
  if (jitterMs <= 0) return delayMs;
  return Math.max(0, delayMs + (random() * 2 - 1) * jitterMs);
}

/** What the faults in force decide for one request, in the order they were added. */
export interface Decision {
  /** Held before the request goes upstream (or before the terminal fault acts). */
  responseDelayMs: number;
  /** Held between the upstream's answer and its first byte to the caller. */
  firstByteDelayMs: number;
  /** The lowest throttle selected, in bytes per second. */
  throttle?: number;
  /** A status or abort fault ends the request here; later faults do not see it. */
  terminal?: Extract<FaultDo, { kind: 'status' | 'abort' }>;
}

/**
 * The request meets the faults in the order they were added. Each one counts it and decides on its own;
 * delays add up and the lowest throttle wins; the first status or abort fault that selects it ends it,
 * and the faults after that one do not see it (their counts leave it out).
 */
export function decide(faults: readonly ActiveFault[], request: RequestView): Decision | undefined {
  let decision: Decision | undefined;
  for (const fault of faults) {
    if (!fault.decide(request)) continue;
    decision ??= { responseDelayMs: 0, firstByteDelayMs: 0 };
    const action = fault.spec.do;
    switch (action.kind) {
      case 'delay': {
        const ms = drawDelay(action.delayMs, action.jitterMs);
        if (action.stage === 'response') decision.responseDelayMs += ms;
        else decision.firstByteDelayMs += ms;
        break;
      }
      case 'throttle':
        decision.throttle = Math.min(decision.throttle ?? Infinity, action.bytesPerSecond);
        break;
      default:
        decision.terminal = action;
        return decision;
    }
  }
  return decision;
}

/** "503 to 37 of 190 requests", "reset 2 of 9 requests", "delayed 12 of 40 requests": the reach in one phrase. */
export function describeCounts(action: FaultDo, counts: Pick<FaultCounts, 'seen' | 'faulted'>): string {
  const of = `${counts.faulted} of ${counts.seen} request${counts.seen === 1 ? '' : 's'}`;
  switch (action.kind) {
    case 'status':
      return `${action.status} to ${of}`;
    case 'abort':
      return `${action.mode === 'reset' ? 'reset' : 'closed'} ${of}`;
    case 'delay':
      return `delayed ${of}`;
    case 'throttle':
      return `throttled ${of}`;
  }
}
