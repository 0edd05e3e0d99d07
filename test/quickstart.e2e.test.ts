// The quickstart, end to end against the real demo system: the full demo passes with its four
// verdicts; the demo without each resilience mechanism fails exactly the matching verdict.
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
  // freePort releases each port at once, so two draws can meet: five distinct ones are needed.
  const ports = new Set<number>();
  for (let tries = 0; ports.size < 5 && tries < 50; tries++) ports.add(await freePort());
  const [gateway, a, b, proxyA, proxyB] = [...ports];
  const journalPath = join(dir, 'journal.json');
  const result = await runCli([
    'run',
    'experiments/quickstart.yaml',
    '--var', `demo.without=${without}`,
    '--var', `demo.gatewayPort=${gateway}`,
    '--var', `demo.backendPorts=${a},${b}`,
    '--var', `demo.backendA=${a}`,
    '--var', `demo.backendB=${b}`,
    '--var', `demo.proxyA=${proxyA}`,
    '--var', `demo.proxyB=${proxyB}`,
    '--var', `demo.stateDir=${join(dir, 'demo')}`,
    '--ledger-dir', join(dir, 'ledger'),
    '--journal', journalPath,
  ], { env });
  const journal = JSON.parse(await readFile(journalPath, 'utf8'));
  return { result, journal };
}

type Verdict = { name: string; result: string; evidence: { summary: string; figures: Record<string, number | null> } };
const results = (journal: { verdicts: Verdict[] }) => Object.fromEntries(journal.verdicts.map((v) => [v.name, v.result]));
const MECHANISMS = ['timeouts', 'retries', 'failover', 'self-healing'];

describe('quickstart', () => {
  it('passes against the full demo: four verdicts hold, every fault applied and undone', async (ctx) => {
    const { result, journal } = await runQuickstart('none', ctx);
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    expect(journal.status).toBe('passed');
    expect(results(journal)).toEqual({ timeouts: 'pass', retries: 'pass', failover: 'pass', 'self-healing': 'pass' });
    // The terminal summary leads with the verdicts.
    expect(result.stdout.indexOf('self-healing  PASS')).toBeLessThan(result.stdout.indexOf('window '));
    expect(journal.faults.map((f: { key: string; status: string }) => `${f.key}:${f.status}`).sort()).toEqual(
      ['flaky-a:undone', 'freeze-a:undone', 'kill-a:irreversible', 'slow-a:undone'],
    );
    expect(journal.ledger.every((e: { state: string }) => e.state === 'undone' || e.state === 'irreversible')).toBe(true);
    // Each traffic verdict passed on positive evidence that its fault reached the requests: until the
    // Toxiproxy and process drivers count what crosses their targets, the traffic itself shows it.
    for (const name of ['timeouts', 'retries', 'failover']) {
      const verdict = journal.verdicts.find((v: Verdict) => v.name === name);
      expect(verdict.evidence.reach.some((r: { reached: boolean | null }) => r.reached === true), `${name}: ${verdict.evidence.summary}`).toBe(true);
    }
    const healing = journal.verdicts.find((v: Verdict) => v.name === 'self-healing');
    expect(healing.evidence.figures.recoveryMs).toBeGreaterThan(0);
    expect(journal.windows.map((w: { kind: string }) => w.kind)).toEqual(['baseline', 'fault', 'fault', 'fault', 'fault', 'recovery', 'total']);
  }, 60_000);

  it.for(MECHANISMS.map((m) => [m]))('without %s, exactly that verdict fails and the run exits 1', async ([without], ctx) => {
    const { result, journal } = await runQuickstart(without!, ctx);
    expect(result.stdout).toMatch(/Result: DEVIATED/);
    expect(result.code).toBe(1);
    expect(journal.status).toBe('deviated');
    expect(results(journal)).toEqual(Object.fromEntries(MECHANISMS.map((m) => [m, m === without ? 'fail' : 'pass'])));
    expect(journal.reason).toMatch(new RegExp(`^${without} did not hold`));
    // Whatever the result, nothing is left applied, the managed toxiproxy-server included.
    expect(journal.faults.filter((f: { key: string }) => f.key !== 'kill-a').every((f: { status: string }) => f.status === 'undone')).toBe(true);
    expect(journal.ledger.every((e: { state: string }) => e.state === 'undone' || e.state === 'irreversible')).toBe(true);
  });
});
