// The toxiproxy driver end to end through the CLI: both examples against the test environment, a
// refused server, a managed server left behind by kill -9 and cleaned by `recover`, and a server that
// restarts in the middle of a run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { ToxiproxyConnection } from '../src/drivers/toxiproxy/client.js';
import type { Journal } from '../src/engine/journal.js';
import { toxiproxyBinaryPath } from '../testenv/toxiproxy.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { freePort } from './support/ports.js';
import { isCI, requireToxiproxy } from './support/testenv.js';

const suffix = randomBytes(3).toString('hex');
const cleanups: (() => unknown)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

function serverBinary(ctx: TestContext): string {
  const binary = toxiproxyBinaryPath();
  if (existsSync(binary)) return binary;
  if (isCI()) throw new Error(`toxiproxy-server is not built at ${binary}`);
  ctx.skip(`toxiproxy-server is not built at ${binary}; run \`npm run testenv -- up\``);
  throw new Error('unreachable');
}

async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `faultline-toxiproxy-${label}-`));
  cleanups.unshift(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A folder holding e.yaml: a managed toxiproxy-server, a proxy `api`, and a 1 s latency on it for `duration`. */
async function managedExperiment(ctx: TestContext, label: string, duration: string): Promise<string> {
  const binary = serverBinary(ctx);
  const dir = await tempDir(label);
  const [backendPort, listen] = [await freePort(), await freePort()];
  const yaml = [
    'version: 1',
    'title: a latency on a managed server',
    'targets:',
    `  toxiproxy: { managed: true, server: "${binary}", proxies: [{ name: api, listen: "127.0.0.1:${listen}", upstream: "127.0.0.1:${backendPort}" }] }`,
    'method:',
    '  - name: latency',
    '    fault: toxiproxy.latency',
    '    with: { proxy: api, latency: 1s }',
    `    duration: ${duration}`,
  ];
  await writeFile(join(dir, 'e.yaml'), yaml.join('\n'));
  return dir;
}

async function readJournal(path: string): Promise<Journal> {
  return JSON.parse(await readFile(path, 'utf8')) as Journal;
}

/** Runs an example with free ports and proxy names of its own, against the test environment's server. */
async function runExample(file: string, url: string, vars: (port: () => Promise<number>) => Promise<Record<string, string | number>>) {
  const dir = await tempDir('example');
  const journalPath = join(dir, 'journal.json');
  const values = await vars(freePort);
  const result = await runCli(
    ['run', file, ...Object.entries({ ...values, 'demo.stateDir': join(dir, 'demo') }).flatMap(([k, v]) => ['--var', `${k}=${v}`]), '--ledger-dir', join(dir, 'ledger'), '--journal', journalPath],
    { env: { TOXIPROXY_URL: url } },
  );
  return { result, journal: await readJournal(journalPath) };
}

async function ourToxics(url: string): Promise<string[]> {
  const proxies = await new ToxiproxyConnection(url).proxies();
  return proxies.filter((p) => p.name.includes(suffix)).map((p) => p.name);
}

describe('examples against the test environment', () => {
  it('experiments/toxiproxy-latency.yaml passes: the latency is seen through the proxy and undone', async (ctx) => {
    const { url } = await requireToxiproxy(ctx);
    const { result, journal } = await runExample('experiments/toxiproxy-latency.yaml', url, async (port) => {
      const [a, b, gateway, listen] = [await port(), await port(), await port(), await port()];
      return { 'toxiproxy.proxy': `faultline-test-${suffix}-latency`, 'toxiproxy.listen': listen, 'demo.backendPorts': `${a},${b}`, 'demo.backendA': a, 'demo.gatewayPort': gateway };
    });
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    expect(journal.faults.map((f) => f.status)).toEqual(['undone']);
    expect(journal.ledger.every((e) => e.state === 'undone')).toBe(true);
    const slow = journal.activities.filter((a) => a.name.startsWith('answers through the proxy are about 500 ms slower'));
    expect(slow).toHaveLength(4);
    expect(slow.every((a) => a.status === 'succeeded')).toBe(true);
    // The proxy the run created is gone with it.
    expect(await ourToxics(url)).toEqual([]);
  }, 60_000);

  it('experiments/toxiproxy-partition.yaml passes: both proxies fall silent, then heal', async (ctx) => {
    const { url } = await requireToxiproxy(ctx);
    const { result, journal } = await runExample('experiments/toxiproxy-partition.yaml', url, async (port) => {
      const [a, b, gateway, listenA, listenB] = [await port(), await port(), await port(), await port(), await port()];
      return {
        'toxiproxy.proxyA': `faultline-test-${suffix}-partition-a`,
        'toxiproxy.proxyB': `faultline-test-${suffix}-partition-b`,
        'toxiproxy.listenA': listenA,
        'toxiproxy.listenB': listenB,
        'demo.backendPorts': `${a},${b}`,
        'demo.backendA': a,
        'demo.backendB': b,
        'demo.gatewayPort': gateway,
      };
    });
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    expect(journal.faults.map((f) => f.status)).toEqual(['undone']);
    expect(journal.faults[0]!.targets).toHaveLength(2);
    expect(await ourToxics(url)).toEqual([]);
  }, 60_000);
});

describe('failures', () => {
  it('refuses an unreachable server before any fault is applied', async () => {
    const dir = await tempDir('unreachable');
    const port = await freePort();
    await writeFile(
      join(dir, 'e.yaml'),
      ['version: 1', 'title: unreachable', 'targets:', `  toxiproxy: { url: "http://127.0.0.1:${port}" }`, 'method:', '  - fault: toxiproxy.latency', '    with: { proxy: api, latency: 1s }', '    duration: 1s'].join('\n'),
    );
    const result = await runCli(['run', join(dir, 'e.yaml'), '--ledger-dir', join(dir, 'ledger'), '--journal', join(dir, 'j.json')]);
    expect(result.code).toBe(4);
    const journal = await readJournal(join(dir, 'j.json'));
    expect(journal.status).toBe('failed');
    expect(journal.error?.message).toMatch(/preflight of toxiproxy failed: Toxiproxy is unreachable: .* ECONNREFUSED/);
    expect(journal.faults).toEqual([]);
  });

  it('after kill -9 of faultline without a guardian, the managed server and its toxic stay; `faultline recover` removes the toxic and stops the server', async (ctx) => {
    const dir = await managedExperiment(ctx, 'kill', '60s');
    const ledgerFile = join(dir, 'ledger', 'ledger.jsonl');
    const run = startCli(['run', join(dir, 'e.yaml'), '--ledger-dir', join(dir, 'ledger'), '--no-guardian']);
    cleanups.push(() => run.child.kill('SIGKILL'));
    const appliedFaults = async () => (await readFile(ledgerFile, 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('"kind":"applied"')).length;
    await waitFor('the provision and the fault to be applied', async () => (await appliedFaults()) === 2, 20_000);
    const intent = (await readFile(ledgerFile, 'utf8')).split('\n').map((l) => (l ? JSON.parse(l) : undefined)).find((r) => r?.action === 'toxiproxy.provision');
    const url = intent.undo.args.url as string;
    run.child.kill('SIGKILL');
    await run.done;
    const connection = new ToxiproxyConnection(url);
    expect((await connection.proxy('api'))!.toxics).toHaveLength(1);

    const recovered = await runCli(['recover', '--ledger-dir', join(dir, 'ledger')]);
    expect(recovered.code).toBe(0);
    expect(await connection.version().catch(() => 'gone')).toBe('gone');
    expect(existsSync(intent.undo.args.managed.pidfile)).toBe(false);
  }, 60_000);

  it('--keep-faults keeps the managed server with its toxic; `faultline recover` releases both', async (ctx) => {
    const dir = await managedExperiment(ctx, 'keep', '200ms');
    const result = await runCli(['run', join(dir, 'e.yaml'), '--keep-faults', '--ledger-dir', join(dir, 'ledger'), '--journal', join(dir, 'j.json')]);
    expect(result.code).toBe(0);
    const journal = await readJournal(join(dir, 'j.json'));
    expect(journal.faults[0]!.status).toBe('kept');
    const provision = journal.ledger.find((e) => e.intent.action === 'toxiproxy.provision')!;
    expect(provision.state).toBe('applied');
    const connection = new ToxiproxyConnection(provision.intent.undo!.args.url as string);
    cleanups.push(() => runCli(['recover', '--ledger-dir', join(dir, 'ledger')]));
    expect((await connection.proxy('api'))!.toxics).toHaveLength(1);

    const recovered = await runCli(['recover', '--ledger-dir', join(dir, 'ledger')]);
    expect(recovered.code).toBe(0);
    expect(await connection.version().catch(() => 'gone')).toBe('gone');
  });

  it('a server that restarts mid-run: the undo says the toxic vanished, the ledger ends consistent, and the proxy loss is a deviation', async (ctx) => {
    const binary = serverBinary(ctx);
    const dir = await tempDir('restart');
    const [apiPort, backendPort, listen] = [await freePort(), await freePort(), await freePort()];
    const url = `http://127.0.0.1:${apiPort}`;
    const start = () => {
      const child: ChildProcess = spawn(binary, ['-host', '127.0.0.1', '-port', String(apiPort)], { stdio: 'ignore' });
      cleanups.push(() => child.kill('SIGKILL'));
      return child;
    };
    const answering = () => new ToxiproxyConnection(url).version().then(() => true, () => false);
    const first = start();
    await waitFor('our own toxiproxy-server', answering, 10_000);
    await writeFile(
      join(dir, 'e.yaml'),
      [
        'version: 1',
        'title: latency while the server restarts',
        'targets:',
        `  toxiproxy: { url: "${url}", proxies: [{ name: api, listen: "127.0.0.1:${listen}", upstream: "127.0.0.1:${backendPort}" }] }`,
        'hypothesis:',
        '  probes:',
        '    - name: the proxy exists',
        '      probe: toxiproxy.proxy',
        '      with: { proxy: api }',
        'method:',
        '  - name: latency',
        '    fault: toxiproxy.latency',
        '    with: { proxy: api, latency: 100ms }',
        '    duration: 3s',
      ].join('\n'),
    );
    const journalPath = join(dir, 'j.json');
    const run = startCli(['run', join(dir, 'e.yaml'), '--ledger-dir', join(dir, 'ledger'), '--journal', journalPath]);
    cleanups.push(() => run.child.kill('SIGKILL'));
    const ledgerFile = join(dir, 'ledger', 'ledger.jsonl');
    await waitFor('the fault to be applied', async () => (await readFile(ledgerFile, 'utf8').catch(() => '')).split('"kind":"applied"').length === 3, 20_000);
    first.kill('SIGKILL');
    await waitFor('the old server to go', async () => !(await answering()), 5_000);
    start();
    await waitFor('the restarted server', answering, 10_000);
    const result = await run.done;

    const journal = await readJournal(journalPath);
    const undo = journal.activities.find((a) => a.name === 'undo latency')!;
    expect(undo.status).toBe('succeeded');
    expect(undo.logs?.join('\n')).toMatch(/proxy api no longer exists .*restarted during the run/);
    expect(result.stdout).toMatch(/restarted during the run/);
    expect(journal.faults[0]!.status).toBe('undone');
    expect(journal.ledger.map((e) => e.state)).toEqual(['undone', 'undone']);
    // The steady state after finds the proxy gone: the run does not pass as if nothing happened.
    expect(journal.status).toBe('deviated');
    expect(result.code).toBe(1);
  }, 60_000);
});
