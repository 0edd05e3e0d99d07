// The toxic faults: one action per Toxiproxy toxic, plus `partition` (black holes on both streams of a
// set of proxies). Toxic names carry the run id, so whoever lists the toxics can see which run put them
// there, and the undo removes exactly those names.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import type { FaultEffect, PreparedAction, ReachReadings } from '../types.js';
import { ToxiproxyApiError, toDriverError, type ProxyInfo, type Stream, type ToxicInfo, type ToxicType } from './client.js';
import { checkProxyAllowed, connect, describeProxy, serverFor, settingsOf, unknownProxyError, type ServerRef, type ToxiproxyAction, type ToxiproxyContext } from './connection.js';
import { bandwidthEffect, judgeProxyReach, latencyEffect, partitionEffect, readProxyBytes, resetPeerEffect, timeoutEffect } from './reach.js';

const proxyName = z.string().min(1).meta({ description: 'Name of the proxy, as the Toxiproxy server knows it.' });
const streamSchema = z
  .enum(['downstream', 'upstream', 'both'])
  .default('downstream')
  .meta({ description: 'downstream: server → client (default); upstream: client → server; both: one toxic on each.' });
const toxicitySchema = z
  .number()
  .min(0)
  .max(1)
  .default(1)
  .meta({ description: 'Share of connections the toxic affects, 0 to 1 (default 1: all).' });
const labelSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'expected lower-case letters, digits, - and _')
  .optional()
  .meta({ description: 'Names the toxic faultline-<run id>-<name>-<stream>; default: the toxic type and a random suffix.' });

const common = { proxy: proxyName, stream: streamSchema, toxicity: toxicitySchema, name: labelSchema };

/** A toxic as undo arguments carry it. */
export const toxicRefSchema = z.strictObject({ proxy: z.string().min(1), name: z.string().min(1), type: z.string().optional(), stream: z.enum(['upstream', 'downstream']).optional() });
export type ToxicRef = z.output<typeof toxicRefSchema>;

/** The state prepare hands to apply: the server and the toxics to add, by proxy. */
interface PreparedToxics {
  server: ServerRef;
  toxics: (ToxicInfo & { proxy: string })[];
}

export function toxicBaseName(runId: string, label: string): string {
  return `faultline-${runId}-${label}`;
}

function streamsOf(stream: 'downstream' | 'upstream' | 'both'): Stream[] {
  return stream === 'both' ? ['upstream', 'downstream'] : [stream];
}

function describeAttributes(type: ToxicType, attributes: Record<string, number>): string {
  switch (type) {
    case 'latency':
      return `latency ${formatDuration(attributes.latency!)}${attributes.jitter ? ` ±${formatDuration(attributes.jitter)}` : ''}`;
    case 'bandwidth':
      return `bandwidth ${attributes.rate} KB/s`;
    case 'slow_close':
      return `slow close ${formatDuration(attributes.delay!)}`;
    case 'timeout':
      return attributes.timeout ? `timeout: no data, closed after ${formatDuration(attributes.timeout)}` : 'timeout: black hole (no data, never closed)';
    case 'reset_peer':
      return attributes.timeout ? `reset after ${formatDuration(attributes.timeout)}` : 'reset at once';
    case 'slicer':
      return `slicer ${attributes.average_size}±${attributes.size_variation} bytes, ${attributes.delay} µs apart`;
    case 'limit_data':
      return `close after ${attributes.bytes} bytes`;
  }
}

/** The proxies as the server has them now; refuses unknown and disallowed ones and taken toxic names. */
async function checkProxies(server: ServerRef, names: string[], toxicNames: string[], ctx: ToxiproxyContext): Promise<ProxyInfo[]> {
  for (const name of names) checkProxyAllowed(name, ctx);
  let all: ProxyInfo[];
  try {
    all = await connect(server).proxies();
  } catch (error) {
    throw toDriverError(error, 'cannot list the proxies');
  }
  const declared = settingsOf(ctx).proxies;
  return names.map((name) => {
    const proxy = all.find((p) => p.name === name);
    // Only while planning: in a run, the provision has created the declared proxies before any fault.
    const planned = declared.find((p) => p.name === name);
    if (!proxy && planned) return { ...planned, enabled: true, toxics: [] };
    if (!proxy) throw unknownProxyError(name, all, server.url);
    const taken = proxy.toxics.find((t) => toxicNames.includes(t.name));
    if (taken) {
      throw new FaultlineError('E_DRIVER', `the toxic name "${taken.name}" is already taken on proxy ${name}`, {
        hint: 'Two faults of this run use the same `name` at the same time; give each its own.',
      });
    }
    return proxy;
  });
}

