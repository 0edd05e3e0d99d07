// The engine's reads of a fault's counters (baseline, applied, undone) and the driver's judgement of
// them, with a tiny in-test driver whose counter is the number of requests a real local HTTP server
// answered: what is tested is the engine's bookkeeping, not a driver.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinDrivers } from '../drivers/builtin.js';
import { DriverRegistry } from '../drivers/registry.js';
import type { Driver, ReachReadings } from '../drivers/types.js';
import { loadExperiment } from '../experiment/load.js';
import { REACH_READ_DEADLINE_MS } from './reach-readings.js';
import { runExperiment } from './run.js';

let dir: string;
let server: Server;
let served = 0;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-reach-'));
  served = 0;
  server = createServer((_, res) => {
    served += 1;
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterEach(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

type Behaviour = 'count' | 'throw' | 'hang' | 'judge-throws' | 'moving-target';

/** A fault that does nothing but declares a 5 s delay, and counts the requests the server answered. */
function counterDriver(behaviour: Behaviour, judged: ReachReadings[]): Driver {
  let prepared = 0;
  return {
    name: 'counter',
    description: 'test driver',
    actions: {
      mark: {
        description: 'marks nothing',
        args: z.object({}),
        reversible: true,
        prepare: async () => ({ targets: [behaviour === 'moving-target' ? `server ${++prepared}` : 'server'], undo: { driver: 'counter', op: 'unmark', args: {} } }),
        apply: async () => ({}),
        effect: () => ({ delayMs: 5000 }),
        readReach: async (_args, _prepared, ctx) => {
          if (behaviour === 'throw') throw new Error('metrics are off');
          if (behaviour === 'hang') await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
          return { counters: { served } };
        },
        judgeReach: (_args, readings) => {
          judged.push(readings);
          if (behaviour === 'judge-throws') throw new Error('bad counters');
          const during = (readings.undone?.counters.served ?? 0) - (readings.applied.counters.served ?? 0);
          return { source: 'driver', reached: readings.applied.unavailable ? null : during > 0, summary: `${during} requests while live` };
        },
      },
    },
    probes: {},
    undos: { unmark: { args: z.object({}), run: async () => undefined } },
  };
}

async function run(behaviour: Behaviour, { workload = true } = {}) {
  const judged: ReachReadings[] = [];
  const registry = new DriverRegistry([...(await builtinDrivers()), counterDriver(behaviour, judged)]);
  const port = (server.address() as AddressInfo).port;
  const file = join(dir, 'experiment.yaml');
  await writeFile(
    file,
    `
version: 1
title: reach readings
method:
  - id: mark
    fault: counter.mark
    at: 200ms
    duration: 1s
${workload ? `workload: { url: "http://127.0.0.1:${port}/", rate: 40, before: ${REACH_READ_DEADLINE_MS + 1000}ms, after: 200ms }\nverdicts:\n  timeouts: { faults: [mark], latency: { p99: 1s } }` : ''}
`,
  );
  const loaded = await loadExperiment(file, { cwd: dir, env: process.env, registry });
  const journal = await runExperiment({ loaded, registry, cwd: dir, env: process.env, ledgerDir: join(dir, 'ledger') });
  return { journal, judged };
}

describe('reach readings', () => {
  it('reads the counters when the baseline starts, before apply and before undo; the driver judges them into the fault record', async () => {
    const { journal, judged } = await run('count');
    expect(judged).toHaveLength(1);
    const { baseline, applied, undone } = judged[0]!;
    expect(baseline!.counters.served).toBeLessThanOrEqual(applied.counters.served!);
    // The baseline's second of traffic lies between the first and second reads; the fault's second between the last two.
    expect(applied.counters.served! - baseline!.counters.served!).toBeGreaterThan(10);
    expect(undone!.counters.served! - applied.counters.served!).toBeGreaterThan(10);
    const [fault] = journal.faults;
    expect(fault).toMatchObject({ status: 'undone', effect: { delayMs: 5000 }, reach: { source: 'driver', reached: true } });
    // A quiet traffic, but the driver saw the requests cross and the 5 s delay could break the 1 s bound: pass.
    expect(journal.verdicts[0]).toMatchObject({ name: 'timeouts', result: 'pass' });
    expect(journal.verdicts[0]!.evidence.reach).toContainEqual({ fault: 'mark', source: 'driver', reached: true, summary: expect.stringMatching(/requests while live/) });
    expect(journal.status).toBe('passed');
  });

  // The workload's baseline outlasts the read deadline, so even a hanging baseline read has timed out
  // (and is recorded) before the fault is applied.
  it('a read that fails or hangs is recorded as unavailable and never fails the run', async () => {
    for (const behaviour of ['throw', 'hang'] as const) {
      const { journal, judged } = await run(behaviour);
      expect(judged[0]!.applied.unavailable).toMatch(behaviour === 'throw' ? /metrics are off/ : /timed out/);
      expect(judged[0]!.undone!.unavailable).toBeDefined();
      expect(judged[0]!.baseline!.unavailable).toBeDefined();
      expect(journal.faults[0]).toMatchObject({ status: 'undone', reach: { reached: null } });
      // Nothing says the fault met a request: the verdict cannot pass.
      expect(journal.verdicts[0]!.result).toBe('not-exercised');
      expect(journal.status).toBe('deviated');
    }
  });

  it('a judge that throws says it cannot tell', async () => {
    const { journal } = await run('judge-throws');
    expect(journal.faults[0]!.reach).toEqual({ source: 'driver', reached: null, summary: 'the driver could not judge its counters: bad counters' });
  });

  it('no baseline read when the targets changed since the workload started, or without a workload', async () => {
    expect((await run('moving-target')).judged[0]!.baseline).toBeUndefined();
    const { judged, journal } = await run('count', { workload: false });
    expect(judged[0]!.baseline).toBeUndefined();
    expect(judged[0]!.undone).toBeDefined();
    expect(journal.faults[0]!.effect).toEqual({ delayMs: 5000 });
  });
});
