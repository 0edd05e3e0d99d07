// A toxiproxy-server started and stopped by the driver itself (targets.toxiproxy.managed), proxies
// created for a run, and what the undos do when the server went away or restarted mid-run.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { toxiproxyBinaryPath } from '../../../testenv/toxiproxy.js';
import { isCI, requireToxiproxy } from '../../../test/support/testenv.js';
import { testDriverContext } from '../../../test/support/driver-context.js';
import { freePort } from '../../../test/support/ports.js';
import { waitFor } from '../../../test/support/cli.js';
import { httpGet, startHttpServer, type Listening } from '../../../test/support/traffic.js';
import { readProcStat } from '../process/index.js';
import type { DriverContext, PreparedAction, UndoSpec } from '../types.js';
import { ToxiproxyConnection } from './client.js';
import { targetSettings } from './connection.js';
import { toxiproxyDriver } from './index.js';

const suffix = randomBytes(3).toString('hex');
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

async function backendServer(): Promise<Listening> {
  const backend = await startHttpServer((_req, res) => res.end('ok'));
  cleanups.push(() => backend.close());
  return backend;
}

function logsOf(logs: string[]): DriverContext['log'] {
  return (message) => logs.push(message);
}

async function runUndo(spec: UndoSpec, ctx: DriverContext): Promise<string[]> {
  const logs: string[] = [];
  const definition = toxiproxyDriver.undos[spec.op as keyof typeof toxiproxyDriver.undos];
  await definition.run(definition.args.parse(spec.args) as never, { ...ctx, log: logsOf(logs) });
  return logs;
}

async function provision(ctx: DriverContext): Promise<{ prepared: PreparedAction; output: Record<string, unknown> }> {
  const prepared = (await toxiproxyDriver.provision!.prepare(ctx))!;
  cleanups.push(() => runUndo(prepared.undo!, ctx));
  const output = await toxiproxyDriver.provision!.apply(prepared, ctx);
  return { prepared, output };
}

function managedPid(prepared: PreparedAction): number {
  const { pidfile } = (prepared.undo!.args as { managed: { pidfile: string } }).managed;
  return (JSON.parse(readFileSync(pidfile, 'utf8')) as { pid: number }).pid;
}