/** Prepare for any set of toxics: resolve the server and proxies (read-only) and build the undo. */
async function prepareToxics(toxics: PreparedToxics['toxics'], ctx: ToxiproxyContext): Promise<PreparedAction<PreparedToxics>> {
  const server = serverFor(ctx);
  const names = [...new Set(toxics.map((t) => t.proxy))];
  // One action's toxics on a proxy share type, attributes and base name; only the stream differs.
  const describe = (proxy: string, label: string) => {
    const group = toxics.filter((t) => t.proxy === proxy);
    const { type, attributes, toxicity, name, stream } = group[0]!;
    const streams = group.map((t) => t.stream);
    const names = group.length === 1 ? name : `${name.slice(0, -stream.length)}{${streams.join(',')}}`;
    return `${label}: ${describeAttributes(type as ToxicType, attributes)}, ${streams.join('+')}${toxicity < 1 ? `, toxicity ${toxicity}` : ''} (${names})`;
  };
  let targets: string[];
  if (server === undefined) {
    // Planning against a managed server that is started only by the run itself.
    for (const name of names) checkProxyAllowed(name, ctx);
    targets = names.map((name) => describe(name, `proxy ${name} on the managed server`));
  } else {
    const proxies = await checkProxies(server, names, toxics.map((t) => t.name), ctx);
    targets = proxies.map((proxy) => describe(proxy.name, describeProxy(proxy)));
  }
  const ref = server ?? { url: '' };
  return {
    targets,
    undo: {
      driver: 'toxiproxy',
      op: 'remove-toxics',
      args: { url: ref.url, ...(ref.managed ? { managed: ref.managed } : {}), toxics: toxics.map(({ proxy, name, type, stream }) => ({ proxy, name, type, stream })) },
    },
    state: { server: ref, toxics },
  };
}

async function applyToxics(prepared: PreparedAction<PreparedToxics>, ctx: ToxiproxyContext) {
  const { server, toxics } = prepared.state;
  if (!server.url) throw new FaultlineError('E_DRIVER', 'the managed Toxiproxy server is not running', { hint: 'It is started by the run; check the provision step.' });
  const connection = connect(server);
  const added: string[] = [];
  for (const { proxy, ...toxic } of toxics) {
    try {
      await connection.addToxic(proxy, toxic);
    } catch (error) {
      if (error instanceof ToxiproxyApiError && error.status === 409) {
        throw new FaultlineError('E_DRIVER', `the toxic name "${toxic.name}" is already taken on proxy ${proxy}`, {
          cause: error,
          hint: 'Two faults of this run use the same `name` at the same time; give each its own.',
        });
      }
      if (error instanceof ToxiproxyApiError && error.status === 404) {
        throw new FaultlineError('E_DRIVER', `proxy ${proxy} vanished from ${server.url} before its toxic could be added`, {
          cause: error,
          hint: 'Was the Toxiproxy server restarted, or the proxy deleted?',
        });
      }
      throw toDriverError(error, `cannot add toxic ${toxic.name} to proxy ${proxy}`);
    }
    added.push(toxic.name);
    ctx.log(`added toxic ${toxic.name} to proxy ${proxy}: ${describeAttributes(toxic.type as ToxicType, toxic.attributes)}, ${toxic.stream}, toxicity ${toxic.toxicity}`);
  }
  return { url: server.url, proxies: [...new Set(toxics.map((t) => t.proxy))], toxics: added };
}

interface CommonArgs {
  proxy: string;
  stream: 'downstream' | 'upstream' | 'both';
  toxicity: number;
  name?: string | undefined;
}

/** One action per toxic type: its own attributes, everything else shared. */
function toxicAction<S extends z.ZodRawShape>(
  type: ToxicType,
  description: string,
  shape: S,
  attributes: (args: z.output<z.ZodObject<S>>) => Record<string, number>,
  effect?: (args: CommonArgs & z.output<z.ZodObject<S>>) => FaultEffect,
): ToxiproxyAction<any, PreparedToxics> {
  const args = z.strictObject({ ...common, ...shape });
  return {
    description,
    args,
    reversible: true,
    async prepare(parsed: CommonArgs & z.output<z.ZodObject<S>>, ctx) {
      const label = parsed.name ?? `${type.replace('_', '-')}-${randomBytes(2).toString('hex')}`;
      const base = toxicBaseName(ctx.runId, label);
      const toxics = streamsOf(parsed.stream).map((stream) => ({
        proxy: parsed.proxy,
        name: `${base}-${stream}`,
        type,
        stream,
        toxicity: parsed.toxicity,
        attributes: attributes(parsed),
      }));
      return prepareToxics(toxics, ctx);
    },
    apply: (_args, prepared, ctx) => applyToxics(prepared, ctx),
    ...(effect ? { effect } : {}),
    readReach: (_args, prepared, ctx) => readToxicsReach(prepared, ctx),
    judgeReach: (parsed: CommonArgs & z.output<z.ZodObject<S>>, readings: ReachReadings) =>
      judgeProxyReach({ what: `${type.replace('_', '-')} toxic`, proxies: [parsed.proxy], toxicity: parsed.toxicity, outage: !!effect?.(parsed).outage }, readings),
  };
}

