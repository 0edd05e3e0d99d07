// How long after its scheduled instant a fault is in effect, per driver, against one round trip to the
// same server (numbers, never assertions). For each driver, medians of N samples of:
//   rtt         one round trip: Toxiproxy GET /version, Docker ping, Kubernetes GET /api
//   today       what the engine does at the instant today: prepare (resolve targets: reads), write the
//               ledger intent (flushed), apply
//   prepared    targets resolved ahead of the instant: at the instant the ledger intent and apply
//   + intent    targets resolved and the intent written ahead: at the instant only apply
//   (intent)    the ledger intent alone: one append flushed to disk
//   + in effect as `+ intent`, to the time the driver saw the effect (Docker's pause event) rather
//               than to the end of apply
//   engine      through the engine: a run (runExperiment) whose one fault is scheduled 2.1 s into
//               the method, so it is prepared ahead (2 s before) and rechecked (200 ms before) as a run
//               does it; from the scheduled instant on the run's clock to the driver's apply returning
//   (late)      of which: from the scheduled instant to the driver's apply starting (timer and
//               scheduler lateness, and what the engine still does at the instant)
//   rtt idle    one round trip as the engine's apply meets the server: sent from a timer after
//               200 ms idle (the recheck's lead), once after each engine run; on a loaded machine a
//               process woken from idle waits for a core, so this is the fair peer of `engine`
// A fault is in effect when apply returns: the toxic is on the proxy, the container paused, the pod's
// delete accepted (its containers get their grace period, as the experiment asked).
//
//   FAULTLINE_TESTENV_STATE=/work/main/.testenv npx tsx bench/live-at-instant.ts [N=15] [engine runs=7]
//   (BENCH_DRIVERS=toxiproxy,docker,kubernetes picks drivers)
//
// Everything it makes carries the test label or a random name, and is removed at the end.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinDrivers } from '../src/drivers/builtin.js';
import { DriverSessions } from '../src/drivers/context.js';
import { DriverRegistry } from '../src/drivers/registry.js';
import { runExperiment, type RunEvent } from '../src/engine/run.js';
import { loadExperiment } from '../src/experiment/load.js';
import { dockerDriver } from '../src/drivers/docker/index.js';
import { connect as connectKubernetes } from '../src/drivers/kubernetes/connection.js';
import { kubernetesDriver } from '../src/drivers/kubernetes/index.js';
import { ToxiproxyConnection } from '../src/drivers/toxiproxy/client.js';
import { targetSettings as toxiproxyTarget } from '../src/drivers/toxiproxy/connection.js';
import { toxiproxyDriver } from '../src/drivers/toxiproxy/index.js';
import type { ActionDefinition, Driver, DriverContext, Output, PreparedAction, UndoSpec } from '../src/drivers/types.js';
import { Ledger } from '../src/safety/ledger.js';
import { loadTestEnv } from '../testenv/index.js';
import { TestContainers, uniqueName } from '../test/support/docker.js';
import { testDriverContext } from '../test/support/driver-context.js';
import { createDeployment, createNamespace, deleteNamespace, kubeClients, testTarget, waitForReadyPods } from '../test/support/kubernetes.js';
import { requireDocker, requireKubernetes } from '../test/support/testenv.js';
import { startHttpServer } from '../test/support/traffic.js';

const samples = Number(process.argv[2] ?? 15);
const engineRuns = Number(process.argv[3] ?? 7);
/** Where the fault sits in the method: past PREPARE_LEAD_MS, so the run prepares it ahead. */
const ENGINE_INSTANT_MS = 2_100;
const ledgerDir = await mkdtemp(join(tmpdir(), 'faultline-bench-ledger-'));
const ledger = new Ledger(ledgerDir);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const now = () => performance.now();

interface Scenario {
  driver: Driver;
  action: string;
  args: Record<string, unknown>;
  ctx: () => DriverContext;
  roundTrip: () => Promise<unknown>;
  /** Puts the system back between samples (the undo, or waiting for a replacement pod). */
  reset: (undo: UndoSpec | null, ctx: DriverContext) => Promise<void>;
  /** The experiment's `targets` and environment for the runs through the engine; the fault's duration (its undo ends each run). */
  engine?: { targets: Record<string, unknown>; env?: Record<string, string>; duration?: string };
}

/** The engine's work at the instant: the ledger intent (flushed), then apply; the fault is in effect when apply returns. */
async function atInstant(action: ActionDefinition, args: unknown, prepared: PreparedAction, ctx: DriverContext, key: string): Promise<Output> {
  await ledger.append({ kind: 'intent', id: key, runId: 'bench', experiment: 'bench', step: key, action: 'bench', targets: prepared.targets, undo: prepared.undo, at: new Date().toISOString() });
  return action.apply(args, prepared, ctx);
}

/** When the driver saw the fault take effect (Docker's pause event), in epoch ms. */
function effectAt(output: Output): number | undefined {
  const value = output.pausedAtMs;
  return typeof value === 'number' ? value : undefined;
}

