// Faults prepared ahead of their instant (method.ts prepareAhead, faults.ts prepareFault/recheckFault),
// on a fake clock that moves only from one scheduled moment to the next, against real processes
// frozen by the process driver: the intent is written before the instant and the fault applied at it;
// a target replaced or gone before the instant is prepared again or fails; a run stopped before the
// instant leaves no ledger entry open and nothing applied.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { processState } from '../../test/support/cli.js';
import { ManualClock } from '../../test/support/manual-clock.js';
import { z } from 'zod';
import { builtinDrivers, createDefaultRegistry } from '../drivers/builtin.js';
import { DriverRegistry } from '../drivers/registry.js';
import type { ActionDefinition, Driver, FaultEffect } from '../drivers/types.js';
import { loadExperiment } from '../experiment/load.js';
import { Ledger, type LedgerRecord } from '../safety/ledger.js';
import { PREPARE_LEAD_MS, RECHECK_LEAD_MS } from './method.js';
import { runExperiment, type RunOptions } from './run.js';

const registry = await createDefaultRegistry();
let dir: string;
const children: ChildProcess[] = [];

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['120'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

let appended: MockInstance<Ledger['append']>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-ahead-'));
  // Watched, not replaced: every append still goes to the file.
  appended = vi.spyOn(Ledger.prototype, 'append');
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  appended.mockRestore();
  await rm(dir, { recursive: true, force: true });
});

/** The fault at 3 s, for 1 s: prepared ahead at 1 s (PREPARE_LEAD_MS before). */
const INSTANT_MS = 3_000;

function experiment(target: string): string {
  return `
version: 1
title: a fault prepared ahead
method:
  - name: freeze
    fault: process.stop
    with: ${target}
    at: ${INSTANT_MS}ms
    duration: 1s
`;
}

async function start(yaml: string, clock: ManualClock, options: Partial<RunOptions> = {}) {
  const file = join(dir, 'experiment.yaml');
  await writeFile(file, yaml);
  const loaded = await loadExperiment(file, { cwd: dir, env: process.env, registry });
  return runExperiment({ loaded, registry, cwd: dir, env: process.env, ledgerDir: join(dir, 'ledger'), clock, ...options });
}

/** Every record the run appended, in order (the run compacts the file once nothing is left to undo). */
async function ledgerRecords(): Promise<LedgerRecord[]> {
  return appended.mock.calls.map(([record]) => record);
}

async function openEntries(): Promise<number> {
  const ledger = new Ledger(join(dir, 'ledger'));
  try {
    return (await ledger.openEntries()).length;
  } finally {
    await ledger.close();
  }
}

