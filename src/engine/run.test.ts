// The engine's promises, checked against real processes: a `sleep` victim frozen with SIGSTOP by the
// process driver, and files written by the command driver. No driver is mocked.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processState } from '../../test/support/cli.js';
import { createDefaultRegistry } from '../drivers/builtin.js';
import { loadExperiment } from '../experiment/load.js';
import { Ledger } from '../safety/ledger.js';
import { recover } from '../safety/recover.js';
import { runExperiment, type RunOptions } from './run.js';

let dir: string;
let victim: ChildProcess;
const registry = await createDefaultRegistry();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-engine-'));
  victim = spawn('sleep', ['120'], { stdio: 'ignore' });
});

afterEach(async () => {
  victim.kill('SIGCONT');
  victim.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function run(yaml: string, options: Partial<RunOptions> = {}, env: Record<string, string> = {}) {
  const file = join(dir, 'experiment.yaml');
  await writeFile(file, yaml.replaceAll('VICTIM', String(victim.pid)));
  const fullEnv = { ...process.env, ...env };
  const loaded = await loadExperiment(file, { cwd: dir, env: fullEnv, registry });
  const started = Date.now();
  const journal = await runExperiment({ loaded, registry, cwd: dir, env: fullEnv, ledgerDir: join(dir, 'ledger'), ...options });
  return { journal, elapsedMs: Date.now() - started };
}

const exists = (name: string) =>
  access(join(dir, name)).then(
    () => true,
    () => false,
  );

const victimRunning = `
    - name: victim is running
      probe: process.running
      with: { pid: VICTIM }
      expect: { running: true }`;

async function openLedgerEntries(): Promise<number> {
  const ledger = new Ledger(join(dir, 'ledger'));
  try {
    return (await ledger.openEntries()).length;
  } finally {
    await ledger.close();
  }
}

describe('runExperiment', () => {
  it('passes, and undoes a fault when its duration ends', async () => {
    const { journal } = await run(`
version: 1
title: freeze briefly
hypothesis:
  title: victim runs
  probes:${victimRunning}
method:
  - id: freeze
    name: freeze
    fault: process.stop
    with: { pid: VICTIM }
    duration: 1s
  # After the fault took effect, not at a clock offset: on a busy machine the stop may land late.
  - name: frozen now
    probe: process.running
    after: freeze
    with: { pid: VICTIM }
    expect: { running: false, state: T }
`);
    expect(journal.status).toBe('passed');
    expect(journal.faults[0]).toMatchObject({ status: 'undone' });
    // Undone when its duration ended, not before: the schedule is the bound, not a wall-clock span
    // (a timer on a busy machine may fire a millisecond early against a rounded clock).
    const fault = journal.faults[0]!;
    expect(fault.scheduledEndMs).toBeDefined();
    expect(fault.undoneAtMs!).toBeGreaterThanOrEqual(fault.scheduledEndMs! - 1);
    expect(await processState(victim.pid!)).not.toBe('T');
    expect(await openLedgerEntries()).toBe(0);
  });

  it('ends as deviated, and runs no method, when the steady state is missed before', async () => {
    const { journal } = await run(`
version: 1
title: unhealthy from the start
hypothesis:
  title: impossible
  probes:
    - probe: command
      with: { run: "exit 1" }
      expect: { exitCode: 0 }
method:
  - fault: process.stop
    with: { pid: VICTIM }
rollbacks:
  - action: command
    with: { run: "touch rolled-back" }
`);
    expect(journal.status).toBe('deviated');
    expect(journal.faults).toHaveLength(0);
    expect(journal.hypothesis.before?.met).toBe(false);
    expect(await exists('rolled-back')).toBe(false); // default strategy: not when the steady state failed before
    expect(await processState(victim.pid!)).not.toBe('T');
  });

  it('aborts at once when an abort condition trips, and undoes the live fault', async () => {
    const { journal, elapsedMs } = await run(`
version: 1
title: abort while frozen
method:
  - name: freeze for long
    fault: process.stop
    with: { pid: VICTIM }
    duration: 20s
abort:
  - name: victim frozen
    probe: process.running
    with: { pid: VICTIM }
    expect: { running: true }
    every: 100ms
    failures: 2
`);
    expect(journal.status).toBe('aborted');
    expect(journal.abort?.condition).toBe('victim frozen');
    expect(journal.faults[0]).toMatchObject({ status: 'undone' });
    expect(elapsedMs).toBeLessThan(20_000); // before the fault's 20 s
    expect(await processState(victim.pid!)).not.toBe('T');
    expect(await openLedgerEntries()).toBe(0);
  });

  it('deviates when the continuous steady state misses during the method', async () => {
    const { journal } = await run(`
version: 1
title: continuous
hypothesis:
  title: victim runs
  continuous: { every: 100ms }
  probes:${victimRunning}
method:
  - fault: process.stop
    with: { pid: VICTIM }
    duration: 600ms
`);
    expect(journal.status).toBe('deviated');
    expect(journal.hypothesis.during?.misses).toBeGreaterThan(0);
    expect(journal.faults[0]).toMatchObject({ status: 'undone' });
    expect(await processState(victim.pid!)).not.toBe('T');
  });

  it('fails the run when a fault cannot be applied, after undoing the faults before it', async () => {
    const { journal } = await run(`
version: 1
title: second fault fails
method:
  - name: freeze
    fault: process.stop
    with: { pid: VICTIM }
    duration: 20s
  - name: freeze a process that is not there
    fault: process.stop
    with: { pidfile: no-such.pid }
    at: 200ms
`);
    expect(journal.status).toBe('failed');
    expect(journal.reason).toMatch(/no-such\.pid/);
    expect(journal.faults[0]).toMatchObject({ name: 'freeze', status: 'undone' });
    expect(await processState(victim.pid!)).not.toBe('T');
  });

  it('stops at --timeout and still undoes', async () => {
    const { journal, elapsedMs } = await run(
      `
version: 1
title: too long
method:
  - fault: process.stop
    with: { pid: VICTIM }
    duration: 20s
`,
      { timeoutMs: 500 },
    );
    expect(journal.status).toBe('failed');
    expect(journal.error?.code).toBe('E_TIMEOUT');
    expect(elapsedMs).toBeLessThan(20_000); // cut short: the fault was declared for 20 s
    expect(journal.faults[0]).toMatchObject({ status: 'undone' });
    expect(await processState(victim.pid!)).not.toBe('T');
  });

  it('enforces an activity timeout', async () => {
    const { journal } = await run(`
version: 1
title: slow probe
hypothesis:
  title: answers in time
  probes:
    - probe: command
      with: { run: "sleep 30" }
      timeout: 300ms
method:
  - probe: command
    with: { run: "true" }
`);
    expect(journal.status).toBe('deviated');
    expect(journal.activities[0]).toMatchObject({ status: 'timeout' });
  });

  it('leaves faults in the ledger with keepFaults, for recover to undo', async () => {
    const { journal } = await run(
      `
version: 1
title: keep it
method:
  - fault: process.stop
    with: { pid: VICTIM }
    duration: 100ms
`,
      { keepFaults: true },
    );
    expect(journal.faults[0]).toMatchObject({ status: 'kept' });
    expect(await processState(victim.pid!)).toBe('T');
    expect(await openLedgerEntries()).toBe(1);
    const report = await recover({ ledgerDir: join(dir, 'ledger'), registry, cwd: dir, env: process.env });
    expect(report.entries.map((e) => e.result)).toEqual(['undone']);
    expect(await processState(victim.pid!)).not.toBe('T');
    expect(await openLedgerEntries()).toBe(0);
  });

  it('records the time a probe took to be met with until', async () => {
    const { journal } = await run(`
version: 1
title: recovery time
method:
  - probe: command
    with: { run: "test -e later || { sleep 0.3; touch later; exit 1; }" }
    expect: { exitCode: 0 }
    until: { within: 5s, every: 100ms }
`);
    expect(journal.status).toBe('passed');
    const probe = journal.activities.find((a) => a.phase === 'method')!;
    expect(probe.attempts).toBeGreaterThanOrEqual(2);
    expect(probe.durationMs).toBeGreaterThanOrEqual(300);
  });

  it("passes a step's output to a later step", async () => {
    const { journal } = await run(`
version: 1
title: references
method:
  - id: freeze
    fault: process.stop
    with: { pid: VICTIM }
    duration: 300ms
  - name: the frozen pid
    probe: process.running
    at: 100ms
    with: { pid: "\${steps.freeze.output.pid}" }
    expect: { state: T }
  - name: echo
    probe: command
    at: 150ms
    with: { run: [echo, "$\${steps.freeze.output.pid} is \${steps.freeze.output.pid}, $\${HOME}"] }
`);
    expect(journal.status).toBe('passed');
    expect(journal.activities.find((a) => a.name === 'the frozen pid')?.args).toEqual({ pid: victim.pid });
    // An escaped $${…} stays literal, beside a reference or not.
    expect((journal.activities.find((a) => a.name === 'echo')?.output as Record<string, unknown> | undefined)?.['stdout']).toBe(`\${steps.freeze.output.pid} is ${victim.pid}, \${HOME}\n`);
  });

  it('keeps secrets out of the journal and the ledger', async () => {
    const { journal } = await run(
      `
version: 1
title: secret
secrets:
  token: { env: FAULTLINE_TEST_TOKEN }
method:
  - name: "echo \${secrets.token}"
    probe: command
    with: { run: "echo \${secrets.token}" }
  - fault: process.stop
    with: { pid: VICTIM }
    duration: 100ms
`,
      {},
      { FAULTLINE_TEST_TOKEN: 's3cr3t-value-42' },
    );
    expect(journal.status).toBe('passed');
    const text = JSON.stringify(journal) + (await readFile(join(dir, 'ledger', 'ledger.jsonl'), 'utf8').catch(() => ''));
    expect(text).not.toContain('s3cr3t-value-42');
    expect(JSON.stringify(journal.activities)).toContain('***');
  });
});

describe('rollback strategies', () => {
  const experiment = (healthy: boolean, deviate: boolean) => `
version: 1
title: rollbacks
hypothesis:
  title: steady
  probes:
    - probe: command
      with: { run: "${healthy ? 'true' : 'false'}" }
      expect: { exitCode: 0 }
method:
  - probe: command
    with: { run: "${deviate ? 'false' : 'true'}" }
    expect: { exitCode: 0 }
rollbacks:
  - action: command
    with: { run: "touch rolled-back" }
`;
  it.each([
    ['default', true, false, true],
    ['default', false, false, false],
    ['always', false, false, true],
    ['never', true, false, false],
    ['deviated', true, false, false],
    ['deviated', true, true, true],
  ] as const)('%s (steady before: %s, deviated: %s) rolls back: %s', async (strategy, healthy, deviate, rolled) => {
    const { journal } = await run(experiment(healthy, deviate), { rollbackStrategy: strategy });
    expect(journal.status).toBe(healthy && !deviate ? 'passed' : 'deviated');
    expect(await exists('rolled-back')).toBe(rolled);
  });
});

describe('after', () => {
  it('a step with `after` starts once the named step has finished, even when its own `at` came first', async () => {
    const { journal } = await run(`
version: 1
title: wait for the slow step
method:
  - id: slow
    action: command
    with: { run: [sleep, "0.4"] }
  - id: next
    probe: process.running
    with: { pid: VICTIM }
    after: slow
`);
    expect(journal.status).toBe('passed');
    const slow = journal.activities.find((a) => a.key === 'slow')!;
    const next = journal.activities.find((a) => a.key === 'next')!;
    expect(Date.parse(next.startedAt)).toBeGreaterThanOrEqual(Date.parse(slow.endedAt));
  });
});
