// A Docker fault prepared ahead of its instant, through the engine in process on a fake clock (so the
// container can be removed between the prepare and the instant whatever the machine's load), against
// the test environment's engine: a container removed and made again under its name is chosen again
// and paused; one removed for good fails the fault, with nothing applied and no ledger entry open.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { createDefaultRegistry } from '../src/drivers/builtin.js';
import { runExperiment } from '../src/engine/run.js';
import { loadExperiment } from '../src/experiment/load.js';
import { Ledger, type LedgerRecord } from '../src/safety/ledger.js';
import { uniqueName, useDockerFixture } from './support/docker.js';
import { ManualClock } from './support/manual-clock.js';

const fixture = useDockerFixture();
const registry = await createDefaultRegistry();
const INSTANT_MS = 3_000;
let dir: string;
let appended: MockInstance<Ledger['append']>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-instant-'));
  // Watched, not replaced: the run compacts the ledger file at its end, so its records are kept here.
  appended = vi.spyOn(Ledger.prototype, 'append');
});

afterEach(async () => {
  appended.mockRestore();
  await rm(dir, { recursive: true, force: true });
});

const records = (): LedgerRecord[] => appended.mock.calls.map(([record]) => record);

async function untilIntent(): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (records().some((r) => r.kind === 'intent')) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the ledger never held an intent');
}

function busybox(name: string) {
  return fixture.containers.run({ name, Image: fixture.docker.busyboxImage, Cmd: ['sleep', '600'] });
}

/** Runs a pause of `name` at INSTANT_MS, calling `between` once its intent is written (ahead of the instant). */
async function pauseWith(name: string, between: () => Promise<void>) {
  const file = join(dir, 'experiment.yaml');
  await writeFile(
    file,
    `
version: 1
title: pause prepared ahead
targets:
  docker:
    containers: ["${name}"]
method:
  - name: freeze
    fault: docker.pause
    with: { container: ${name} }
    at: ${INSTANT_MS}ms
    duration: 1s
`,
  );
  const env = { ...process.env, DOCKER_HOST: fixture.docker.dockerHost };
  const loaded = await loadExperiment(file, { cwd: dir, env, registry });
  const clock = new ManualClock();
  const running = runExperiment({ loaded, registry, cwd: dir, env, ledgerDir: join(dir, 'ledger'), clock });
  await clock.drive(untilIntent(), INSTANT_MS - 500);
  await between();
  await clock.drive(running);
  const journal = await running;
  const ledger = new Ledger(join(dir, 'ledger'));
  const open = (await ledger.openEntries()).length;
  await ledger.close();
  return { journal, open };
}

describe('a docker fault prepared ahead of its instant', () => {
  it('pauses the container made again under the same name, not the one removed', async () => {
    const name = uniqueName('faultline-instant');
    const first = await busybox(name);
    let second = first;
    const { journal, open } = await pauseWith(name, async () => {
      await first.remove({ force: true });
      second = await busybox(name);
    });
    expect(journal.status).toBe('passed');
    expect((journal.faults[0]!.output as { ids?: string[] } | undefined)?.ids).toEqual([second.id]);
    const intents = records().filter((r) => r.kind === 'intent');
    expect(intents).toHaveLength(2);
    expect(records().find((r) => r.kind === 'undone' && r.notes?.some((n) => n.startsWith('never applied')))).toBeDefined();
    expect(open).toBe(0);
    expect((await second.inspect()).State.Paused).toBe(false);
  }, 60_000);

  it('fails when the container was removed for good, applying nothing', async () => {
    const name = uniqueName('faultline-instant');
    const container = await busybox(name);
    const { journal, open } = await pauseWith(name, () => container.remove({ force: true }));
    expect(journal.status).toBe('failed');
    expect(journal.faults).toEqual([]);
    const fault = journal.activities.find((a) => a.kind === 'fault');
    expect(fault?.status).toBe('failed');
    expect(records().filter((r) => r.kind === 'applied')).toHaveLength(0);
    expect(open).toBe(0);
  }, 60_000);
});
