// The fault proxy's examples through the CLI, each with and without the mechanism it proves: the retry
// client and the circuit breaker get opposite results, and the journal holds the proxy's exact counts.
// Then a `kill -9` of a run: the proxy outlives faultline, and `faultline recover` stops it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Journal } from '../src/engine/journal.js';
import { processesWithToken } from '../src/drivers/faultproxy/managed.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { freePort } from './support/ports.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `faultline-faultproxy-${label}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The fixture processes a run left (a killed run never reaches its teardown). */
function stopFixtures(stateDir: string): void {
  cleanups.push(async () => {
    for (const name of ['faultproxy-retries-caller', 'faultproxy-retries-backend', 'faultproxy-breaker-caller', 'faultproxy-breaker-backend']) {
      const pid = Number(await readFile(join(stateDir, `${name}.pid`), 'utf8').catch(() => ''));
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
  });
}

async function runExample(file: string, vars: Record<string, string | number>) {
  const dir = await tempDir('example');
  stopFixtures(dir);
  const all = { ...vars, stateDir: dir, 'backend.port': await freePort(), 'proxy.port': await freePort(), 'caller.port': await freePort() };
  const result = await runCli(['run', file, ...Object.entries(all).flatMap(([k, v]) => ['--var', `${k}=${v}`]), '--ledger-dir', join(dir, 'ledger'), '--journal', join(dir, 'journal.json')]);
  const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as Journal;
  return { result, journal };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('experiments/faultproxy-retries.yaml', () => {
  it('passes with retries: the proxy answered 503 to exactly the first 2 calls, and to a share of later ones, and the callers saw no error', async () => {
    const { result, journal } = await runExample('experiments/faultproxy-retries.yaml', {});
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    const [first, flaky] = journal.faults;
    expect(first!.reach).toMatchObject({ source: 'injected', reached: true, counts: { faulted: 2 } });
    expect(first!.reach!.counts!.passed).toBe(first!.reach!.counts!.seen - 2);
    expect(first!.reach!.summary).toMatch(/^503 to 2 of \d+ requests through fault proxy backend/);
    expect(flaky!.reach!.counts!.faulted).toBeGreaterThan(0);
    expect(result.stdout).toContain('503 to 2 of');
    expect(journal.verdicts.map((v) => [v.name, v.result])).toEqual([['retries', 'pass']]);
  }, 90_000);

  it('deviates without retries: the same faults reach the callers', async () => {
    const { result, journal } = await runExample('experiments/faultproxy-retries.yaml', { 'caller.retries': 0 });
    expect(result.stdout).toMatch(/Result: DEVIATED/);
    expect(result.code).toBe(1);
    expect(journal.verdicts.map((v) => [v.name, v.result])).toEqual([['retries', 'fail']]);
    expect(journal.faults[0]!.reach!.counts!.faulted).toBe(2);
  }, 90_000);
});

describe('experiments/faultproxy-circuit-breaker.yaml', () => {
  it('passes with a breaker: the proxy saw a handful of calls while the backend failed', async () => {
    const { result, journal } = await runExample('experiments/faultproxy-circuit-breaker.yaml', {});
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    const counts = journal.faults[0]!.reach!.counts!;
    expect(counts.seen).toBeLessThanOrEqual(15);
    expect(counts.faulted).toBe(counts.seen);
  }, 90_000);

  it('deviates without one: every request went on to the failing backend', async () => {
    const { result, journal } = await runExample('experiments/faultproxy-circuit-breaker.yaml', { 'caller.breakerFailures': 0 });
    expect(result.stdout).toMatch(/Result: DEVIATED/);
    expect(result.code).toBe(1);
    expect(journal.faults[0]!.reach!.counts!.seen).toBeGreaterThan(15);
  }, 90_000);
});

describe('kill -9 of a run', () => {
  it('leaves the fault proxy (and its fault) running; `faultline recover` stops it and nothing listens any more', async () => {
    const dir = await tempDir('kill');
    stopFixtures(dir);
    const proxyPort = await freePort();
    const vars = { stateDir: dir, 'backend.port': await freePort(), 'proxy.port': proxyPort, 'caller.port': await freePort() };
    const ledgerFile = join(dir, 'ledger', 'ledger.jsonl');
    const run = startCli(['run', 'experiments/faultproxy-retries.yaml', ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}=${v}`]), '--ledger-dir', join(dir, 'ledger')]);
    cleanups.push(() => run.child.kill('SIGKILL'));
    const applied = async () => (await readFile(ledgerFile, 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('"kind":"applied"')).length;
    // The provision and the first fault.
    await waitFor('the proxy and a fault to be applied', async () => (await applied()) >= 2, 30_000);
    run.child.kill('SIGKILL');
    await run.done;
    const intent = (await readFile(ledgerFile, 'utf8')).split('\n').map((l) => (l ? JSON.parse(l) : undefined)).find((r) => r?.action === 'faultproxy.provision');
    const token = intent.undo.args.token as string;
    expect(await listening(proxyPort)).toBe(true);
    expect(await processesWithToken(token)).toHaveLength(1);

    const recovered = await runCli(['recover', '--ledger-dir', join(dir, 'ledger')]);
    expect(recovered.code).toBe(0);
    expect(await listening(proxyPort)).toBe(false);
    expect(await processesWithToken(token)).toEqual([]);
    // A second recover finds nothing left to do.
    expect((await runCli(['recover', '--ledger-dir', join(dir, 'ledger')])).code).toBe(0);
  }, 90_000);
});
