// The quickstart, end to end against the real demo system: the full demo passes; the demo without
// each resilience mechanism deviates, and the journal says which probe caught it.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { freePort } from './support/ports.js';

async function runQuickstart(without: string) {
  const dir = await mkdtemp(join(tmpdir(), `faultline-quickstart-${without}-`));
  const [gateway, a, b] = [await freePort(), await freePort(), await freePort()];
  const journalPath = join(dir, 'journal.json');
  const result = await runCli([
    'run',
    'experiments/quickstart.yaml',
    '--var', `demo.without=${without}`,
    '--var', `demo.gatewayPort=${gateway}`,
    '--var', `demo.backendPorts=${a},${b}`,
    '--var', `demo.backendA=${a}`,
    '--var', `demo.stateDir=${join(dir, 'demo')}`,
    '--ledger-dir', join(dir, 'ledger'),
    '--journal', journalPath,
  ]);
  const journal = JSON.parse(await readFile(journalPath, 'utf8'));
  return { result, journal };
}

const missed = (journal: { activities: { status: string; name: string }[] }) =>
  journal.activities.filter((a) => a.status === 'missed' || a.status === 'failed').map((a) => a.name);

describe('quickstart', () => {
  it('passes against the full demo, with every fault applied and undone', async () => {
    const { result, journal } = await runQuickstart('none');
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    expect(journal.status).toBe('passed');
    expect(journal.faults.map((f: { status: string }) => f.status)).toEqual(['undone', 'irreversible']);
    expect(journal.ledger.every((e: { state: string }) => e.state === 'undone' || e.state === 'irreversible')).toBe(true);
    const recovery = journal.activities.find((a: { name: string }) => a.name === 'backend-a comes back by itself');
    expect(recovery.status).toBe('succeeded');
    expect(recovery.waitedMs).toBeGreaterThan(0);
  }, 60_000);

  it.each([
    ['timeouts', 'gateway answers fast while backend-a is frozen'],
    ['retries', 'gateway answers fast while backend-a is frozen'],
    ['failover', 'gateway answers fast while backend-a is frozen'],
    ['self-healing', 'backend-a comes back by itself'],
  ])('deviates without %s', async (without, probe) => {
    const { result, journal } = await runQuickstart(without);
    expect(result.stdout).toMatch(/Result: DEVIATED/);
    expect(result.code).toBe(1);
    expect(journal.status).toBe('deviated');
    expect(missed(journal).some((name) => name.startsWith(probe))).toBe(true);
    // Whatever the result, nothing is left applied.
    expect(journal.faults[0].status).toBe('undone');
  }, 60_000);
});