async function isRunning(pid: number): Promise<boolean> {
  const stat = await readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

async function managedRun(ctx: TestContext, proxyPort = 0) {
  const backend = await backendServer();
  const runId = `test-managed-${randomBytes(3).toString('hex')}`;
  const target = targetSettings.parse({
    managed: true,
    server: serverBinary(ctx),
    proxies: [{ name: 'api', listen: `127.0.0.1:${proxyPort}`, upstream: `127.0.0.1:${backend.port}` }],
  });
  const driverCtx = testDriverContext({ runId, target }, toxiproxyDriver);
  const { prepared, output } = await provision(driverCtx);
  const url = output.url as string;
  const port = Number((output.listen as Record<string, string>).api!.split(':').pop());
  return { driverCtx, prepared, url, port, runId };
}

async function addLatency(driverCtx: DriverContext, ms: number): Promise<PreparedAction> {
  const latency = toxiproxyDriver.actions.latency;
  const args = latency.args.parse({ proxy: 'api', latency: ms });
  const prepared = await latency.prepare(args, driverCtx);
  await latency.apply(args, prepared, driverCtx);
  return prepared;
}

describe('managed toxiproxy-server', () => {
  it('is started for the run with the declared proxies, carries real traffic, and is stopped by the release', async (ctx) => {
    const { driverCtx, prepared, url, port } = await managedRun(ctx);
    expect(prepared.targets[0]).toMatch(/^toxiproxy-server on http:\/\/127\.0\.0\.1:\d+, started for this run/);
    const pid = managedPid(prepared);
    await toxiproxyDriver.preflight!(driverCtx);
    expect(await toxiproxyDriver.probes.proxy.run({ proxy: 'api' }, driverCtx)).toMatchObject({ exists: true, enabled: true });
    const fault = await addLatency(driverCtx, 300);
    expect((await httpGet(port)).ms).toBeGreaterThan(270);
    expect(await toxiproxyDriver.probes.toxics.run({ proxy: 'api', mine: true }, driverCtx)).toMatchObject({ count: 1, types: ['latency'] });
    await runUndo(fault.undo!, driverCtx);
    // The toxic is gone from the server (how fast answers come back is a figure for bench/, not a test).
    expect(await toxiproxyDriver.probes.toxics.run({ proxy: 'api', mine: true }, driverCtx)).toMatchObject({ count: 0 });
    expect((await httpGet(port)).status).toBe(200);
    const logs = await runUndo(prepared.undo!, driverCtx);
    expect(logs.join('\n')).toMatch(/deleted proxy api[^]*stopped the managed toxiproxy-server/);
    expect(await isRunning(pid)).toBe(false);
    expect(await new ToxiproxyConnection(url).version().catch(() => 'gone')).toBe('gone');
    // Idempotent: a second release finds nothing to do.
    expect((await runUndo(prepared.undo!, driverCtx)).join('\n')).toMatch(/gone/);
  });

  it('after a hard kill of faultline, recover (a new process: no targets, no memory of the run) undoes the toxic and stops the server', async (ctx) => {
    const { driverCtx, prepared, port } = await managedRun(ctx);
    const pid = managedPid(prepared);
    const fault = await addLatency(driverCtx, 500);
    const recoverCtx = testDriverContext({ runId: driverCtx.runId }, toxiproxyDriver);
    expect((await runUndo(fault.undo!, recoverCtx)).join()).toMatch(/removed toxic/);
    expect(await toxiproxyDriver.probes.toxics.run({ proxy: 'api', mine: true }, driverCtx)).toMatchObject({ count: 0 });
    expect((await httpGet(port)).status).toBe(200);
    await runUndo(prepared.undo!, recoverCtx);
    expect(await isRunning(pid)).toBe(false);
  });

  it('when the managed server died with its toxics, the undos say so and succeed', async (ctx) => {
    const { driverCtx, prepared } = await managedRun(ctx);
    const pid = managedPid(prepared);
    const fault = await addLatency(driverCtx, 100);
    process.kill(pid, 'SIGKILL');
    await waitFor('the managed server to die', async () => !(await isRunning(pid)), 5_000);
    expect((await runUndo(fault.undo!, driverCtx)).join()).toMatch(/managed toxiproxy-server at .* is gone, and toxic faultline-.* with it/);
    expect((await runUndo(prepared.undo!, driverCtx)).join('\n')).toMatch(/had already exited/);
  });

  it('a server restarted mid-run (same port, empty) is detected at undo time, and the undo succeeds', async (ctx) => {
    const { driverCtx, prepared, url } = await managedRun(ctx);
    const pid = managedPid(prepared);
    const fault = await addLatency(driverCtx, 100);
    process.kill(pid, 'SIGKILL');
    await waitFor('the managed server to die', async () => !(await isRunning(pid)), 5_000);
    const { port } = new URL(url);
    const restarted: ChildProcess = spawn(serverBinary(ctx), ['-host', '127.0.0.1', '-port', port], { stdio: 'ignore' });
    cleanups.push(async () => restarted.kill('SIGKILL'));
    await waitFor('the restarted server', () => new ToxiproxyConnection(url).version().then(() => true, () => false), 10_000);
    expect((await runUndo(fault.undo!, driverCtx)).join()).toMatch(/proxy api no longer exists .* restarted during the run/);
    expect((await runUndo(prepared.undo!, driverCtx)).join('\n')).toMatch(/proxy api is gone already[^]*had already exited/);
    restarted.kill('SIGKILL');
  });

  it('plans without starting anything', async (ctx) => {
    const target = targetSettings.parse({ managed: true, server: serverBinary(ctx), proxies: [{ name: 'api', listen: '127.0.0.1:0', upstream: '127.0.0.1:9' }] });
    const driverCtx = testDriverContext({ runId: `plan-${suffix}`, target }, toxiproxyDriver);
    const latency = toxiproxyDriver.actions.latency;
    const prepared = await latency.prepare(latency.args.parse({ proxy: 'api', latency: '1s' }), driverCtx);
    expect(prepared.targets).toEqual([expect.stringMatching(/^proxy api on the managed server: latency 1s, downstream \(faultline-plan-[0-9a-f]+-latency-[0-9a-f]{4}-downstream\)$/)]);
    await expect(latency.prepare(latency.args.parse({ proxy: 'other', latency: '1s' }), driverCtx)).rejects.toThrow(/not allowed/);
  });

  it('refuses a program that is not there, before anything starts', async () => {
    const target = targetSettings.parse({ managed: true, server: `no-such-toxiproxy-${suffix}` });
    await expect(toxiproxyDriver.provision!.prepare(testDriverContext({ target }, toxiproxyDriver))).rejects.toThrow(/is not on PATH/);
  });
});

describe('declared proxies on a shared server', () => {
  it('creates the missing ones, refuses a clash, and removes only what the run created', async (ctx) => {
    const { url } = await requireToxiproxy(ctx);
    const connection = new ToxiproxyConnection(url);
    const backend = await backendServer();
    const existing = `faultline-test-${suffix}-existing`;
    const fresh = `faultline-test-${suffix}-fresh`;
    await connection.createProxy({ name: existing, listen: '127.0.0.1:0', upstream: `127.0.0.1:${backend.port}` });
    cleanups.push(() => connection.deleteProxy(existing));
    cleanups.push(() => connection.deleteProxy(fresh));
    const freshPort = await freePort();
    const declared = [
      { name: existing, listen: '127.0.0.1:0', upstream: `127.0.0.1:${backend.port}` },
      { name: fresh, listen: `127.0.0.1:${freshPort}`, upstream: `127.0.0.1:${backend.port}` },
    ];
    const driverCtx = testDriverContext({ runId: `test-${suffix}`, target: targetSettings.parse({ url, proxies: declared }) }, toxiproxyDriver);
    const { prepared } = await provision(driverCtx);
    expect(prepared.targets).toEqual([`proxy ${fresh} (127.0.0.1:${freshPort} → 127.0.0.1:${backend.port}), created for this run`]);
    expect((await httpGet(freshPort)).status).toBe(200);
    await runUndo(prepared.undo!, driverCtx);
    expect(await connection.proxy(fresh)).toBeUndefined();
    expect(await connection.proxy(existing)).toBeDefined();

    const clash = targetSettings.parse({ url, proxies: [{ name: existing, listen: '127.0.0.1:0', upstream: '127.0.0.1:9' }] });
    await expect(toxiproxyDriver.provision!.prepare(testDriverContext({ target: clash }, toxiproxyDriver))).rejects.toThrow(/exists as .* but the experiment declares/);
  });
});
