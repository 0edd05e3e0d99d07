// The `toxiproxy` driver: network faults through a Toxiproxy server (every toxic, a proxy taken down, a
// partition of several proxies), probes of proxies and their toxics, and a server and proxies the run can
// set up for itself. Every undo carries the server's URL, so `faultline recover` needs no experiment.
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import { defineDriver } from '../contract.js';
import { ToxiproxyApiError, ToxiproxyUnreachableError, toDriverError, type ProxyInfo } from './client.js';
import {
  DEFAULT_URL,
  checkProxyAllowed,
  connect,
  describeProxy,
  serverFor,
  settingsOf,
  targetSettings,
  unknownProxyError,
  type DeclaredProxy,
  type TargetSettings,
  type ToxiproxyAction,
  type ToxiproxyContext,
  type ToxiproxyProbe,
  type ToxiproxyProvision,
  type ToxiproxySession,
  type ToxiproxyUndo,
  type ServerRef,
} from './connection.js';
import { findServerProgram, freePort, managedServerFiles, runningManagedServer, startManagedServer, stopManagedServer } from './managed.js';
import { DOWN_EFFECT, judgeProxyReach, readProxyBytes } from './reach.js';
import { partition, toxicActions, toxicRefSchema } from './toxics.js';

const managedSchema = z.strictObject({ pidfile: z.string().min(1), logfile: z.string().min(1) });
const serverRefShape = {
  url: z.string(),
  managed: managedSchema.optional(),
};

function requireServer(ctx: ToxiproxyContext): ServerRef {
  const server = serverFor(ctx);
  if (server) return server;
  throw new FaultlineError('E_DRIVER', 'the managed Toxiproxy server of this run is not running', {
    hint: 'With targets.toxiproxy.managed the run starts it before the steady state; see the provision step in the journal.',
  });
}

/**
 * When the server does not answer at undo time: for a managed server whose process is gone, every proxy
 * and toxic went with it, so there is nothing left to undo. Anything else is a real failure (retried, then
 * reported as a rollback left incomplete).
 */
async function goneWithManagedServer(error: unknown, server: ServerRef, log: (message: string) => void, what: string): Promise<boolean> {
  if (!(error instanceof ToxiproxyUnreachableError) || !server.managed) return false;
  if ((await runningManagedServer(server.managed.pidfile)) !== undefined) return false;
  log(`the managed toxiproxy-server at ${server.url} is gone, and ${what} with it`);
  return true;
}

// ---- undos ----------------------------------------------------------------------------------------

const removeToxicsArgs = z.strictObject({ ...serverRefShape, toxics: z.array(toxicRefSchema) });

const removeToxics: ToxiproxyUndo<z.output<typeof removeToxicsArgs>> = {
  args: removeToxicsArgs,
  async run(args, ctx) {
    const connection = connect(args);
    for (const toxic of args.toxics) {
      let outcome: Awaited<ReturnType<typeof connection.removeToxic>>;
      try {
        outcome = await connection.removeToxic(toxic.proxy, toxic.name);
      } catch (error) {
        if (await goneWithManagedServer(error, args, ctx.log, `toxic ${toxic.name}`)) continue;
        throw toDriverError(error, `cannot remove toxic ${toxic.name} from proxy ${toxic.proxy}`);
      }
      if (outcome === 'removed') ctx.log(`removed toxic ${toxic.name} from proxy ${toxic.proxy}`);
      // Toxiproxy keeps no state across a restart: a toxic or proxy that vanished mid-run most often means that.
      else if (outcome === 'toxic-missing') {
        ctx.log(`toxic ${toxic.name} was no longer on proxy ${toxic.proxy}: removed by someone else, or the Toxiproxy server restarted during the run (its toxics do not survive a restart); the fault may not have lasted its whole window`);
      } else {
        ctx.log(`proxy ${toxic.proxy} no longer exists on ${args.url}, so neither does toxic ${toxic.name}: the Toxiproxy server restarted during the run, or the proxy was deleted; the fault may not have lasted its whole window`);
      }
    }
  },
};

const enableProxyArgs = z.strictObject({ ...serverRefShape, proxy: z.string().min(1) });

