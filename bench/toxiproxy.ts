// Measures the toxiproxy driver against the test environment's server (numbers, never assertions):
//   1. latency accuracy: for several sizes, the delay a client sees through the proxy minus the
//      baseline, against what was asked;
//   2. time from a fault's scheduled start to its toxic being live, from real `faultline run`s
//      (journal: appliedAtMs - scheduledAtMs; the toxic is live once the server has answered the POST).
// Run: FAULTLINE_TESTENV_STATE=… npx tsx bench/toxiproxy.ts [runs=10] [samples=10]
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToxiproxyConnection } from '../src/drivers/toxiproxy/client.js';
import { targetSettings } from '../src/drivers/toxiproxy/connection.js';
import { toxiproxyDriver } from '../src/drivers/toxiproxy/index.js';
import type { Journal } from '../src/engine/journal.js';
import { loadTestEnv } from '../testenv/index.js';
import { runCli } from '../test/support/cli.js';
import { testDriverContext } from '../test/support/driver-context.js';
import { httpGet, median, startHttpServer } from '../test/support/traffic.js';

const runs = Number(process.argv[2] ?? 10);
const samples = Number(process.argv[3] ?? 10);
const url = loadTestEnv().TOXIPROXY_URL;
if (!url) throw new Error('no TOXIPROXY_URL in the test environment: set FAULTLINE_TESTENV_STATE');
const connection = new ToxiproxyConnection(url);
const name = `faultline-bench-${randomBytes(3).toString('hex')}`;
const backend = await startHttpServer((_req, res) => res.end('ok'));
const proxy = await connection.createProxy({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${backend.port}` });
const port = Number(proxy.listen.split(':').pop());
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

try {
  console.log(`latency accuracy (${samples} requests per size, fresh connection each, server ${url})`);
  console.log('asked_ms  baseline_ms  measured_added_median_ms  error_%  added_min_ms  added_max_ms');
  for (let i = 0; i < 5; i++) await httpGet(port); // warm up: the first requests pay for JIT and connection setup
  for (const asked of [50, 100, 200, 500, 1000, 2000]) {
    const base: number[] = [];
    for (let i = 0; i < samples; i++) base.push((await httpGet(port)).ms);
    const ctx = testDriverContext({ runId: `bench-${asked}`, target: targetSettings.parse({ url }) });
    const latency = toxiproxyDriver.actions.latency;
    const args = latency.args.parse({ proxy: name, latency: asked });
    const prepared = await latency.prepare(args, ctx);
    await latency.apply(args, prepared, ctx);
    const slow: number[] = [];
    for (let i = 0; i < samples; i++) slow.push((await httpGet(port, '/', asked + 5_000)).ms);
    const undo = toxiproxyDriver.undos['remove-toxics'];
    await undo.run(undo.args.parse(prepared.undo!.args), ctx);
    const added = slow.map((ms) => ms - median(base));
    const medianAdded = median(added);
    console.log(
      [asked, median(base).toFixed(1), medianAdded.toFixed(1), (((medianAdded - asked) / asked) * 100).toFixed(1), Math.min(...added).toFixed(1), Math.max(...added).toFixed(1)].join('  '),
    );
  }

  console.log(`\nscheduled start → toxic live, ${runs} runs of \`faultline run\` (latency fault at +500ms)`);
  const dir = await mkdtemp(join(tmpdir(), 'faultline-bench-'));
  const file = join(dir, 'e.yaml');
  await writeFile(
    file,
    ['version: 1', 'title: bench', 'targets:', `  toxiproxy: { url: "${url}" }`, 'method:', '  - fault: toxiproxy.latency', `    with: { proxy: ${name}, latency: 10ms }`, '    at: 500ms', '    duration: 200ms'].join('\n'),
  );
  const delays: number[] = [];
  const wakes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const journalPath = join(dir, `j${i}.json`);
    await runCli(['run', file, '--ledger-dir', join(dir, 'ledger'), '--journal', journalPath]);
    const journal = JSON.parse(await readFile(journalPath, 'utf8')) as Journal;
    const fault = journal.faults[0]!;
    delays.push(fault.appliedAtMs! - fault.scheduledAtMs);
    // How late the timer woke the step, the rest being prepare + ledger fsync + the API calls.
    const activity = journal.activities.find((a) => a.kind === 'fault')!;
    wakes.push(Date.parse(activity.startedAt) - Date.parse(journal.methodStartedAt!) - fault.scheduledAtMs);
  }
  await rm(dir, { recursive: true, force: true });
  console.log(`per run (ms): ${delays.join(', ')}`);
  console.log(`median ${median(delays)} ms, p90 ${percentile(delays, 90)} ms, max ${Math.max(...delays)} ms`);
  console.log(`of which the step woke late by (ms): ${wakes.join(', ')}; median ${median(wakes)}`);
  const left = (await connection.proxy(name))?.toxics.length;
  console.log(`\ntoxics left on the bench proxy: ${left}`);
} finally {
  await connection.deleteProxy(name);
  await backend.close();
}