/** Waits (bounded, in real time) until the ledger holds `count` intents. */
async function untilIntents(count: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await ledgerRecords()).filter((r) => r.kind === 'intent').length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the ledger never held ${count} intent(s)`);
}

const recordTime = (record: LedgerRecord | undefined) => Date.parse(record!.at);

describe('a fault prepared ahead of its instant', () => {
  it('has its intent written before the instant and is applied at it', async () => {
    const victim = sleeper();
    const clock = new ManualClock();
    const running = start(experiment(`{ pid: ${victim.pid} }`), clock);
    await clock.drive(running);
    const journal = await running;

    expect(journal.status).toBe('passed');
    const fault = journal.faults[0]!;
    expect(fault).toMatchObject({ status: 'undone', scheduledAtMs: INSTANT_MS });
    expect(fault.appliedAtMs).toBeGreaterThanOrEqual(INSTANT_MS);
    const records = await ledgerRecords();
    const intent = records.find((r) => r.kind === 'intent');
    const applied = records.find((r) => r.kind === 'applied');
    // On the fake clock: the intent at the lead before the instant (or later while the prepare ran), never at it.
    expect(recordTime(intent)).toBeGreaterThanOrEqual(clock.dateAt(INSTANT_MS - PREPARE_LEAD_MS).getTime());
    expect(recordTime(intent)).toBeLessThan(clock.dateAt(INSTANT_MS).getTime());
    expect(recordTime(applied)).toBeGreaterThanOrEqual(clock.dateAt(INSTANT_MS).getTime());
    expect(await openEntries()).toBe(0);
    expect(await processState(victim.pid!)).not.toBe('T');
  });

  it('is prepared again at the instant when its target was replaced (a new pid in the pidfile)', async () => {
    const first = sleeper();
    const pidfile = join(dir, 'victim.pid');
    await writeFile(pidfile, String(first.pid));
    const clock = new ManualClock();
    const frozen: (string | undefined)[] = [];
    const running = start(experiment(`{ pidfile: ${pidfile} }`), clock, {
      // While the fault is live, whichever process it froze shows state T.
      onEvent: (event) => {
        if (event.type === 'fault' && event.fault.status === 'applied') frozen.push(String((event.fault.output as { pid?: number } | undefined)?.pid));
      },
    });
    await clock.drive(untilIntents(1), INSTANT_MS - 500);
    // The target restarts between the prepare and the instant.
    first.kill('SIGKILL');
    const second = sleeper();
    await writeFile(pidfile, String(second.pid));
    await clock.drive(running);
    const journal = await running;

    expect(journal.status).toBe('passed');
    expect(frozen).toEqual([String(second.pid)]);
    expect(journal.faults[0]!.targets.join(' ')).toContain(`pid ${second.pid}`);
    const records = await ledgerRecords();
    const intents = records.filter((r) => r.kind === 'intent');
    expect(intents.map((r) => r.targets.join(' '))).toEqual([expect.stringContaining(`pid ${first.pid}`), expect.stringContaining(`pid ${second.pid}`)]);
    // The intent of the first prepare was closed without an apply; the second was applied and undone.
    const closed = records.find((r) => r.kind === 'undone' && r.notes?.some((n) => n.startsWith('never applied')));
    expect(closed).toBeDefined();
    expect(records.filter((r) => r.kind === 'applied')).toHaveLength(1);
    expect(await openEntries()).toBe(0);
  });

  it('fails when its target vanished before the instant, applying nothing', async () => {
    const victim = sleeper();
    const clock = new ManualClock();
    const running = start(experiment(`{ pid: ${victim.pid} }`), clock);
    await clock.drive(untilIntents(1), INSTANT_MS - 500);
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));
    await clock.drive(running);
    const journal = await running;

    expect(journal.status).toBe('failed');
    expect(journal.faults).toEqual([]);
    const activity = journal.activities.find((a) => a.kind === 'fault');
    expect(activity?.status).toBe('failed');
    expect(activity?.error?.message).toMatch(/no running process with pid/);
    const records = await ledgerRecords();
    expect(records.filter((r) => r.kind === 'applied')).toHaveLength(0);
    expect(await openEntries()).toBe(0);
  });

  it('leaves no ledger entry open and nothing applied when the run stops before the instant', async () => {
    const victim = sleeper();
    const clock = new ManualClock();
    const stop = new AbortController();
    const running = start(experiment(`{ pid: ${victim.pid} }`), clock, { signal: stop.signal });
    await clock.drive(untilIntents(1), INSTANT_MS - 500);
    stop.abort(new Error('stopped by the test'));
    const journal = await running;

    expect(journal.faults).toEqual([]);
    const records = await ledgerRecords();
    expect(records.filter((r) => r.kind === 'applied')).toHaveLength(0);
    const closed = records.find((r) => r.kind === 'undone');
    expect(closed).toMatchObject({ notes: ['never applied: the run stopped before its instant'] });
    expect(await openEntries()).toBe(0);
    expect(await processState(victim.pid!)).toBe('S');
  });
});

describe('the reach reading of a fault prepared ahead', () => {
  // A driver that only records when the engine reads its counters and applies, on the fake clock.
  const seen: { what: string; at: number; fault: string }[] = [];
  let clock: ManualClock;
  function recording(name: string, effect: FaultEffect): ActionDefinition {
    return {
      description: name,
      args: z.strictObject({}),
      reversible: true,
      prepare: async () => ({ targets: [name], undo: { driver: 'recorder', op: 'nothing', args: {} } }),
      effect: () => effect,
      readReach: async () => {
        seen.push({ what: 'read', at: clock.now(), fault: name });
        return { counters: { bytes: 1 } };
      },
      apply: async () => {
        seen.push({ what: 'apply', at: clock.now(), fault: name });
        // Real I/O between the call and its answer, as a server's round trip.
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push({ what: 'applied', at: clock.now(), fault: name });
        return {};
      },
    };
  }
  const recorder: Driver = {
    name: 'recorder',
    description: 'records the engine\'s calls',
    actions: { outage: recording('outage', { outage: 'refused' }), slow: recording('slow', { delayMs: 500 }) },
    probes: {},
    undos: { nothing: { args: z.strictObject({}), run: async () => undefined } },
  };

  it('of an outage is taken just before the instant (the traffic right before it); of any other fault once it is applied', async () => {
    seen.length = 0;
    clock = new ManualClock();
    const registry = new DriverRegistry([...(await builtinDrivers()), recorder]);
    const file = join(dir, 'experiment.yaml');
    await writeFile(
      file,
      `
version: 1
title: reach readings around the instant
method:
  - { name: outage, fault: recorder.outage, at: ${INSTANT_MS}ms, duration: 1s }
  - { name: slow, fault: recorder.slow, at: ${INSTANT_MS}ms, duration: 1s }
`,
    );
    const loaded = await loadExperiment(file, { cwd: dir, env: process.env, registry });
    const running = runExperiment({ loaded, registry, cwd: dir, env: process.env, ledgerDir: join(dir, 'ledger'), clock });
    await clock.drive(running);
    expect((await running).status).toBe('passed');

    // The first three calls of each fault, by order, not by time: the manual clock moves on every few
    // real ms to the next sleeper (the faults' end), so on a busy machine a read that follows real I/O
    // may be stamped at the end; the reads at the undo come after these.
    const order = (fault: string) => seen.filter((e) => e.fault === fault).map((e) => e.what).slice(0, 3);
    // The outage: read with the recheck, before the instant, and not again at it.
    expect(order('outage')).toEqual(['read', 'apply', 'applied']);
    const outageRead = seen.find((e) => e.fault === 'outage' && e.what === 'read')!;
    expect(outageRead.at).toBeGreaterThanOrEqual(INSTANT_MS - RECHECK_LEAD_MS);
    expect(outageRead.at).toBeLessThan(INSTANT_MS);
    // Any other fault: read only once its apply has returned, never before the instant.
    expect(order('slow')).toEqual(['apply', 'applied', 'read']);
    expect(seen.find((e) => e.fault === 'slow' && e.what === 'read')!.at).toBeGreaterThanOrEqual(INSTANT_MS);
  });
});