async function measure(label: string, scenario: Scenario): Promise<void> {
  const action = scenario.driver.actions[scenario.action]!;
  const args = action.args.parse(scenario.args);
  const rtt: number[] = [];
  const today: number[] = [];
  const ahead: number[] = [];
  const applyOnly: number[] = [];
  const effect: number[] = [];
  const intent: number[] = [];
  for (let i = 0; i < 3; i++) await scenario.roundTrip(); // warm: connections, JIT
  for (let i = 0; i < samples; i++) {
    let started = now();
    await scenario.roundTrip();
    rtt.push(now() - started);

    let ctx = scenario.ctx();
    started = now();
    let prepared = await action.prepare(args, ctx);
    await atInstant(action, args, prepared, ctx, `${label}-today-${i}`);
    today.push(now() - started);
    await scenario.reset(prepared.undo, ctx);

    ctx = scenario.ctx();
    prepared = await action.prepare(args, ctx);
    started = now();
    await atInstant(action, args, prepared, ctx, `${label}-ahead-${i}`);
    ahead.push(now() - started);
    await scenario.reset(prepared.undo, ctx);

    // The parts: the ledger intent alone (a flushed append), and apply alone.
    started = now();
    await ledger.append({ kind: 'intent', id: `${label}-intent-${i}`, runId: 'bench', experiment: 'bench', step: 'x', action: 'bench', targets: [], undo: null, at: new Date().toISOString() });
    intent.push(now() - started);
    ctx = scenario.ctx();
    prepared = await action.prepare(args, ctx);
    started = now();
    const wall = Date.now();
    const output = await action.apply(args, prepared, ctx);
    applyOnly.push(now() - started);
    const at = effectAt(output);
    if (at !== undefined) effect.push(at - wall);
    await scenario.reset(prepared.undo, ctx);
  }
  const r = median(rtt);
  const line = (name: string, values: number[]) => `${name.padEnd(12)} ${median(values).toFixed(1).padStart(8)} ms  ${(median(values) / r).toFixed(1).padStart(5)} round trips`;
  console.log(`(${new Date().toISOString()}, load ${loadavg()[0]!.toFixed(1)})`);
  console.log(`\n${label}: ${scenario.driver.name}.${scenario.action}, median of ${samples}`);
  console.log(line('rtt', rtt));
  console.log(line('today', today));
  console.log(line('prepared', ahead));
  console.log(line('+ intent', applyOnly));
  console.log(line('(intent)', intent));
  if (effect.length > 0) console.log(line('+ in effect', effect) + ' (by the driver\'s own timestamp, ms resolution)');
  if (scenario.engine && engineRuns > 0) {
    const { inEffect, late, idleRtt } = await measureEngine(scenario, ctxFor(scenario));
    console.log(line('engine', inEffect) + `  (${engineRuns} runs)`);
    console.log(line('(late)', late));
    const idle = median(idleRtt);
    console.log(line('rtt idle', idleRtt) + `  engine = ${(median(inEffect) / idle).toFixed(1)} of these`);
  }
}

function ctxFor(scenario: Scenario): DriverContext {
  return scenario.ctx();
}

/**
 * Runs the fault through the engine `engineRuns` times, each a run of its own with the fault at
 * ENGINE_INSTANT_MS: from the instant (the method's zero, when the engine announces the method, plus
 * the offset) to the driver's apply starting and returning, taken by wrapping the real driver's apply.
 */
