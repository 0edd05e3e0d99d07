// The toxiproxy driver against the real Toxiproxy server of the test environment, with real traffic
// through real proxies: each fault is measured at the client, each undo must give clean traffic back
// and leave no toxic behind.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { requireToxiproxy } from '../../../test/support/testenv.js';
import { testDriverContext } from '../../../test/support/driver-context.js';
import { freePort } from '../../../test/support/ports.js';
import { httpGet, median, startGreetingServer, startHttpServer, tcpExchange, type Listening } from '../../../test/support/traffic.js';
import type { ActionDefinition, DriverContext, PreparedAction } from '../types.js';
import { ToxiproxyConnection } from './client.js';
import { targetSettings } from './connection.js';
import { toxiproxyDriver } from './index.js';

const suffix = randomBytes(3).toString('hex');
const runId = `test-${suffix}`;
let url = '';
let connection: ToxiproxyConnection;
let backend: Listening;
let big: Listening;
let greeter: Awaited<ReturnType<typeof startGreetingServer>>;
const created: string[] = [];
const BIG_BYTES = 100 * 1024;

async function makeProxy(label: string, upstreamPort: number): Promise<{ name: string; port: number }> {
  const name = `faultline-test-${suffix}-${label}`;
  const proxy = await connection.createProxy({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstreamPort}` });
  created.push(name);
  return { name, port: Number(proxy.listen.split(':').pop()) };
}

function context(overrides: Partial<DriverContext> = {}): DriverContext {
  return testDriverContext({ runId, target: targetSettings.parse({ url }), ...overrides }, toxiproxyDriver);
}

async function applyFault(action: string, args: Record<string, unknown>, ctx = context()): Promise<PreparedAction> {
  const definition: ActionDefinition = toxiproxyDriver.actions[action as keyof typeof toxiproxyDriver.actions];
  const parsed = definition.args.parse(args);
  const prepared = await definition.prepare(parsed, ctx);
  await definition.apply(parsed, prepared, ctx);
  return prepared;
}

async function undo(prepared: PreparedAction, ctx = context()): Promise<string[]> {
  const logs: string[] = [];
  const spec = prepared.undo!;
  const definition = toxiproxyDriver.undos[spec.op as keyof typeof toxiproxyDriver.undos];
  await definition.run(definition.args.parse(spec.args) as never, { ...ctx, log: (m) => logs.push(m) });
  return logs;
}

async function toxicCount(proxy: string): Promise<number> {
  return (await connection.proxy(proxy))?.toxics.length ?? -1;
}

async function baseline(port: number): Promise<number> {
  // Thrown away: the first requests through a new proxy pay for connection setup and JIT.
  for (let i = 0; i < 2; i++) await httpGet(port);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push((await httpGet(port)).ms);
  return median(times);
}

let ready = false;
async function setUp(ctx: TestContext): Promise<void> {
  url = (await requireToxiproxy(ctx)).url;
  connection = new ToxiproxyConnection(url);
  ready = true;
}

beforeAll(async () => {
  backend = await startHttpServer((_req, res) => res.end('ok'));
  big = await startHttpServer((_req, res) => res.end(Buffer.alloc(BIG_BYTES, 120)));
  greeter = await startGreetingServer('hello\n');
});

afterAll(async () => {
  if (ready) for (const name of created) await connection.deleteProxy(name).catch(() => undefined);
  await Promise.all([backend?.close(), big?.close(), greeter?.close()]);
});

describe('toxics against real traffic', () => {
  it.for([200, 500, 1000])('latency of %i ms is added at the client (at least 90% of it) and undone', async (asked, ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy(`latency-${asked}`, backend.port);
    const before = await baseline(proxy.port);
    const prepared = await applyFault('latency', { proxy: proxy.name, latency: `${asked}ms` });
    expect(prepared.targets[0]).toContain(proxy.name);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push((await httpGet(proxy.port)).ms);
    const added = median(times) - before;
    await ctx.annotate(`asked ${asked} ms, measured +${added.toFixed(1)} ms at the client (median of 5, baseline ${before.toFixed(1)} ms)`);
    // Only a floor: a busy machine can make any request slower, never the toxic shorter. The
    // accuracy itself is measured in bench/toxiproxy.ts.
    expect(added).toBeGreaterThanOrEqual(asked * 0.9);
    // The toxic names carry the run id, so anyone listing them sees who put them there.
    expect((await connection.proxy(proxy.name))!.toxics.map((t) => t.name)).toEqual([expect.stringMatching(new RegExp(`^faultline-${runId}-latency-[0-9a-f]{4}-downstream$`))]);
    await undo(prepared);
    expect(await toxicCount(proxy.name)).toBe(0);
    expect(await baseline(proxy.port)).toBeLessThan(asked); // the delay is gone
  });

  it('timeout 0 black-holes: no answer, the connection stays open; undo gives answers back', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('timeout', greeter.port);
    const prepared = await applyFault('timeout', { proxy: proxy.name, stream: 'both' });
    const cut = await tcpExchange(proxy.port, 'ping\n', 800);
    expect(cut).toEqual({ received: '', closed: false });
    await undo(prepared);
    expect(await toxicCount(proxy.name)).toBe(0);
    expect((await tcpExchange(proxy.port, 'ping\n', 300)).received).toBe('hello\n');
  });

  it('reset-peer resets connections; undo gives clean answers back', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('reset', backend.port);
    const prepared = await applyFault('reset-peer', { proxy: proxy.name, stream: 'both' });
    const result = await httpGet(proxy.port, '/', 2_000);
    expect(result.status).toBeNull();
    expect(result.error).toBe('ECONNRESET');
    await undo(prepared);
    expect(await toxicCount(proxy.name)).toBe(0);
    expect((await httpGet(proxy.port)).status).toBe(200);
  });

  it('bandwidth caps throughput; undo gives full speed back', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('bandwidth', big.port);
    const rate = 200; // KB/s: 100 KB takes about half a second
    const prepared = await applyFault('bandwidth', { proxy: proxy.name, rate });
    const slow = await httpGet(proxy.port, '/', 10_000);
    expect(slow.bytes).toBe(BIG_BYTES);
    const kbPerSecond = slow.bytes / 1024 / (slow.ms / 1000);
    expect(kbPerSecond).toBeLessThanOrEqual(rate * 1.1);
    await undo(prepared);
    expect(await toxicCount(proxy.name)).toBe(0);
    const after = await httpGet(proxy.port);
    expect(after.bytes).toBe(BIG_BYTES);
  });

  it('slow-close, slicer and limit-data take effect and are undone', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('misc', big.port);
    const limited = await applyFault('limit-data', { proxy: proxy.name, bytes: 1000 });
    const cut = await httpGet(proxy.port, '/', 2_000);
    expect(cut.status === null || cut.bytes < BIG_BYTES).toBe(true);
    await undo(limited);
    const sliced = await applyFault('slicer', { proxy: proxy.name, averageSize: 2048, sizeVariation: 100, delay: '5ms' });
    const slow = await httpGet(proxy.port, '/', 5_000);
    expect(slow.bytes).toBe(BIG_BYTES);
    expect(slow.ms).toBeGreaterThan(100); // 50 slices, 5 ms apart
    await undo(sliced);
    const closing = await applyFault('slow-close', { proxy: proxy.name, delay: '100ms' });
    expect((await connection.proxy(proxy.name))!.toxics.map((t) => t.type)).toEqual(['slow_close']);
    await undo(closing);
    expect(await toxicCount(proxy.name)).toBe(0);
    expect((await httpGet(proxy.port)).bytes).toBe(BIG_BYTES);
  });

  it('down refuses connections; undo enables the proxy again', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('down', backend.port);
    const prepared = await applyFault('down', { proxy: proxy.name });
    expect((await httpGet(proxy.port, '/', 2_000)).error).toBe('ECONNREFUSED');
    await undo(prepared);
    expect((await connection.proxy(proxy.name))!.enabled).toBe(true);
    expect((await httpGet(proxy.port)).status).toBe(200);
    // Undo twice is harmless.
    expect((await undo(prepared)).join()).toMatch(/enabled already/);
  });

  it('partition cuts both directions of every proxy in the set; undo restores them', async (ctx) => {
    await setUp(ctx);
    const first = await makeProxy('part-1', greeter.port);
    const second = await makeProxy('part-2', greeter.port);
    const before = greeter.received().length;
    const prepared = await applyFault('partition', { proxies: [first.name, second.name] });
    for (const proxy of [first, second]) {
      const exchange = await tcpExchange(proxy.port, `ping-${proxy.name}\n`, 600);
      // Downstream cut: the server's greeting never arrives. Upstream cut: the server never sees the ping.
      expect(exchange.received).toBe('');
      expect(greeter.received()).not.toContain(`ping-${proxy.name}`);
    }
    expect(greeter.received().length).toBe(before);
    expect(prepared.targets).toHaveLength(2);
    await undo(prepared);
    for (const proxy of [first, second]) {
      expect(await toxicCount(proxy.name)).toBe(0);
      const exchange = await tcpExchange(proxy.port, `again-${proxy.name}\n`, 300);
      expect(exchange.received).toBe('hello\n');
    }
    expect(greeter.received()).toContain(`again-${first.name}`);
  });
});

describe('errors', () => {
  it('an unreachable server is refused by preflight, before any fault', async () => {
    const port = await freePort();
    const ctx = testDriverContext({ runId, target: targetSettings.parse({ url: `http://127.0.0.1:${port}` }) }, toxiproxyDriver);
    await expect(toxiproxyDriver.preflight!(ctx)).rejects.toThrow(/Toxiproxy is unreachable: the Toxiproxy server at http:\/\/127\.0\.0\.1:\d+ does not answer: ECONNREFUSED/);
  });

  it('an unknown proxy is refused with the list of existing ones', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('known', backend.port);
    await expect(applyFault('latency', { proxy: `nope-${suffix}`, latency: '1s' })).rejects.toThrow(new RegExp(`unknown proxy "nope-${suffix}" .*; it has .*${proxy.name}`));
    await expect(applyFault('down', { proxy: `nope-${suffix}` })).rejects.toThrow(/unknown proxy/);
  });

  it('a proxy outside the allow-list is refused', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('not-allowed', backend.port);
    const target = targetSettings.parse({ url, allow: ['^something-else$'] });
    await expect(applyFault('latency', { proxy: proxy.name, latency: '1s' }, context({ target }))).rejects.toThrow(/not allowed by targets\.toxiproxy/);
    expect(await toxicCount(proxy.name)).toBe(0);
  });

  it('a toxic name already taken is refused, at prepare and at apply, and the other toxic is kept', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('taken', backend.port);
    const latency = toxiproxyDriver.actions.latency;
    const args = latency.args.parse({ proxy: proxy.name, latency: '50ms', name: 'same' });
    const c = context();
    const first = await latency.prepare(args, c);
    const second = await latency.prepare(args, c);
    await latency.apply(args, first, c);
    await expect(latency.prepare(args, c)).rejects.toThrow(/toxic name "faultline-test-[0-9a-f]+-same-downstream" is already taken/);
    await expect(latency.apply(args, second, c)).rejects.toThrow(/already taken/);
    expect(await toxicCount(proxy.name)).toBe(1);
    await undo(first);
    expect(await toxicCount(proxy.name)).toBe(0);
  });

  it('an undo finds its toxic and proxy gone (as after a server restart), says so, and succeeds', async (ctx) => {
    await setUp(ctx);
    const proxy = await makeProxy('restart', backend.port);
    const prepared = await applyFault('latency', { proxy: proxy.name, latency: '10ms' });
    await connection.deleteProxy(proxy.name);
    const logs = await undo(prepared);
    expect(logs.join('\n')).toMatch(/proxy .* no longer exists .*restarted during the run/);
    expect(await undo(prepared)).toHaveLength(1);
  });
});
