// The `faultproxy` driver: HTTP-level faults through faultline's own reverse proxy, which counts exactly
// what it did. The experiment declares the proxies (listen address, upstream URL) under
// `targets.faultproxy`; the run starts them in a process of their own before the setup and stops it after
// the teardown, through the ledger. Faults answer with a status, abort, delay or throttle the requests
// they select, and each one's counts (seen, faulted, passed) are the evidence of reach the verdicts read.
//
// Named `faultproxy` rather than `http-fault`: it is a proxy the run starts and steps refer to
// (`faultproxy.status`, `faultproxy.counters`), its settings declare proxies like Toxiproxy's do, and
// `http` is already the probe that sends one request.
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { FaultlineError, errorMessage } from '../../core/errors.js';
import { formatRatio, ratioSchema } from '../../core/ratio.js';
import { isValidPattern } from '../selection.js';
import type { ActionDefinition, Driver, DriverContext, FaultEffect, PreparedAction, ProbeDefinition, ProvisionDefinition, ReachEvidence, ReachReading, UndoDefinition } from '../types.js';
import { ControlClient, type ServerConfig, type ServerState } from './control.js';
import { processesWithToken, newToken, readState, startProxyServer, stateDirFor, stopProxyServer } from './managed.js';
import type { ProxyConfig } from './proxy.js';
import { describeCounts, longRunShare, type FaultDo, type FaultMatch, type FaultReport, type FaultSelect, type FaultSpec } from './rules.js';

// ---- targets ---------------------------------------------------------------------------------------

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, like 127.0.0.1:21510');

const declaredProxySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, ".", "_" or "-"').meta({ description: 'Proxy name, as faults and probes refer to it.' }),
  listen: hostPort.meta({ description: 'Where the proxy listens, like 127.0.0.1:21510 (port 0: any free port, shown in the provision output).' }),
  upstream: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).meta({ description: 'Where it forwards to: http://host:port or https://host:port (a path is ignored).' }),
  tls: z
    .strictObject({
      cert: z.string().min(1).meta({ description: 'PEM certificate (chain), relative to the experiment file.' }),
      key: z.string().min(1).meta({ description: 'PEM private key, relative to the experiment file.' }),
    })
    .optional()
    .meta({ description: 'Serve callers over HTTPS with this certificate and key.' }),
  upstreamCa: z.string().min(1).optional().meta({ description: 'A PEM CA certificate to trust for an HTTPS upstream, relative to the experiment file.' }),
  upstreamInsecure: z.boolean().default(false).meta({ description: 'Accept any certificate from an HTTPS upstream (default false).' }),
  hostHeader: z
    .enum(['preserve', 'upstream'])
    .default('preserve')
    .meta({ description: "preserve (default): the caller's Host goes upstream unchanged, as through a TCP proxy; upstream: the upstream's host:port." }),
});
type DeclaredProxy = z.output<typeof declaredProxySchema>;

const targetSettings = z
  .strictObject({
    proxies: z.array(declaredProxySchema).default([]).meta({ description: 'The fault proxies the run starts; faults and probes may touch only these.' }),
  })
  .meta({ description: "faultline's HTTP fault proxies: started for the run, stopped after it." });
type TargetSettings = z.output<typeof targetSettings>;

function settingsOf(ctx: DriverContext): TargetSettings {
  return (ctx.target as TargetSettings | undefined) ?? targetSettings.parse({});
}

function declaredProxy(name: string, ctx: DriverContext): DeclaredProxy {
  const declared = settingsOf(ctx).proxies;
  const found = declared.find((p) => p.name === name);
  if (found) return found;
  throw new FaultlineError('E_PREFLIGHT', `fault proxy "${name}" is not declared under targets.faultproxy.proxies`, {
    hint: declared.length ? `declared: ${declared.map((p) => p.name).join(', ')}` : 'Declare it with a name, a listen address and an upstream URL.',
  });
}

function describeProxy(proxy: Pick<DeclaredProxy, 'name' | 'listen' | 'upstream' | 'tls'>, listen = proxy.listen): string {
  return `fault proxy ${proxy.name} (${proxy.tls ? 'https' : 'http'}://${listen} → ${new URL(proxy.upstream).origin})`;
}

/** The run's proxy process as it stands: undefined before the provision started it (plan, --dry-run). */
async function runningState(ctx: DriverContext): Promise<ServerState | undefined> {
  return readState(stateDirFor(ctx.runId));
}

