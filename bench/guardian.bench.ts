// The dead-man switch, measured: for each driver, a run applies its faults, is killed with SIGKILL,
// and the time from the kill to every fault undone on the real server (no command typed) is taken by
// polling the server every 10 ms. Prints each trial and the median per driver.
//
//   FAULTLINE_TESTENV_STATE=/work/main/.testenv npx tsx bench/guardian.bench.ts   (GUARDIAN_TRIALS=5)
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableServers, createScenario, median, pollUntil, startRun, type DriverName } from './interruption/scenarios.js';

const trials = Number(process.env.GUARDIAN_TRIALS ?? 5);
/** In the engineer's fixed port range. */
const PORT = 21310;

async function trial(driver: DriverName, servers: Awaited<ReturnType<typeof availableServers>>['servers']): Promise<number | string> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-guardian-bench-'));
  // Held long (docker: the pause from 5 s to 10 s): the kill comes once every fault is on.
  const scenario = await createScenario(driver, { dir, holdMs: driver === 'docker' ? 15_000 : 60_000, withSteps: false, port: PORT }, servers);
  const ledgerDir = join(dir, 'ledger');
  const env = servers.dockerHost ? { DOCKER_HOST: servers.dockerHost } : {};
  const run = startRun(['run', scenario.file, '--ledger-dir', ledgerDir], env, dir);
  try {
    const faults = driver === 'docker' ? 3 : 2;
    const ready = await pollUntil(async () => {
      const ledger = await readFile(join(ledgerDir, 'ledger.jsonl'), 'utf8').catch(() => '');
      const log = await readFile(join(ledgerDir, `guardian-${/"runId":"([^"]+)"/.exec(ledger)?.[1]}.log`), 'utf8').catch(() => '');
      return ledger.split('"kind":"applied"').length - 1 >= faults + (driver === 'toxiproxy' ? 1 : 0) && log.includes('ready');
    }, 90_000, 50);
    if (!ready) return `not ready: ${run.output().slice(-300)}`;
    if ((await scenario.leftovers()).length === 0) return 'faults not visible on the server';
    run.child.kill('SIGKILL');
    const killed = performance.now();
    const clean = await pollUntil(async () => (await scenario.leftovers()).length === 0, 30_000, 10);
    const ms = performance.now() - killed;
    return clean ? ms : `still applied after 30 s: ${(await scenario.leftovers()).join(', ')}`;
  } finally {
    run.child.kill('SIGKILL');
    await scenario.dispose();
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

const { servers, drivers } = await availableServers();
console.log(`kill -9 → every fault undone by the guardian; ${trials} trial(s) per driver; drivers up: ${drivers.join(', ')}`);
for (const driver of drivers) {
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const result = await trial(driver, servers);
    if (typeof result === 'number') times.push(result);
    console.log(`  ${driver.padEnd(10)} trial ${i + 1}: ${typeof result === 'number' ? `${result.toFixed(0)} ms` : result}`);
  }
  if (times.length > 0) console.log(`${driver.padEnd(10)} median ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}, n=${times.length})`);
}