const enableProxy: ToxiproxyUndo<z.output<typeof enableProxyArgs>> = {
  args: enableProxyArgs,
  async run(args, ctx) {
    const connection = connect(args);
    try {
      const proxy = await connection.proxy(args.proxy);
      if (!proxy) {
        ctx.log(`proxy ${args.proxy} no longer exists on ${args.url}: the Toxiproxy server restarted during the run, or the proxy was deleted; nothing to enable`);
        return;
      }
      if (proxy.enabled) {
        ctx.log(`proxy ${args.proxy} is enabled already (the server restarted, or someone enabled it)`);
        return;
      }
      await connection.setEnabled(args.proxy, true);
      ctx.log(`enabled proxy ${args.proxy} again`);
    } catch (error) {
      if (await goneWithManagedServer(error, args, ctx.log, `proxy ${args.proxy}`)) return;
      throw toDriverError(error, `cannot enable proxy ${args.proxy}`);
    }
  },
};

const releaseArgs = z.strictObject({
  ...serverRefShape,
  proxies: z.array(z.strictObject({ name: z.string().min(1), upstream: z.string().min(1) })),
});

/** Undo of the provision: the proxies the run created, then the managed server. */
const release: ToxiproxyUndo<z.output<typeof releaseArgs>> = {
  args: releaseArgs,
  async run(args, ctx) {
    const connection = connect(args);
    for (const declared of args.proxies) {
      try {
        const proxy = await connection.proxy(declared.name);
        if (!proxy) ctx.log(`proxy ${declared.name} is gone already`);
        // Same name, other upstream: created by someone else after ours went; not ours to delete.
        else if (proxy.upstream !== declared.upstream) ctx.log(`proxy ${declared.name} now forwards to ${proxy.upstream}, not ${declared.upstream}: left alone`);
        else if (await connection.deleteProxy(declared.name)) ctx.log(`deleted proxy ${declared.name}, which the run created`);
      } catch (error) {
        if (await goneWithManagedServer(error, args, ctx.log, `proxy ${declared.name}`)) continue;
        throw toDriverError(error, `cannot delete proxy ${declared.name}`);
      }
    }
    if (args.managed) await stopManagedServer(args.managed, ctx.log);
    if (ctx.session?.managed?.url === args.url) ctx.session.managed = undefined;
  },
};

// ---- provision and preflight ---------------------------------------------------------------------

interface ProvisionState {
  server: ServerRef;
  program?: string;
  create: DeclaredProxy[];
}

function listenHostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 80) };
}

/** A declared proxy that exists must be the one declared: same upstream, and the same port unless 0 was asked. */
function checkDeclaredMatches(declared: DeclaredProxy, existing: ProxyInfo): void {
  const declaredPort = declared.listen.split(':').pop();
  const sameListen = declaredPort === '0' || existing.listen === declared.listen || existing.listen.endsWith(`:${declaredPort}`);
  if (existing.upstream !== declared.upstream || !sameListen) {
    throw new FaultlineError('E_PREFLIGHT', `proxy ${declared.name} exists as ${existing.listen} → ${existing.upstream}, but the experiment declares ${declared.listen} → ${declared.upstream}`, {
      hint: 'Rename the declared proxy, or delete the existing one if it is stale.',
    });
  }
}