async function requireState(ctx: DriverContext): Promise<ServerState> {
  const state = await runningState(ctx);
  if (state) return state;
  throw new FaultlineError('E_DRIVER', 'the fault proxy of this run is not running', {
    hint: 'The run starts it before the setup from targets.faultproxy.proxies; see the provision step in the journal.',
  });
}

// ---- undos -----------------------------------------------------------------------------------------

const stopArgs = z.strictObject({ stateDir: z.string().min(1), token: z.string().min(1) });

/** Undo of the provision: the proxy's process, found by the token on its command line. */
const stop: UndoDefinition<z.output<typeof stopArgs>> = {
  args: stopArgs,
  async run(args, ctx) {
    const state = await readState(args.stateDir);
    if (state && state.token === args.token) {
      // The journal keeps the proxy's last word: what crossed it, and what each fault did.
      try {
        for (const proxy of (await new ControlClient(state.control).status()).proxies) {
          const { requests, forwarded, faulted, upstreamErrors, clientErrors } = proxy.totals;
          ctx.log(`fault proxy ${proxy.name}: ${requests} requests, ${forwarded} answered by the upstream, ${faulted} ended by a fault, ${upstreamErrors} upstream errors (502), ${clientErrors} malformed`);
        }
      } catch {
        // A proxy that does not answer is stopped all the same.
      }
    }
    await stopProxyServer(args, ctx.log);
  },
};

const removeFaultArgs = z.strictObject({ stateDir: z.string().min(1), proxy: z.string().min(1), id: z.string().min(1) });

/** "per second (seen/faulted): 12/3 14/2 …", shortened in the middle for long faults. */
function perSecondLine(report: FaultReport): string {
  const cells = report.perSecond.map(([seen, faulted]) => `${seen}/${faulted}`);
  const shown = cells.length > 40 ? [...cells.slice(0, 20), `… ${cells.length - 40} s …`, ...cells.slice(-20)] : cells;
  return `per second (seen/faulted): ${shown.join(' ') || 'none'}`;
}

const removeFault: UndoDefinition<z.output<typeof removeFaultArgs>> = {
  args: removeFaultArgs,
  async run(args, ctx) {
    const state = await readState(args.stateDir);
    if (!state) {
      ctx.log(`the fault proxy is gone, and fault ${args.id} with it`);
      return;
    }
    let report: FaultReport | undefined;
    try {
      report = await new ControlClient(state.control).removeFault(args.proxy, args.id);
    } catch (error) {
      if ((await processesWithToken(state.token)).length === 0) {
        ctx.log(`the fault proxy (pid ${state.pid}) is gone, and fault ${args.id} with it`);
        return;
      }
      throw new FaultlineError('E_DRIVER', `cannot remove fault ${args.id} from fault proxy ${args.proxy}: ${errorMessage(error)}`, { cause: error });
    }
    if (!report) {
      ctx.log(`fault ${args.id} was never on fault proxy ${args.proxy}: nothing to remove`);
      return;
    }
    ctx.log(`removed fault ${args.id} from fault proxy ${args.proxy}: ${describeCounts(report.do, report)}, ${report.passed} passed`);
    ctx.log(perSecondLine(report));
  },
};

// ---- provision ------------------------------------------------------------------------------------

interface ProvisionState {
  stateDir: string;
  token: string;
  config: ServerConfig;
}

function resolveFile(path: string, ctx: DriverContext, what: string): string {
  const resolved = isAbsolute(path) ? path : resolvePath(ctx.cwd, path);
  try {
    accessSync(resolved, constants.R_OK);
  } catch {
    throw new FaultlineError('E_PREFLIGHT', `${what} ${path} cannot be read (looked at ${resolved})`, { hint: 'Paths are relative to the experiment file.' });
  }
  return resolved;
}

function proxyConfig(declared: DeclaredProxy, ctx: DriverContext): ProxyConfig {
  const at = declared.listen.lastIndexOf(':');
  return {
    name: declared.name,
    host: declared.listen.slice(0, at).replace(/^\[|\]$/g, ''),
    port: Number(declared.listen.slice(at + 1)),
    upstream: new URL(declared.upstream).origin,
    ...(declared.tls
      ? { tls: { cert: resolveFile(declared.tls.cert, ctx, `the certificate of fault proxy ${declared.name}`), key: resolveFile(declared.tls.key, ctx, `the key of fault proxy ${declared.name}`) } }
      : {}),
    ...(declared.upstreamCa ? { upstreamCa: resolveFile(declared.upstreamCa, ctx, `the upstream CA of fault proxy ${declared.name}`) } : {}),
    upstreamInsecure: declared.upstreamInsecure,
    hostHeader: declared.hostHeader,
  };
}

