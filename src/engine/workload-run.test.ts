// The engine with a workload, against a real HTTP server in a child process that the process driver
// freezes: fault windows, verdicts from them, and an abort condition on the workload's error rate.
import { spawn, type ChildProcess } from 'node:child_process';
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

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-workload-'));
  server = spawn(process.execPath, ['-e', "require('http').createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  port = Number(line.toString().trim());
});

afterEach(async () => {
  server.kill('SIGCONT');
  server.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function run(yaml: string) {
  const file = join(dir, 'experiment.yaml');
  await writeFile(file, yaml.replaceAll('PORT', String(port)).replaceAll('PID', String(server.pid)));
  const loaded = await loadExperiment(file, { cwd: dir, env: process.env, registry });
  return runExperiment({ loaded, registry, cwd: dir, env: process.env, ledgerDir: join(dir, 'ledger') });
}

const freezeFor = (duration: string) => `
method:
  - id: freeze
    name: freeze the server
    fault: process.stop
    with: { pid: PID }
    at: 300ms
    duration: ${duration}
workload:
  url: http://127.0.0.1:PORT/
  rate: 40
  timeout: 1500ms
  before: 1s
  after: 500ms
`;

describe('a run with a workload', () => {
  it('records baseline, fault and recovery windows, and a frozen server with no timeout fails the timeouts verdict', async () => {
    const journal = await run(`
version: 1
title: freeze the server under traffic
${freezeFor('700ms')}
verdicts:
  timeouts: { faults: [freeze], latency: { p99: 300ms } }
  retries: { faults: [freeze], errorRate: 50% }
`);
    expect(journal.windows.map((w) => w.kind)).toEqual(['baseline', 'fault', 'recovery', 'total']);
    const [baseline, fault, recovery] = journal.windows;
    expect(baseline!.errors).toBe(0);
    // Requests due while frozen waited until the thaw: hundreds of ms, counted from when they were due.
    expect(fault!.latency!.max).toBeGreaterThan(500);
    expect(fault!.startMs).toBeGreaterThanOrEqual(300);
    expect(recovery!.requests).toBeGreaterThan(5);
    expect(journal.workload).toMatchObject({ model: 'open', rate: 40 });
    // The traffic started before the method: the baseline came first and held requests.
    expect(baseline!.requests).toBeGreaterThan(0);
    const [timeouts, retries] = journal.verdicts;
    expect(timeouts).toMatchObject({ name: 'timeouts', result: 'fail' });
    expect(retries).toMatchObject({ name: 'retries', result: 'pass' });
    expect(journal.status).toBe('deviated');
    expect(journal.reason).toMatch(/^timeouts did not hold: p99 latency/);
    expect(journal.faults[0]!.status).toBe('undone');
  });

  it('an abort condition on the workload error rate stops the run and undoes the fault', async () => {
    const journal = await run(`
version: 1
title: abort when most requests fail
${freezeFor('20s')}
abort:
  - name: error rate over 50%
    workload: { errorRate: 50%, over: 1s, minRequests: 5 }
    every: 250ms
`.replace('timeout: 1500ms', 'timeout: 1s'));
    expect(journal.status).toBe('aborted');
    expect(journal.abort?.condition).toBe('error rate over 50%');
    expect(journal.faults[0]!.status).toBe('undone');
    // Cut short by the abort (the status says so), not by the fault's 20 s.
  });

  it('a verdict whose fault failed to apply is not exercised, and the run does not pass', async () => {
    const journal = await run(`
version: 1
title: a fault that cannot apply
method:
  - id: freeze
    fault: process.stop
    with: { pid: 2147483 }
    at: 100ms
    duration: 300ms
workload: { url: "http://127.0.0.1:PORT/", rate: 20, before: 200ms, after: 200ms }
verdicts:
  timeouts: { faults: [freeze], latency: { p99: 1s } }
`);
    expect(journal.verdicts[0]).toMatchObject({ result: 'not-exercised' });
    expect(journal.status).not.toBe('passed');
  });
});