const provision: ToxiproxyProvision<ProvisionState> = {
  async prepare(ctx) {
    const settings = settingsOf(ctx);
    if (!settings.managed && settings.proxies.length === 0) return null;
    let state: ProvisionState;
    const targets: string[] = [];
    if (settings.managed) {
      const program = await findServerProgram(settings.server, ctx.cwd, ctx.env);
      const { host, port } = settings.url ? listenHostPort(settings.url) : { host: '127.0.0.1', port: await freePort('127.0.0.1') };
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      state = { server: { url, managed: managedServerFiles(ctx.runId) }, program, create: settings.proxies };
      targets.push(`toxiproxy-server on ${url}, started for this run (${program})`);
    } else {
      const server = requireServer(ctx);
      const connection = connect(server);
      const create: DeclaredProxy[] = [];
      for (const declared of settings.proxies) {
        let existing: ProxyInfo | undefined;
        try {
          existing = await connection.proxy(declared.name);
        } catch (error) {
          throw toDriverError(error, `cannot read proxy ${declared.name}`);
        }
        if (existing) checkDeclaredMatches(declared, existing);
        else create.push(declared);
      }
      state = { server, create };
    }
    for (const proxy of state.create) targets.push(`${describeProxy(proxy)}, created for this run`);
    if (state.create.length === 0 && !state.server.managed) return null;
    return {
      targets,
      undo: {
        driver: 'toxiproxy',
        op: 'release',
        args: {
          url: state.server.url,
          ...(state.server.managed ? { managed: state.server.managed } : {}),
          proxies: state.create.map(({ name, upstream }) => ({ name, upstream })),
        },
      },
      state,
    };
  },
  async apply(prepared, ctx) {
    const { server, program, create } = prepared.state;
    let version: string | undefined;
    if (server.managed && program) {
      const { host, port } = listenHostPort(server.url);
      const started = await startManagedServer({ program, host, port, files: server.managed, signal: ctx.signal });
      version = started.version;
      ctx.session.managed = server;
      ctx.log(`started toxiproxy-server v${started.version} (pid ${started.pid}) on ${server.url}`);
    }
    const connection = connect(server);
    const proxies: Record<string, string> = {};
    for (const declared of create) {
      try {
        const created = await connection.createProxy(declared);
        proxies[created.name] = created.listen;
        ctx.log(`created ${describeProxy(created)}`);
      } catch (error) {
        if (error instanceof ToxiproxyApiError && error.status === 409) {
          throw new FaultlineError('E_PREFLIGHT', `proxy ${declared.name} was created by someone else while the run prepared it`, { cause: error });
        }
        throw toDriverError(error, `cannot create proxy ${declared.name}`);
      }
    }
    return { url: server.url, managed: !!server.managed, ...(version ? { version } : {}), created: Object.keys(proxies), listen: proxies };
  },
};

async function preflight(ctx: ToxiproxyContext): Promise<void> {
  const server = requireServer(ctx);
  const connection = connect(server);
  let all: ProxyInfo[];
  try {
    await connection.version();
    all = await connection.proxies();
  } catch (error) {
    throw toDriverError(error, 'Toxiproxy is unreachable');
  }
  const missing = settingsOf(ctx).proxies.filter((declared) => !all.some((p) => p.name === declared.name));
  if (missing.length > 0) throw unknownProxyError(missing[0]!.name, all, server.url);
}

// ---- down ----------------------------------------------------------------------------------------

const downArgs = z.strictObject({ proxy: z.string().min(1).meta({ description: 'Name of the proxy to disable.' }) });

const down: ToxiproxyAction<z.output<typeof downArgs>, { url: string }> = {
  description: 'Take a proxy down: new connections are refused and open ones closed (Toxiproxy has no `down` toxic: the proxy is disabled). Undone by enabling it.',
  args: downArgs,
  reversible: true,
  async prepare(args, ctx) {
    checkProxyAllowed(args.proxy, ctx);
    const server = serverFor(ctx);
    const undoArgs = { url: server?.url ?? '', ...(server?.managed ? { managed: server.managed } : {}), proxy: args.proxy };
    const undo = { driver: 'toxiproxy', op: 'enable-proxy', args: undoArgs };
    if (!server) return { targets: [`proxy ${args.proxy} on the managed server`], undo, state: undoArgs };
    let all: ProxyInfo[];
    try {
      all = await connect(server).proxies();
    } catch (error) {
      throw toDriverError(error, 'cannot list the proxies');
    }
    const proxy = all.find((p) => p.name === args.proxy);
    const declared = settingsOf(ctx).proxies.find((p) => p.name === args.proxy);
    // Only while planning: in a run, the provision has created the declared proxies before any fault.
    if (!proxy && declared) return { targets: [`${describeProxy(declared)}, created by the run`], undo, state: undoArgs };
    if (!proxy) throw unknownProxyError(args.proxy, all, server.url);
    if (!proxy.enabled) {
      // Enabling it afterwards would change what we found; taking it down proves nothing.
      throw new FaultlineError('E_DRIVER', `proxy ${args.proxy} is disabled already`, { hint: 'Enable it before the experiment, or leave this fault out.' });
    }
    return { targets: [describeProxy(proxy)], undo, state: undoArgs };
  },
  async apply(args, prepared, ctx) {
    const { url } = prepared.state;
    if (!url) throw new FaultlineError('E_DRIVER', 'the managed Toxiproxy server is not running');
    try {
      const proxy = await connect({ url }).setEnabled(args.proxy, false);
      ctx.log(`disabled proxy ${args.proxy}`);
      return { url, proxy: args.proxy, enabled: proxy.enabled };
    } catch (error) {
      throw toDriverError(error, `cannot disable proxy ${args.proxy}`);
    }
  },
  effect: () => DOWN_EFFECT,
  readReach: (args, prepared, ctx) => readProxyBytes((prepared.state as { url: string }).url, [args.proxy], ctx.signal),
  judgeReach: (args, readings) => judgeProxyReach({ what: 'proxy going down', proxies: [args.proxy], toxicity: 1, outage: true }, readings),
};