const provision: ProvisionDefinition = {
  async prepare(ctx) {
    const declared = settingsOf(ctx).proxies;
    if (declared.length === 0) return null;
    const names = declared.map((p) => p.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate) throw new FaultlineError('E_PREFLIGHT', `fault proxy "${duplicate}" is declared twice`, { hint: 'Give each proxy its own name.' });
    const state: ProvisionState = { stateDir: stateDirFor(ctx.runId), token: newToken(ctx.runId), config: { seed: ctx.seed, proxies: declared.map((p) => proxyConfig(p, ctx)) } };
    return {
      targets: declared.map((p) => `${describeProxy(p)}, started by the run`),
      undo: { driver: 'faultproxy', op: 'stop', args: { stateDir: state.stateDir, token: state.token } },
      state,
    };
  },
  async apply(prepared, ctx) {
    const { stateDir, token, config } = prepared.state as ProvisionState;
    const started = await startProxyServer({ stateDir, token, config, signal: ctx.signal });
    for (const [name, listen] of Object.entries(started.proxies)) {
      ctx.log(`started ${describeProxy(declaredProxy(name, ctx), listen)} in pid ${started.pid}`);
    }
    return { pid: started.pid, control: started.control, listen: started.proxies };
  },
};

async function preflight(ctx: DriverContext): Promise<void> {
  const state = await requireState(ctx);
  try {
    await new ControlClient(state.control).status();
  } catch (error) {
    throw new FaultlineError('E_PREFLIGHT', `the fault proxy (pid ${state.pid}) does not answer on ${state.control}: ${errorMessage(error)}`, { cause: error });
  }
}

// ---- faults ----------------------------------------------------------------------------------------

const labelSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'expected lower-case letters, digits, - and _')
  .optional()
  .meta({ description: 'Names the fault faultline-<run id>-<name>, for the counters probe; default: its kind and a random suffix.' });

const methodSchema = z
  .string()
  .regex(/^[A-Za-z]+$/, 'expected an HTTP method like GET or POST')
  .transform((m) => m.toUpperCase());

/** Which requests a fault looks at, and which of those it acts on. */
const selectionShape = {
  proxy: z.string().min(1).meta({ description: 'Name of a proxy declared under targets.faultproxy.proxies.' }),
  method: z.union([methodSchema, z.array(methodSchema).min(1)]).optional().meta({ description: 'Only these methods: GET, or [POST, PUT] (default: any).' }),
  path: z.string().startsWith('/', 'expected a path glob starting with /').optional().meta({ description: 'Only paths matching this glob, query left out: * within a segment, ** across segments (/orders/**).' }),
  pathRegex: z.string().refine(isValidPattern, 'expected a regular expression').optional().meta({ description: 'Only paths (query left out) matching this regular expression.' }),
  headers: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: 'Only requests with these headers: name → exact value, or a regular expression written /…/.' }),
  share: ratioSchema.optional().meta({ description: 'Act on this share of the matching requests ("20%"), drawn from the run seed: a replay with --seed acts on the same ones.' }),
  first: z.int().positive().optional().meta({ description: 'Act on the first N matching requests, then let every one pass.' }),
  every: z.int().positive().optional().meta({ description: 'Act on every Nth matching request (every: 3 → the 3rd, 6th, …).' }),
  cycle: z
    .strictObject({
      fail: z.int().positive().meta({ description: 'Requests acted on in a row.' }),
      pass: z.int().positive().meta({ description: 'Then requests let through in a row.' }),
    })
    .optional()
    .meta({ description: 'Act on `fail` in a row, let `pass` through, and again (a circuit breaker should open in the run of failures).' }),
  name: labelSchema,
};

type SelectionArgs = {
  proxy: string;
  method?: string | string[] | undefined;
  path?: string | undefined;
  pathRegex?: string | undefined;
  headers?: Record<string, string> | undefined;
  share?: number | undefined;
  first?: number | undefined;
  every?: number | undefined;
  cycle?: { fail: number; pass: number } | undefined;
  name?: string | undefined;
};

const SELECTORS = ['share', 'first', 'every', 'cycle'] as const;

