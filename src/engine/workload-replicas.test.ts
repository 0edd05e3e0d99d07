// The engine with a workload split over worker processes (`workload.replicas`), against a real HTTP
// server in a child process that counts what it answers and that the process driver freezes: every
// request the server counted is in the merged journal, the verdicts judge the merged windows, and a
// worker that dies fails the run (its traffic is not silently missing) with the fault undone.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../drivers/builtin.js';
import { loadExperiment } from '../experiment/load.js';
import { runExperiment } from './run.js';

let dir: string;
let server: ChildProcess;
let port: number;
const registry = await createDefaultRegistry();

const COUNTING_SERVER = `
let served = 0;
require('http').createServer((q, r) => {
  if (q.url === '/count') return r.end(String(served));
  served += 1;
  r.end('ok');
}).listen(0, '127.0.0.1', function () { console.log(this.address().port) });
`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-replicas-'));
  server = spawn(process.execPath, ['-e', COUNTING_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  port = Number(line.toString().trim());
});

afterEach(async () => {
  server.kill('SIGCONT');
  server.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function run(yaml: string, signal?: AbortSignal) {
  const file = join(dir, 'experiment.yaml');
  await writeFile(file, yaml.replaceAll('PORT', String(port)).replaceAll('PID', String(server.pid)));
  const loaded = await loadExperiment(file, { cwd: dir, env: process.env, registry });
  return runExperiment({ loaded, registry, cwd: dir, env: process.env, ledgerDir: join(dir, 'ledger'), ...(signal ? { signal } : {}) });
}

const served = async () => Number(await (await fetch(`http://127.0.0.1:${port}/count`)).text());

/** This test process's workload workers, by pid (forked from it, running the worker entry). */
function workerPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => /workload\/worker\.(ts|js)/.test(line))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** This run's `count` workers once they are up; bounded (about 5 s, polled every 10 ms), else the test fails on it. */
async function workersUp(count: number): Promise<number[]> {
  let pids: number[] = [];
  for (let i = 0; i < 500 && pids.length < count; i += 1) {
    await sleep(10);
    pids = workerPids();
  }
  expect(pids).toHaveLength(count);
  return pids;
}

/** Once the server has answered `count` requests: the traffic flows (bounded: 30 s). */
async function trafficServed(count: number): Promise<void> {
  for (let i = 0; i < 300 && (await served()) < count; i += 1) await sleep(100);
}

const freezeUnderTraffic = (duration: string, replicas: number) => `
version: 1
title: freeze the server under traffic from ${replicas} workers
method:
  - id: freeze
    name: freeze the server
    fault: process.stop
    with: { pid: PID }
    at: 300ms
    duration: ${duration}
workload:
  url: http://127.0.0.1:PORT/
  rate: 60
  replicas: ${replicas}
  timeout: 5s
  before: 1s
  after: 700ms
verdicts:
  timeouts: { faults: [freeze], latency: { p99: 300ms } }
  retries: { faults: [freeze], errorRate: 50% }
`;

describe('a run whose workload has replicas', () => {
  it('records every request the server answered, from 3 workers merged, and judges the verdicts on the merged windows', async () => {
    const journal = await run(freezeUnderTraffic('700ms', 3));
    const total = journal.windows.find((w) => w.kind === 'total')!;
    // Nothing timed out or was dropped, so every request sent is one the server counted, and back.
    // (One object, so that a failure shows every figure at once.)
    expect({ outcomes: total.outcomes, requests: total.requests, verdicts: journal.verdicts.map((v) => `${v.name}: ${v.result} (${v.evidence.summary})`) }).toMatchObject({
      outcomes: { timeout: 0, 'connection-error': 0, dropped: 0, '5xx': 0 },
      requests: await served(),
    });
    expect(journal.workload!.seconds.reduce((sum, s) => sum + s.requests, 0)).toBe(total.requests);
    const workers = journal.workload!.workers!;
    expect(workers.map((w) => w.rate)).toEqual([20, 20, 20]);
    expect(workers.reduce((sum, w) => sum + w.requests, 0)).toBe(total.requests);
    for (const w of workers) {
      expect(w.requests).toBeGreaterThan(0);
      expect(Number.isFinite(w.clockSkewMs) && Number.isFinite(w.clockRttMs)).toBe(true);
    }
    expect(journal.windows.map((w) => w.kind)).toEqual(['baseline', 'fault', 'recovery', 'total']);
    const [baseline, fault] = journal.windows;
    expect(baseline!.errors).toBe(0);
    // Requests due while frozen waited for the thaw, timed from when they were due: the merged p99 shows it.
    expect(fault!.latency!.max).toBeGreaterThan(500);
    const [timeouts, retries] = journal.verdicts;
    expect(timeouts).toMatchObject({ name: 'timeouts', result: 'fail' });
    expect(retries).toMatchObject({ name: 'retries', result: 'pass' });
    expect(journal.status).toBe('deviated');
    expect(journal.faults[0]!.status).toBe('undone');
  });

  it('a worker that dies fails the run, names the worker, and the fault is still undone', async () => {
    const running = run(freezeUnderTraffic('3s', 2));
    const pids = await workersUp(2);
    // Killed while the server is frozen (1.3 s into the traffic, for 3 s), not while the workers are still loading.
    await trafficServed(60);
    await sleep(800);
    process.kill(pids[1]!, 'SIGKILL');
    const journal = await running;
    expect(journal.status).toBe('failed');
    expect(journal.error).toMatchObject({ code: 'E_WORKLOAD' });
    expect(journal.error!.message).toMatch(/workload worker 2 of 2 .* its share of the traffic \(30 req\/s\) is missing/);
    expect(journal.workload!.workers![1]).toMatchObject({ requests: 0, lost: expect.stringMatching(/SIGKILL/) });
    expect(journal.faults).toMatchObject([{ key: 'freeze', status: 'undone' }]);
  });

  it('an interrupt (Ctrl-C) stops the workers, undoes the fault and leaves no worker process behind', async () => {
    const interrupt = new AbortController();
    const running = run(freezeUnderTraffic('20s', 2), interrupt.signal);
    await workersUp(2);
    await trafficServed(60);
    await sleep(800);
    interrupt.abort();
    const journal = await running;
    expect(journal.status).toBe('interrupted');
    expect(journal.faults).toMatchObject([{ key: 'freeze', status: 'undone' }]);
    expect(journal.workload!.workers!.every((w) => w.lost === undefined)).toBe(true);
    expect(workerPids()).toEqual([]);
  });

  it('an interrupt while the workers are still loading ends them and the run at once', async () => {
    const interrupt = new AbortController();
    const running = run(freezeUnderTraffic('700ms', 2), interrupt.signal);
    await workersUp(2);
    interrupt.abort();
    const journal = await running;
    expect(journal.status).toBe('interrupted');
    expect(journal.error).toBeUndefined();
    expect(await served()).toBe(0);
    expect(workerPids()).toEqual([]);
  });

  it('an abort condition on the workload error rate reads the merged seconds and stops the run', async () => {
    const journal = await run(
      // A 1 s timeout: new workers start cold, and a busy machine's baseline must not trip it before the fault.
      `${freezeUnderTraffic('20s', 2).replace('timeout: 5s', 'timeout: 1s').replace(/verdicts:[\s\S]*$/, '')}
abort:
  - name: error rate over 50%
    workload: { errorRate: 50%, over: 1s, minRequests: 5 }
    every: 250ms
`,
    );
    expect(journal.status).toBe('aborted');
    expect(journal.abort?.condition).toBe('error rate over 50%');
    expect(journal.faults).toMatchObject([{ key: 'freeze', status: 'undone' }]);
    // Cut short: the abort, not the fault's 20 s, ended it (the status says so; how long it took is no test's business).
  });

  it('a worker that stops reporting (its process stopped) is lost and fails the run, and the fault is still undone', async () => {
    const running = run(freezeUnderTraffic('20s', 2));
    const pids = await workersUp(2);
    await trafficServed(60);
    process.kill(pids[0]!, 'SIGSTOP');
    const journal = await running;
    expect(journal.status).toBe('failed');
    expect(journal.error!.message).toMatch(/workload worker 1 of 2 .* stopped reporting/);
    expect(journal.workload!.workers![0]).toMatchObject({ requests: 0, lost: expect.stringMatching(/stopped reporting/) });
    expect(journal.faults).toMatchObject([{ key: 'freeze', status: 'undone' }]);
    expect(workerPids()).toEqual([]);
  });
});