// ---- probes --------------------------------------------------------------------------------------

const proxyArgs = z.strictObject({ proxy: z.string().min(1).meta({ description: 'Name of the proxy.' }) });

const proxyProbe: ToxiproxyProbe<z.output<typeof proxyArgs>> = {
  description: 'Does the proxy exist, and is it enabled?',
  args: proxyArgs,
  outputs: {
    exists: 'true when the server has a proxy of that name',
    enabled: 'true when it exists and accepts connections',
    listen: 'where it listens (host:port), null when it does not exist',
    upstream: 'where it forwards to, null when it does not exist',
    toxics: 'how many toxics it has',
  },
  defaultExpect: { exists: true, enabled: true },
  async run(args, ctx) {
    const server = requireServer(ctx);
    try {
      const proxy = await connect(server).proxy(args.proxy);
      if (!proxy) return { exists: false, enabled: false, listen: null, upstream: null, toxics: 0 };
      return { exists: true, enabled: proxy.enabled, listen: proxy.listen, upstream: proxy.upstream, toxics: proxy.toxics.length };
    } catch (error) {
      throw toDriverError(error, `cannot read proxy ${args.proxy}`);
    }
  },
};

const toxicsArgs = z.strictObject({
  proxy: z.string().min(1).meta({ description: 'Name of the proxy.' }),
  mine: z.boolean().default(false).meta({ description: 'Count only the toxics of this run (named faultline-<run id>-…).' }),
});

const toxicsProbe: ToxiproxyProbe<z.output<typeof toxicsArgs>> = {
  description: 'The toxics on a proxy: how many, their names and types.',
  args: toxicsArgs,
  outputs: {
    count: 'how many toxics (only this run\'s with mine: true)',
    names: 'their names',
    types: 'their types (latency, timeout, …), in the same order',
    toxics: 'each toxic with its stream, toxicity and attributes',
  },
  defaultExpect: { count: 0 },
  async run(args, ctx) {
    const server = requireServer(ctx);
    let proxy: ProxyInfo | undefined;
    let all: ProxyInfo[];
    try {
      all = await connect(server).proxies();
      proxy = all.find((p) => p.name === args.proxy);
    } catch (error) {
      throw toDriverError(error, `cannot read proxy ${args.proxy}`);
    }
    if (!proxy) throw unknownProxyError(args.proxy, all, server.url);
    const toxics = args.mine ? proxy.toxics.filter((t) => t.name.startsWith(`faultline-${ctx.runId}-`)) : proxy.toxics;
    return { count: toxics.length, names: toxics.map((t) => t.name), types: toxics.map((t) => t.type), toxics };
  },
};

export const toxiproxyDriver = defineDriver({
  name: 'toxiproxy',
  description: `Network faults through Toxiproxy (default ${DEFAULT_URL}, or one started for the run): latency, bandwidth, timeouts, resets, a proxy down, partitions.`,
  target: targetSettings,
  // Filled by the provision when it starts a managed server: the steps after it talk to that one.
  session: (): ToxiproxySession => ({}),
  provision,
  preflight,
  defaultProbe: 'proxy',
  actions: { ...toxicActions, down, partition },
  probes: { proxy: proxyProbe, toxics: toxicsProbe },
  undos: { 'remove-toxics': removeToxics, 'enable-proxy': enableProxy, release },
});