function withOneSelector<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape).superRefine((value, ctx) => {
    const given = SELECTORS.filter((key) => (value as Record<string, unknown>)[key] !== undefined);
    if (given.length > 1) ctx.addIssue({ code: 'custom', message: `choose one of share, first, every and cycle; got ${given.join(' and ')}`, path: [given[1]!] });
  });
}

function matchOf(args: SelectionArgs): FaultMatch {
  return {
    ...(args.method !== undefined ? { methods: Array.isArray(args.method) ? args.method : [args.method] } : {}),
    ...(args.path !== undefined ? { path: args.path } : {}),
    ...(args.pathRegex !== undefined ? { pathRegex: args.pathRegex } : {}),
    ...(args.headers !== undefined ? { headers: args.headers } : {}),
  };
}

function selectOf(args: SelectionArgs): FaultSelect {
  if (args.share !== undefined) return { kind: 'share', share: args.share };
  if (args.first !== undefined) return { kind: 'first', n: args.first };
  if (args.every !== undefined) return { kind: 'every', n: args.every };
  if (args.cycle !== undefined) return { kind: 'cycle', ...args.cycle };
  return { kind: 'all' };
}

function describeSelection(args: SelectionArgs): string {
  const select = selectOf(args);
  const which =
    select.kind === 'all'
      ? 'all'
      : select.kind === 'share'
        ? `${formatRatio(select.share)} of the`
        : select.kind === 'first'
          ? `the first ${select.n}`
          : select.kind === 'every'
            ? `every ${select.n}th of the`
            : `${select.fail} in a row, then ${select.pass} passed, of the`;
  const match = matchOf(args);
  const criteria = [match.methods?.join('|'), match.path, match.pathRegex && `/${match.pathRegex}/`, ...Object.entries(match.headers ?? {}).map(([k, v]) => `${k}: ${v}`)].filter(Boolean);
  return `${which} ${criteria.length ? `${criteria.join(' ')} ` : ''}requests`;
}

function describeDo(action: FaultDo): string {
  switch (action.kind) {
    case 'status':
      return `answer ${action.status} to`;
    case 'abort':
      return action.mode === 'reset' ? 'reset the connection of' : 'close the connection of';
    case 'delay':
      return `delay the ${action.stage === 'response' ? 'response' : 'first byte'} by ${formatDuration(action.delayMs)}${action.jitterMs ? ` ±${formatDuration(action.jitterMs)}` : ''} for`;
    case 'throttle':
      return `throttle to ${action.bytesPerSecond} bytes/s the answers of`;
  }
}

interface PreparedFault {
  stateDir: string;
  proxy: string;
  spec: FaultSpec;
}

/** The selection of requests narrowed by nothing but the selector: only then is the share of all requests known. */
function unfiltered(args: SelectionArgs): boolean {
  return args.method === undefined && args.path === undefined && args.pathRegex === undefined && args.headers === undefined;
}

