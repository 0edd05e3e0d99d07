// Evidence of reach from Toxiproxy's byte counters: the parser and the judge on their own, then a real
// managed toxiproxy-server (started with -proxy-metrics) whose counters tell a proxy the traffic
// crosses from one it never crosses, and a server started without the flag, which cannot tell.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { toxiproxyBinaryPath } from '../../../testenv/toxiproxy.js';
import { waitFor } from '../../../test/support/cli.js';
import { testDriverContext } from '../../../test/support/driver-context.js';
import { freePort } from '../../../test/support/ports.js';
import { isCI } from '../../../test/support/testenv.js';
import { httpGet, startHttpServer } from '../../../test/support/traffic.js';
import type { ActionDefinition, DriverContext, ReachReading, UndoSpec } from '../types.js';
import { targetSettings } from './connection.js';
import { toxiproxyDriver } from './index.js';
import { judgeProxyReach, NO_METRICS, proxyByteCounters, readProxyBytes } from './reach.js';

const PAGE = `# HELP toxiproxy_proxy_received_bytes_total
# TYPE toxiproxy_proxy_received_bytes_total counter
toxiproxy_proxy_received_bytes_total{direction="downstream",listener="127.0.0.1:1",proxy="a",upstream="127.0.0.1:2"} 2364
toxiproxy_proxy_received_bytes_total{direction="upstream",listener="127.0.0.1:1",proxy="a",upstream="127.0.0.1:2"} 158
toxiproxy_proxy_received_bytes_total{direction="upstream",listener="127.0.0.1:9",proxy="a",upstream="127.0.0.1:2"} 2
toxiproxy_proxy_sent_bytes_total{direction="downstream",listener="127.0.0.1:1",proxy="a",upstream="127.0.0.1:2"} 2000
toxiproxy_proxy_received_bytes_total{direction="upstream",listener="127.0.0.1:3",proxy="b",upstream="127.0.0.1:4"} 7
`;

const reading = (a: number, b = 0): ReachReading => ({ counters: { 'received:a:upstream': a, 'received:b:upstream': b } });

describe('proxyByteCounters', () => {
  it('sums the series of each named proxy by kind and direction, and reads a proxy without series as 0', () => {
    expect(proxyByteCounters(PAGE, ['a', 'c'])).toEqual({
      'received:a:upstream': 160,
      'received:a:downstream': 2364,
      'sent:a:upstream': 0,
      'sent:a:downstream': 2000,
      'received:c:upstream': 0,
      'received:c:downstream': 0,
      'sent:c:upstream': 0,
      'sent:c:downstream': 0,
    });
  });
});