async function measureEngine(scenario: Scenario, resetCtx: DriverContext): Promise<{ inEffect: number[]; late: number[]; idleRtt: number[] }> {
  const engine = scenario.engine!;
  const action = scenario.driver.actions[scenario.action]!;
  let applyStarted = 0;
  let applyEnded = 0;
  const measured: ActionDefinition = {
    ...action,
    async apply(args, prepared, ctx) {
      applyStarted = now();
      try {
        return await action.apply(args, prepared, ctx);
      } finally {
        applyEnded = now();
      }
    },
  };
  const driver = { ...scenario.driver, actions: { ...scenario.driver.actions, [scenario.action]: measured } };
  const registry = new DriverRegistry((await builtinDrivers()).map((d) => (d.name === driver.name ? driver : d)));
  const dir = await mkdtemp(join(tmpdir(), 'faultline-bench-engine-'));
  const inEffect: number[] = [];
  const late: number[] = [];
  const idleRtt: number[] = [];
  try {
    const file = join(dir, 'experiment.yaml');
    const experiment = {
      version: 1,
      title: `${scenario.driver.name}.${scenario.action} at its instant`,
      targets: engine.targets,
      method: [{ name: 'the fault', fault: `${scenario.driver.name}.${scenario.action}`, with: scenario.args, at: `${ENGINE_INSTANT_MS}ms`, ...(engine.duration ? { duration: engine.duration } : {}) }],
    };
    await writeFile(file, JSON.stringify(experiment));
    const env = { ...process.env, ...engine.env };
    for (let i = 0; i < engineRuns; i++) {
      const loaded = await loadExperiment(file, { cwd: dir, env, registry });
      let methodZero = 0;
      const onEvent = (event: RunEvent) => {
        // Announced in the same tick as the method's zero is read from the clock (method.ts).
        if (event.type === 'phase' && event.phase === 'method') methodZero = now();
      };
      applyStarted = applyEnded = 0;
      const journal = await runExperiment({ loaded, registry, cwd: dir, env, ledgerDir: join(dir, 'ledger'), onEvent });
      if (journal.faults[0]?.status === 'apply-failed' || !applyEnded) throw new Error(`the engine run did not apply the fault: ${journal.status} ${JSON.stringify(journal.faults[0]?.error ?? journal.error)}`);
      const instant = methodZero + ENGINE_INSTANT_MS;
      inEffect.push(applyEnded - instant);
      late.push(applyStarted - instant);
      await scenario.reset(null, resetCtx);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sent = now();
      await scenario.roundTrip();
      idleRtt.push(now() - sent);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { inEffect, late, idleRtt };
}

async function runUndo(driver: Driver, undo: UndoSpec | null, ctx: DriverContext): Promise<void> {
  if (!undo) return;
  const definition = driver.undos[undo.op]!;
  await definition.run(definition.args.parse(undo.args), ctx);
}

const which = new Set((process.env.BENCH_DRIVERS ?? 'toxiproxy,docker,kubernetes').split(','));
try {
  const env = loadTestEnv();
  if (which.has('toxiproxy') && env.TOXIPROXY_URL) {
    const url = env.TOXIPROXY_URL;
    const connection = new ToxiproxyConnection(url);
    const backend = await startHttpServer((_req, res) => res.end('ok'));
    const name = `faultline-bench-${randomBytes(3).toString('hex')}`;
    await connection.createProxy({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${backend.port}` });
    const sessions = new DriverSessions();
    try {
      await measure('Toxiproxy', {
        driver: toxiproxyDriver,
        action: 'latency',
        args: { proxy: name, latency: '100ms' },
        ctx: () => testDriverContext({ runId: `bench-${randomBytes(2).toString('hex')}`, target: toxiproxyTarget.parse({ url }) }, toxiproxyDriver, sessions),
        roundTrip: () => fetch(`${url}/version`).then((r) => r.text()),
        reset: (undo, ctx) => runUndo(toxiproxyDriver, undo, ctx),
        engine: { targets: { toxiproxy: { url } }, duration: '200ms' },
      });
    } finally {
      await connection.deleteProxy(name);
      await backend.close();
    }
  } else if (which.has('toxiproxy')) console.log('Toxiproxy: not in the test environment');

  if (which.has('docker')) {
    const docker = await requireDocker().catch((error: Error) => {
      console.log(`Docker: ${error.message}`);
      return undefined;
    });
    if (docker) {
      const containers = new TestContainers(docker.client);
      const name = uniqueName('faultline-bench-pause');
      const sessions = new DriverSessions();
      try {
        await containers.run({ name, Image: docker.busyboxImage, Cmd: ['sleep', '600'] });
        await measure('Docker', {
          driver: dockerDriver,
          action: 'pause',
          args: { container: name },
          ctx: () => testDriverContext({ env: { DOCKER_HOST: docker.dockerHost } }, dockerDriver, sessions),
          roundTrip: () => docker.client.ping(),
          reset: (undo, ctx) => runUndo(dockerDriver, undo, ctx),
          engine: { targets: { docker: { containers: [name] } }, env: { DOCKER_HOST: docker.dockerHost }, duration: '200ms' },
        });
      } finally {
        await containers.cleanUp();
      }
    }
  }

  if (which.has('kubernetes')) {
    const cluster = await requireKubernetes().catch((error: Error) => {
      console.log(`Kubernetes: ${error.message}`);
      return undefined;
    });
    if (cluster) {
      const namespace = await createNamespace(cluster, 'faultline-bench-instant');
      try {
        await createDeployment(cluster, namespace, 'web', 2);
        await waitForReadyPods(cluster, namespace, 'app=web', 2, 120_000);
        const ctx = () => testDriverContext({ target: testTarget(cluster, namespace), seed: Math.floor(Math.random() * 1e6) }, kubernetesDriver);
        const api = await connectKubernetes(ctx(), [namespace]);
        await measure('Kubernetes', {
          driver: kubernetesDriver,
          action: 'pod-kill',
          // Grace 0: the delete is the fault; the controller's replacement is waited for between samples.
          args: { namespace, labelSelector: 'app=web', mode: 'one', gracePeriod: '0s' },
          ctx,
          roundTrip: () => api.coreApi.getAPIVersions(),
          reset: async () => {
            await waitForReadyPods(cluster, namespace, 'app=web', 2, 120_000);
            // Wait for the killed pod to be gone from the list, so the next selection sees two.
            for (let i = 0; i < 100; i++) {
              const list = await kubeClients(cluster).core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
              if (list.items.length === 2) break;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          },
          engine: { targets: { kubernetes: testTarget(cluster, namespace) } },
        });
      } finally {
        await deleteNamespace(cluster, namespace);
      }
    }
  }
} finally {
  await rm(ledgerDir, { recursive: true, force: true });
}