/** One action per kind of fault: its own arguments, the selection shared. */
function faultAction<S extends z.ZodRawShape>(
  kind: FaultDo['kind'],
  description: string,
  shape: S,
  toDo: (args: z.output<z.ZodObject<S>>) => FaultDo,
  effect: (args: SelectionArgs & z.output<z.ZodObject<S>>, action: FaultDo) => FaultEffect,
): ActionDefinition {
  const args = withOneSelector({ ...selectionShape, ...shape });
  type Args = SelectionArgs & z.output<z.ZodObject<S>>;
  return {
    description,
    args,
    reversible: true,
    async prepare(parsed: Args, ctx): Promise<PreparedAction> {
      const declared = declaredProxy(parsed.proxy, ctx);
      const id = `faultline-${ctx.runId}-${parsed.name ?? `${kind}-${randomBytes(2).toString('hex')}`}`;
      const fault = { match: matchOf(parsed), select: selectOf(parsed), do: toDo(parsed) };
      // The run id is in the id, not in the salt: a replay with the same seed must draw the same requests.
      const spec: FaultSpec = { id, salt: `${declared.name}:${parsed.name ?? ''}:${JSON.stringify(fault)}`, ...fault };
      const state = await runningState(ctx);
      const target = `${describeProxy(declared, state?.proxies[declared.name])}: ${describeDo(spec.do)} ${describeSelection(parsed)} (${id})`;
      const stateDir = stateDirFor(ctx.runId);
      return {
        targets: [target],
        undo: { driver: 'faultproxy', op: 'remove-fault', args: { stateDir, proxy: declared.name, id } },
        state: { stateDir, proxy: declared.name, spec } satisfies PreparedFault,
      };
    },
    async apply(_parsed: Args, prepared, ctx) {
      const { proxy, spec } = prepared.state as PreparedFault;
      const state = await requireState(ctx);
      let outcome: 'added' | 'exists';
      try {
        outcome = await new ControlClient(state.control).addFault(proxy, spec);
      } catch (error) {
        throw new FaultlineError('E_DRIVER', `cannot add fault ${spec.id} to fault proxy ${proxy}: ${errorMessage(error)}`, { cause: error });
      }
      if (outcome === 'exists') {
        throw new FaultlineError('E_DRIVER', `the fault name "${spec.id}" is already taken on fault proxy ${proxy}`, {
          hint: 'Two faults of this run use the same `name`; give each its own.',
        });
      }
      ctx.log(`added fault ${spec.id} to fault proxy ${proxy} (${state.proxies[proxy]})`);
      return { proxy, fault: spec.id, listen: state.proxies[proxy] };
    },
    effect: (parsed: Args) => effect(parsed, toDo(parsed)),
    async readReach(_parsed: Args, prepared, ctx): Promise<ReachReading> {
      const { stateDir, proxy, spec } = prepared.state as PreparedFault;
      const state = await readState(stateDir);
      if (!state) return { counters: {}, unavailable: 'the fault proxy is not running' };
      try {
        const report = await new ControlClient(state.control).fault(proxy, spec.id);
        if (!report) return { counters: { seen: 0, matched: 0, faulted: 0, passed: 0 } };
        return { counters: { seen: report.seen, matched: report.matched, faulted: report.faulted, passed: report.passed } };
      } catch (error) {
        void ctx;
        return { counters: {}, unavailable: `the fault proxy does not answer: ${errorMessage(error)}` };
      }
    },
    judgeReach(parsed: Args, readings): ReachEvidence {
      // The fault's counters start at zero when it is added and stop when it is removed: the last reading is its whole window.
      const reading = readings.undone ?? readings.applied;
      if (reading.unavailable) return { source: 'injected', reached: null, summary: `the fault proxy's counters could not be read: ${reading.unavailable}` };
      const counts = { seen: reading.counters.seen ?? 0, faulted: reading.counters.faulted ?? 0, passed: reading.counters.passed ?? 0 };
      const matched = reading.counters.matched ?? 0;
      const action = toDo(parsed);
      const summary =
        counts.seen === 0
          ? `no request crossed fault proxy ${parsed.proxy} while the fault was in force`
          : counts.faulted === 0
            ? `${counts.seen} requests crossed fault proxy ${parsed.proxy}, ${matched} matched, and the fault acted on none of them`
            : `${describeCounts(action, counts)} through fault proxy ${parsed.proxy} (${counts.passed} passed)`;
      return { source: 'injected', reached: counts.faulted > 0, summary, counts };
    },
  };
}

/** A status or abort fails the requests it selects: a known share only when nothing but the selector narrows them. */
function failEffect(args: SelectionArgs): FaultEffect {
  const share = unfiltered(args) ? longRunShare(selectOf(args)) : undefined;
  return share === undefined ? {} : { failShare: share };
}