/** The byte counters of the proxies a prepared set of toxics acts on. */
export function readToxicsReach(prepared: PreparedAction<PreparedToxics>, ctx: ToxiproxyContext) {
  const { server, toxics } = prepared.state;
  return readProxyBytes(server.url, [...new Set(toxics.map((t) => t.proxy))], ctx.signal);
}

const ms = (value: number) => Math.round(value);

export const toxicActions = {
  latency: toxicAction(
    'latency',
    'Delay the data through a proxy by latency ± jitter.',
    {
      latency: durationSchema.meta({ description: 'Delay added to the data, e.g. 500ms.' }),
      jitter: durationSchema.default(0).meta({ description: 'Random variation, ± this much (default 0).' }),
    },
    (a) => ({ latency: ms(a.latency), jitter: ms(a.jitter) }),
    (a) => latencyEffect(ms(a.latency), ms(a.jitter), a.toxicity),
  ),
  bandwidth: toxicAction(
    'bandwidth',
    'Cap the throughput of a proxy, in KB/s.',
    { rate: z.int().min(0).meta({ description: 'Kilobytes per second (1 KB = 1024 bytes); 0 stops the data.' }) },
    (a) => ({ rate: a.rate }),
    (a) => bandwidthEffect(a.rate, a.toxicity),
  ),
  'slow-close': toxicAction(
    'slow_close',
    'Delay the closing of connections by a proxy.',
    { delay: durationSchema.meta({ description: 'How long a close is held back.' }) },
    (a) => ({ delay: ms(a.delay) }),
  ),
  timeout: toxicAction(
    'timeout',
    'Stop all data through a proxy; close the connections after `timeout`, or never with 0 (a black hole).',
    { timeout: durationSchema.default(0).meta({ description: 'Close connections after this long; 0 (default) keeps them open and silent.' }) },
    (a) => ({ timeout: ms(a.timeout) }),
    (a) => timeoutEffect(ms(a.timeout), a.toxicity),
  ),
  'reset-peer': toxicAction(
    'reset_peer',
    'Reset connections through a proxy (TCP RST, "connection reset by peer"), at once or after `timeout`.',
    { timeout: durationSchema.default(0).meta({ description: 'Reset after this long (default 0: at once).' }) },
    (a) => ({ timeout: ms(a.timeout) }),
    (a) => resetPeerEffect(a.toxicity),
  ),
  slicer: toxicAction(
    'slicer',
    'Slice the data through a proxy into small pieces, optionally with a delay between them.',
    {
      averageSize: z.int().min(1).meta({ description: 'Average piece size in bytes.' }),
      sizeVariation: z.int().min(0).default(0).meta({ description: 'Variation of the piece size in bytes (smaller than averageSize).' }),
      delay: durationSchema.default(0).meta({ description: 'Pause between pieces (default 0).' }),
    },
    (a) => ({ average_size: a.averageSize, size_variation: a.sizeVariation, delay: Math.round(a.delay * 1000) }),
  ),
  'limit-data': toxicAction(
    'limit_data',
    'Close each connection through a proxy once it has carried `bytes` bytes.',
    { bytes: z.int().min(0).meta({ description: 'Bytes a connection may carry before it is closed.' }) },
    (a) => ({ bytes: a.bytes }),
  ),
} satisfies Record<string, ToxiproxyAction<any, PreparedToxics>>;

const partitionArgs = z.strictObject({
  proxies: z.array(proxyName).min(1).meta({ description: 'The proxies to cut off: every one is black-holed in both directions.' }),
  timeout: durationSchema.default(0).meta({ description: 'Close the cut connections after this long; 0 (default) leaves them open and silent.' }),
  toxicity: toxicitySchema,
  name: labelSchema,
});

export const partition: ToxiproxyAction<z.output<typeof partitionArgs>, PreparedToxics> = {
  description: 'Cut a set of proxies off in both directions: no data passes either way (timeout toxics on upstream and downstream).',
  args: partitionArgs,
  reversible: true,
  async prepare(args, ctx) {
    const base = toxicBaseName(ctx.runId, args.name ?? `partition-${randomBytes(2).toString('hex')}`);
    const toxics = [...new Set(args.proxies)].flatMap((proxy) =>
      (['upstream', 'downstream'] as const).map((stream) => ({
        proxy,
        name: `${base}-${stream}`,
        type: 'timeout',
        stream,
        toxicity: args.toxicity,
        attributes: { timeout: ms(args.timeout) },
      })),
    );
    return prepareToxics(toxics, ctx);
  },
  apply: (_args, prepared, ctx) => applyToxics(prepared, ctx),
  effect: (args) => partitionEffect(ms(args.timeout), args.toxicity),
  readReach: (_args, prepared, ctx) => readToxicsReach(prepared, ctx),
  judgeReach: (args, readings) => judgeProxyReach({ what: 'partition', proxies: [...new Set(args.proxies)], toxicity: args.toxicity, outage: true }, readings),
};
