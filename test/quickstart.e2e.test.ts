// The quickstart, end to end against the real demo system: the full demo passes; the demo without
// each resilience mechanism deviates, and the journal says which probe caught it.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it, type TestContext } from 'vitest';
import { toxiproxyBinaryPath } from '../testenv/toxiproxy.js';
import { hasProgram } from '../testenv/processes.js';
import { runCli } from './support/cli.js';
import { freePort } from './support/ports.js';
import { isCI } from './support/testenv.js';

/** The quickstart starts its own toxiproxy-server: the one on PATH, else the one the testenv built. */
async function toxiproxyServerEnv(ctx: TestContext): Promise<Record<string, string>> {
  if (await hasProgram('toxiproxy-server')) return {};
  if (existsSync(toxiproxyBinaryPath())) return { FAULTLINE_TOXIPROXY_SERVER: toxiproxyBinaryPath() };
  const message = 'the quickstart needs toxiproxy-server: run `npm run testenv -- up` to build it';
  if (isCI()) throw new Error(message);
  ctx.skip(message);
  throw new Error('unreachable');
}

async function runQuickstart(without: string, ctx: TestContext) {
  const env = await toxiproxyServerEnv(ctx);
  const dir = await mkdtemp(join(tmpdir(), `faultline-quickstart-${without}-`));
  const [gateway, a, b, proxyA] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const journalPath = join(dir, 'journal.json');
  const result = await runCli([
    'run',
    'experiments/quickstart.yaml',
    '--var', `demo.without=${without}`,
    '--var', `demo.gatewayPort=${gateway}`,
    '--var', `demo.backendPorts=${a},${b}`,
    '--var', `demo.backendA=${a}`,
    '--var', `demo.proxyA=${proxyA}`,
    '--var', `demo.stateDir=${join(dir, 'demo')}`,
    '--ledger-dir', join(dir, 'ledger'),
    '--journal', journalPath,
  ], { env });
  const journal = JSON.parse(await readFile(journalPath, 'utf8'));
  return { result, journal };
}

const missed = (journal: { activities: { status: string; name: string }[] }) =>
  journal.activities.filter((a) => a.status === 'missed' || a.status === 'failed').map((a) => a.name);

describe('quickstart', () => {
  it('passes against the full demo, with every fault applied and undone', async (ctx) => {
    const { result, journal } = await runQuickstart('none', ctx);
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    expect(journal.status).toBe('passed');
    expect(journal.faults.map((f: { status: string }) => f.status)).toEqual(['undone', 'undone', 'irreversible']);
    expect(journal.ledger.every((e: { state: string }) => e.state === 'undone' || e.state === 'irreversible')).toBe(true);
    const recovery = journal.activities.find((a: { name: string }) => a.name === 'backend-a comes back by itself');
    expect(recovery.status).toBe('succeeded');
    expect(recovery.waitedMs).toBeGreaterThan(0);
  }, 60_000);

  it.for<[string, string[]]>([
    ['timeouts', ['gateway answers fast while backend-a is slow', 'gateway answers fast while backend-a is frozen']],
    ['retries', ['gateway answers fast while backend-a is slow', 'gateway answers fast while backend-a is frozen']],
    ['failover', ['gateway answers fast while backend-a is slow', 'gateway answers fast while backend-a is frozen']],
    ['self-healing', ['backend-a comes back by itself']],
  ])('deviates without %s', async ([without, probes], ctx) => {
    const { result, journal } = await runQuickstart(without, ctx);
    expect(result.stdout).toMatch(/Result: DEVIATED/);
    expect(result.code).toBe(1);
    expect(journal.status).toBe('deviated');
    // Each probe that should catch the missing mechanism does: the network fault and the freeze alike.
    for (const probe of probes) expect(missed(journal).some((name) => name.startsWith(probe))).toBe(true);
    // Whatever the result, nothing is left applied, the managed toxiproxy-server included.
    expect(journal.faults.slice(0, 2).map((f: { status: string }) => f.status)).toEqual(['undone', 'undone']);
    expect(journal.ledger.every((e: { state: string }) => e.state === 'undone' || e.state === 'irreversible')).toBe(true);
  });
});