export const faultActions = {
  status: faultAction(
    'status',
    'Answer the selected requests with a status (default 503), optional body and headers (Retry-After …), without asking the upstream.',
    {
      status: z.int().min(100).max(599).default(503).meta({ description: 'The status code (default 503).' }),
      body: z.string().optional().meta({ description: 'The response body (default empty).' }),
      responseHeaders: z.record(z.string(), z.string()).optional().meta({ description: 'Response headers, like { Retry-After: "1" }.' }),
    },
    (a) => ({ kind: 'status', status: a.status, ...(a.body !== undefined ? { body: a.body } : {}), ...(a.responseHeaders ? { headers: a.responseHeaders } : {}) }),
    (a) => failEffect(a),
  ),
  abort: faultAction(
    'abort',
    'Abort the selected requests before any response byte: reset the connection (TCP RST), or close it.',
    { mode: z.enum(['reset', 'close']).default('reset').meta({ description: 'reset (default): connection reset by peer; close: an orderly close, an empty reply.' }) },
    (a) => ({ kind: 'abort', mode: a.mode }),
    (a) => failEffect(a),
  ),
  delay: faultAction(
    'delay',
    'Delay the selected requests: before they go upstream (response), or hold back the first byte of the answer (first-byte).',
    {
      delay: durationSchema.meta({ description: 'How long, e.g. 500ms.' }),
      jitter: durationSchema.default(0).meta({ description: 'Random variation, ± this much (default 0).' }),
      stage: z.enum(['response', 'first-byte']).default('first-byte').meta({ description: 'first-byte (default): the upstream answers at once, its answer is held back; response: the request waits before it goes upstream.' }),
    },
    (a) => ({ kind: 'delay', delayMs: Math.round(a.delay), jitterMs: Math.round(a.jitter), stage: a.stage }),
    // Every request meets the delay only when nothing narrows the selection.
    (a) => (unfiltered(a) && selectOf(a).kind === 'all' ? { delayMs: Math.max(0, Math.round(a.delay - a.jitter)) } : {}),
  ),
  throttle: faultAction(
    'throttle',
    'Throttle the bodies of the answers to the selected requests to a rate in bytes per second.',
    { bytesPerSecond: z.int().positive().meta({ description: 'Bytes per second, e.g. 10240.' }) },
    (a) => ({ kind: 'throttle', bytesPerSecond: a.bytesPerSecond }),
    () => ({}),
  ),
} satisfies Record<string, ActionDefinition>;

// ---- probe -----------------------------------------------------------------------------------------

const countersArgs = z.strictObject({
  proxy: z.string().min(1).meta({ description: 'Name of a declared fault proxy.' }),
  fault: z.string().min(1).optional().meta({ description: "A fault's `name` (of this run): its own counts instead of the proxy's totals." }),
});

const countersProbe: ProbeDefinition<z.output<typeof countersArgs>> = {
  description: "The fault proxy's counters: its totals, or one fault's requests seen, faulted and passed (read after the undo too).",
  args: countersArgs,
  outputs: {
    requests: 'requests that reached the proxy (without fault); requests that reached the fault (with fault)',
    faulted: 'requests ended by a fault (without fault); requests the fault acted on (with fault)',
    passed: 'requests let through: answered by the upstream (without fault); not acted on by the fault (with fault)',
    matched: 'with fault: requests that matched its method, path and headers',
    upstreamErrors: 'without fault: 502 answers because the upstream failed',
    clientErrors: 'without fault: malformed requests answered with a 4xx',
    faults: 'without fault: each fault of this run by name, with seen, faulted and passed',
  },
  async run(args, ctx) {
    declaredProxy(args.proxy, ctx);
    const state = await requireState(ctx);
    const client = new ControlClient(state.control);
    const prefix = `faultline-${ctx.runId}-`;
    try {
      if (args.fault !== undefined) {
        const report = await client.fault(args.proxy, `${prefix}${args.fault}`);
        if (!report) {
          throw new FaultlineError('E_DRIVER', `no fault named "${args.fault}" of this run was ever on fault proxy ${args.proxy}`, { hint: 'Name the fault with `name:` in its `with`, and use that name here.' });
        }
        return { requests: report.seen, matched: report.matched, faulted: report.faulted, passed: report.passed, perSecond: report.perSecond };
      }
      const proxy = await client.proxy(args.proxy);
      if (!proxy) throw new FaultlineError('E_DRIVER', `fault proxy ${args.proxy} is not running`);
      const faults = Object.fromEntries(
        proxy.faults.filter((f) => f.id.startsWith(prefix)).map((f) => [f.id.slice(prefix.length), { seen: f.seen, faulted: f.faulted, passed: f.passed }]),
      );
      const { requests, forwarded, faulted, upstreamErrors, clientErrors } = proxy.totals;
      return { requests, faulted, passed: forwarded, upstreamErrors, clientErrors, faults };
    } catch (error) {
      if (error instanceof FaultlineError) throw error;
      throw new FaultlineError('E_DRIVER', `cannot read the counters of fault proxy ${args.proxy}: ${errorMessage(error)}`, { cause: error });
    }
  },
};

export const faultproxyDriver = {
  name: 'faultproxy',
  description: "HTTP faults through faultline's own reverse proxy, started for the run: statuses, aborts, delays and throttles on selected requests, with exact counts.",
  target: targetSettings,
  provision,
  preflight,
  defaultProbe: 'counters',
  defaultAction: 'status',
  actions: faultActions,
  probes: { counters: countersProbe },
  undos: { stop, 'remove-fault': removeFault },
} satisfies Driver;