describe('judgeProxyReach', () => {
  const latency = { what: 'latency toxic', proxies: ['a'], toxicity: 1, outage: false };
  const down = { what: 'proxy going down', proxies: ['a'], toxicity: 1, outage: true };

  it('a toxic reached the traffic when bytes crossed its proxy while it was live, and says how many', () => {
    const evidence = judgeProxyReach(latency, { baseline: reading(0), applied: reading(100), undone: reading(100 + 48 * 1024) });
    expect(evidence).toEqual({ source: 'driver', reached: true, summary: '48KiB crossed proxy a while the latency toxic was live' });
  });

  it('a toxic on a proxy nothing crossed while it was live did not reach the traffic, even if bytes crossed before', () => {
    const evidence = judgeProxyReach(latency, { baseline: reading(0), applied: reading(500), undone: reading(500) });
    expect(evidence.reached).toBe(false);
    expect(evidence.summary).toBe("no bytes crossed proxy a while the latency toxic was live: the workload's requests do not go through it");
  });

  it('an outage reached the traffic when the proxy carried bytes between the baseline and the fault', () => {
    const evidence = judgeProxyReach(down, { baseline: reading(0), applied: reading(3000), undone: reading(3000) });
    expect(evidence.reached).toBe(true);
    expect(evidence.summary).toMatch(/^2.93KiB crossed proxy a between the baseline's start and the proxy going down, 0B while it was live/);
  });

  it('an outage on a proxy that carried nothing from the baseline to the undo did not reach the traffic', () => {
    expect(judgeProxyReach(down, { baseline: reading(10, 0), applied: reading(10, 500), undone: reading(10, 900) }).reached).toBe(false);
  });

  it('no bytes counted but connections open through the proxy: cannot tell (Toxiproxy counts bytes when a connection closes)', () => {
    const open = (n: number) => ({ counters: { 'received:a:upstream': 500, 'open:a': n } });
    const evidence = judgeProxyReach(latency, { baseline: open(0), applied: open(2), undone: open(2) });
    expect(evidence).toMatchObject({ reached: null, summary: expect.stringMatching(/^no connection through proxy a ended while the latency toxic was live, but up to 2 stayed open/) });
    expect(judgeProxyReach(latency, { baseline: open(0), applied: open(0), undone: open(0) }).reached).toBe(false);
  });

  it('a failed baseline reading is left out: bytes while the toxic was live still show reach', () => {
    const evidence = judgeProxyReach(latency, { baseline: { counters: {}, unavailable: 'timed out' }, applied: reading(0), undone: reading(2048) });
    expect(evidence).toMatchObject({ reached: true, summary: '2KiB crossed proxy a while the latency toxic was live' });
  });

  it('an outage whose reading at apply failed is judged from the baseline to the undo; a toxic is not', () => {
    const failed = { counters: {}, unavailable: 'timed out' };
    expect(judgeProxyReach(down, { baseline: reading(0), applied: failed, undone: reading(4096) })).toMatchObject({ reached: true, summary: "4KiB crossed proxy a between the baseline's start and the undo of the proxy going down (no reading at apply)" });
    expect(judgeProxyReach(latency, { baseline: reading(0), applied: failed, undone: reading(4096) }).reached).toBeNull();
  });

  it('an outage without a baseline reading cannot tell (no workload)', () => {
    expect(judgeProxyReach(down, { applied: reading(10), undone: reading(10) }).reached).toBeNull();
  });

  it('a toxicity below 1 is never confirmed: Toxiproxy draws it per connection', () => {
    const evidence = judgeProxyReach({ ...latency, toxicity: 0.2 }, { baseline: reading(0), applied: reading(0), undone: reading(5000) });
    expect(evidence.reached).toBeNull();
    expect(evidence.summary).toMatch(/^toxicity 0.2: Toxiproxy draws it per connection.*use toxicity 1 on one of several instances/);
  });

  it('a server without metrics cannot tell, and says how to fix it', () => {
    const evidence = judgeProxyReach(latency, { applied: { counters: {}, unavailable: NO_METRICS }, undone: { counters: {}, unavailable: NO_METRICS } });
    expect(evidence).toEqual({ source: 'driver', reached: null, summary: `no byte counters for proxy a: ${NO_METRICS}` });
  });

  it('a partition names all its proxies and counts bytes on any of them', () => {
    const evidence = judgeProxyReach({ what: 'partition', proxies: ['a', 'b'], toxicity: 1, outage: true }, { baseline: reading(0, 0), applied: reading(0, 0), undone: reading(0, 70) });
    expect(evidence).toMatchObject({ reached: true, summary: '70B crossed proxies a, b while the partition was live' });
  });
});

describe('effects', () => {
  const effect = (name: string, args: Record<string, unknown>) => {
    const action = toxiproxyDriver.actions[name as keyof typeof toxiproxyDriver.actions] as ActionDefinition;
    return action.effect!(action.args.parse(args));
  };

  it('latency guarantees latency minus jitter', () => {
    expect(effect('latency', { proxy: 'a', latency: '3s', jitter: '500ms' })).toEqual({ delayMs: 2500 });
    expect(effect('latency', { proxy: 'a', latency: '100ms', jitter: '1s' })).toEqual({ delayMs: 0 });
    expect(effect('latency', { proxy: 'a', latency: '1s', toxicity: 0.5 })).toEqual({ delayMs: 1000, perConnection: true });
  });

  it('timeout 0 is a black hole; a timeout closes the connection after it', () => {
    expect(effect('timeout', { proxy: 'a' })).toEqual({ delayMs: Infinity, outage: 'black-hole' });
    expect(effect('timeout', { proxy: 'a', timeout: '2s' })).toEqual({ delayMs: 2000, failShare: 1 });
    expect(effect('timeout', { proxy: 'a', toxicity: 0.3 })).toEqual({ delayMs: Infinity, outage: 'black-hole', failShare: 0.3, perConnection: true });
  });

  it('reset-peer fails its toxicity, drawn per connection below 1', () => {
    expect(effect('reset-peer', { proxy: 'a' })).toEqual({ failShare: 1 });
    expect(effect('reset-peer', { proxy: 'a', toxicity: 0.2 })).toEqual({ failShare: 0.2, perConnection: true });
  });

  it('down refuses; a partition black-holes; bandwidth 0 stops the data and any other rate guarantees nothing', () => {
    expect(effect('down', { proxy: 'a' })).toEqual({ outage: 'refused' });
    expect(effect('partition', { proxies: ['a', 'b'] })).toEqual({ delayMs: Infinity, outage: 'black-hole' });
    expect(effect('partition', { proxies: ['a'], timeout: '1s' })).toEqual({ delayMs: 1000, failShare: 1, outage: 'black-hole' });
    expect(effect('bandwidth', { proxy: 'a', rate: 0 })).toEqual({ delayMs: Infinity, outage: 'black-hole' });
    expect(effect('bandwidth', { proxy: 'a', rate: 10 })).toEqual({});
  });

  it('slicer, slow-close and limit-data declare no effect: it depends on the size of what crosses them', () => {
    for (const name of ['slicer', 'slow-close', 'limit-data'] as const) expect(toxiproxyDriver.actions[name].effect).toBeUndefined();
  });
});

// ---- against a real toxiproxy-server ----------------------------------------------------------------

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

function serverBinary(ctx: TestContext): string {
  const binary = toxiproxyBinaryPath();
  if (existsSync(binary)) return binary;
  const message = `toxiproxy-server is not built at ${binary}; run \`npm run testenv -- up\``;
  if (isCI()) throw new Error(message);
  ctx.skip(message);
  throw new Error('unreachable');
}

async function runUndo(spec: UndoSpec, ctx: DriverContext): Promise<void> {
  const definition = toxiproxyDriver.undos[spec.op as keyof typeof toxiproxyDriver.undos];
  await definition.run(definition.args.parse(spec.args) as never, ctx);
}

describe('reach on a real toxiproxy-server', () => {
  it('counts the bytes through the proxy the traffic crosses, and none through the one it does not', async (ctx) => {
    const backend = await startHttpServer((_req, res) => res.end('x'.repeat(2000)));
    cleanups.push(() => backend.close());
    const [onPath, offPath] = [await freePort(), await freePort()];
    const target = targetSettings.parse({
      managed: true,
      server: serverBinary(ctx),
      proxies: [
        { name: 'on-path', listen: `127.0.0.1:${onPath}`, upstream: `127.0.0.1:${backend.port}` },
        { name: 'off-path', listen: `127.0.0.1:${offPath}`, upstream: `127.0.0.1:${backend.port}` },
      ],
    });
    const driverCtx = testDriverContext({ runId: `test-reach-${randomBytes(3).toString('hex')}`, target }, toxiproxyDriver);
    const provisioned = (await toxiproxyDriver.provision!.prepare(driverCtx))!;
    cleanups.push(() => runUndo(provisioned.undo!, driverCtx));
    await toxiproxyDriver.provision!.apply(provisioned, driverCtx);

    const judged: Record<string, ReturnType<NonNullable<ActionDefinition['judgeReach']>>> = {};
    for (const proxy of ['on-path', 'off-path']) {
      const action = toxiproxyDriver.actions.latency as ActionDefinition;
      const args = action.args.parse({ proxy, latency: '50ms' });
      const prepared = await action.prepare(args, driverCtx);
      const baseline = await action.readReach!(args, prepared, driverCtx);
      for (let i = 0; i < 3; i++) expect((await httpGet(onPath)).status).toBe(200);
      const applied = await action.readReach!(args, prepared, driverCtx);
      await action.apply(args, prepared, driverCtx);
      for (let i = 0; i < 3; i++) expect((await httpGet(onPath)).status).toBe(200);
      const undone = await action.readReach!(args, prepared, driverCtx);
      await runUndo(prepared.undo!, driverCtx);
      judged[proxy] = action.judgeReach!(args, { baseline, applied, undone });
    }
    await ctx.annotate(`${judged['on-path']!.summary}; ${judged['off-path']!.summary}`);
    expect(judged['on-path']).toMatchObject({ reached: true, summary: expect.stringMatching(/^\d.*KiB crossed proxy on-path while the latency toxic was live$/) });
    expect(judged['off-path']).toMatchObject({ reached: false, summary: expect.stringMatching(/^no bytes crossed proxy off-path/) });

    const down = toxiproxyDriver.actions.down as ActionDefinition;
    const downArgs = down.args.parse({ proxy: 'on-path' });
    const prepared = await down.prepare(downArgs, driverCtx);
    const baseline = await down.readReach!(downArgs, prepared, driverCtx);
    expect((await httpGet(onPath)).status).toBe(200);
    const applied = await down.readReach!(downArgs, prepared, driverCtx);
    await down.apply(downArgs, prepared, driverCtx);
    cleanups.push(() => runUndo(prepared.undo!, driverCtx));
    expect((await httpGet(onPath)).error).toBe('ECONNREFUSED');
    const undone = await down.readReach!(downArgs, prepared, driverCtx);
    await runUndo(prepared.undo!, driverCtx);
    expect(down.judgeReach!(downArgs, { baseline, applied, undone })).toMatchObject({ reached: true, summary: expect.stringMatching(/between the baseline's start and the proxy going down, 0B while it was live/) });
  }, 30_000);

  it('a keep-alive caller whose connection stays open: its bytes are not counted yet, so the judge cannot tell rather than say not reached', async (ctx) => {
    const { Agent, get } = await import('node:http');
    const backend = await startHttpServer((_req, res) => res.end('y'.repeat(1000)));
    cleanups.push(() => backend.close());
    const port = await freePort();
    const target = targetSettings.parse({ managed: true, server: serverBinary(ctx), proxies: [{ name: 'pooled', listen: `127.0.0.1:${port}`, upstream: `127.0.0.1:${backend.port}` }] });
    const driverCtx = testDriverContext({ runId: `test-reach-${randomBytes(3).toString('hex')}`, target }, toxiproxyDriver);
    const provisioned = (await toxiproxyDriver.provision!.prepare(driverCtx))!;
    cleanups.push(() => runUndo(provisioned.undo!, driverCtx));
    await toxiproxyDriver.provision!.apply(provisioned, driverCtx);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    const request = () => new Promise<void>((resolve, reject) => get({ host: '127.0.0.1', port, agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    await request();
    const action = toxiproxyDriver.actions.latency as ActionDefinition;
    const args = action.args.parse({ proxy: 'pooled', latency: '20ms' });
    const prepared = await action.prepare(args, driverCtx);
    const applied = await action.readReach!(args, prepared, driverCtx);
    await action.apply(args, prepared, driverCtx);
    for (let i = 0; i < 3; i++) await request();
    const undone = await action.readReach!(args, prepared, driverCtx);
    await runUndo(prepared.undo!, driverCtx);
    expect(undone.counters['open:pooled']).toBe(1);
    const evidence = action.judgeReach!(args, { applied, undone });
    await ctx.annotate(evidence.summary);
    expect(evidence).toMatchObject({ reached: null, summary: expect.stringMatching(/stayed open \(Toxiproxy counts a connection's bytes when it closes\)/) });
  }, 30_000);

  it('a server started without -proxy-metrics: the reading is unavailable and says how to fix it', async (ctx) => {
    const port = await freePort();
    const child = spawn(serverBinary(ctx), ['-host', '127.0.0.1', '-port', String(port)], { stdio: 'ignore' });
    cleanups.push(async () => child.kill('SIGKILL'));
    const url = `http://127.0.0.1:${port}`;
    await waitFor('toxiproxy-server without metrics', async () => (await fetch(`${url}/version`).catch(() => undefined))?.ok === true, 10_000);
    const read = await readProxyBytes(url, ['a'], new AbortController().signal);
    expect(read).toEqual({ counters: {}, unavailable: NO_METRICS });
  }, 20_000);
});
