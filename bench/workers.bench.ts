// `workload.replicas` on this machine: total throughput with 1 (in process), 2 and 4 worker processes
// against one local HTTP server, side by side in one run (the order rotates each round; medians of
// the rounds), plus the workers' start-up time; then the check that merged percentiles equal one
// histogram's over the same requests (real latencies, recorded split over recorders and whole).
// Run with `npm run bench:workers` (it builds first: workers run the built entry, as users' do).
// BENCH_SECONDS (default 8), BENCH_ROUNDS (3), BENCH_USERS (16, split among the workers).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { RunningWorkload, WorkloadWindow } from '../src/workload/types.js';

// The compiled workload, as users run it (the workers fork the built entry; from the sources they
// would load through tsx). Loaded by path at run time, so that typechecking a fresh clone, where dist/
// does not exist yet, does not depend on it; the types are the sources'.
const built = <T>(path: string) => import(new URL(`../dist/workload/${path}`, import.meta.url).href) as Promise<T>;
const { Workload } = await built<typeof import('../src/workload/generator.js')>('generator.js');
const { mergeWindows, windowState } = await built<typeof import('../src/workload/merge.js')>('merge.js');
const { MergeableHistogram } = await built<typeof import('../src/workload/mergeable-histogram.js')>('mergeable-histogram.js');
const { summarizeHistogram } = await built<typeof import('../src/workload/recorder.js')>('recorder.js');
const { ReplicatedWorkload } = await built<typeof import('../src/workload/replicated.js')>('replicated.js');

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
/** Seconds left out of the warm figure: a new worker process runs cold (JIT, connections) at first. */
const WARM_FROM = 3;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const users = Number(process.env.BENCH_USERS ?? 16);
const WORKERS = [1, 2, 4] as const;

interface Sample {
  /** Over the whole run, cold start included. */
  rps: number;
  /** Over the whole seconds from WARM_FROM on. */
  warmRps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  startMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runWith(workers: number, url: string): Promise<Sample> {
  const spec = { url, method: 'GET', headers: {}, body: undefined, timeoutMs: 10_000, maxInFlight: users, concurrency: users };
  const started = performance.now();
  let workload: RunningWorkload;
  if (workers === 1) {
    const local = new Workload({ ...spec, isSuccess: (s) => s < 400 });
    local.start();
    workload = local;
  } else {
    workload = await ReplicatedWorkload.start({ workload: { ...spec, success: undefined }, replicas: workers });
  }
  const startMs = performance.now() - started;
  // A fault window midway, as a run has: per-window histograms are recorded (and merged) too.
  await sleep((seconds * 1000) / 3);
  workload.recorder.faultApplied('bench', 'bench window', workload.elapsed());
  await sleep((seconds * 1000) / 3);
  workload.recorder.faultEnded('bench', workload.elapsed());
  await sleep((seconds * 1000) / 3);
  await workload.stop();
  const { workload: record, windows } = workload.result(0);
  const total = windows.find((w) => w.kind === 'total')!;
  const warm = record.seconds.filter((s) => s.t >= WARM_FROM && s.t < seconds - 1);
  const warmRps = warm.reduce((sum, s) => sum + s.requests, 0) / Math.max(warm.length, 1);
  return { rps: total.throughput, warmRps, p50: total.latency?.p50 ?? NaN, p99: total.latency?.p99 ?? NaN, requests: total.requests, errors: total.errors, startMs };
}

/** Records what it is given and keeps the values, to build one histogram over every request afterwards. */
class KeepingHistogram extends MergeableHistogram {
  readonly values: number[] = [];
  override record(micros: number): void {
    super.record(micros);
    this.values.push(micros);
  }
}

/** Real traffic recorded by `parts` recorders (as workers do), merged, against one histogram of the same values. */
async function checkMerge(url: string, parts: number): Promise<{ merged: WorkloadWindow; whole: ReturnType<typeof summarizeHistogram>; values: number }> {
  const spec = { url, method: 'GET', headers: {}, body: undefined, timeoutMs: 10_000, maxInFlight: 4, concurrency: 4, isSuccess: () => true };
  const histograms: KeepingHistogram[] = [];
  const newHistogram = () => {
    const histogram = new KeepingHistogram();
    histograms.push(histogram);
    return histogram;
  };
  const origin = performance.now();
  const workloads = Array.from({ length: parts }, () => new Workload(spec, () => performance.now() - origin, { startedAt: 0, recorder: { newHistogram, logGaps: true } }));
  for (const w of workloads) w.start();
  await sleep(1500);
  for (const w of workloads) await w.stop();
  const closed = workloads.map((w) => w.recorder.close(1500));
  const merged = mergeWindows(closed.map((windows) => windows.map(windowState)), 0).at(-1)!;
  const whole = new MergeableHistogram();
  let values = 0;
  for (const windows of closed) {
    const total = windows.at(-1)!.histogram as KeepingHistogram;
    for (const v of total.values) whole.record(v);
    values += total.values.length;
  }
  return { merged, whole: summarizeHistogram(whole), values };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const server = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    const url = `http://127.0.0.1:${line.toString().trim()}/api/items`;
    console.log(`target ${url} (one server process); closed model, ${users} users split among the workers; ${seconds} s per run, ${rounds} rounds (order rotates); Node ${process.version}, ${(await import('node:os')).availableParallelism()} CPUs`);
    const samples = new Map<number, Sample[]>(WORKERS.map((n) => [n, []]));
    for (let round = 0; round < rounds; round++) {
      const order = WORKERS.map((_, i) => WORKERS[(i + round) % WORKERS.length]!);
      for (const n of order) {
        const sample = await runWith(n, url);
        samples.get(n)!.push(sample);
        console.log(`round ${round + 1} ${String(n).padStart(2)} worker${n > 1 ? 's' : ' '} ${sample.rps.toFixed(0).padStart(7)} req/s (warm ${sample.warmRps.toFixed(0).padStart(6)})  p50 ${sample.p50.toFixed(2)} ms  p99 ${sample.p99.toFixed(2)} ms  (${sample.requests} requests, ${sample.errors} errors, started in ${sample.startMs.toFixed(0)} ms)`);
      }
    }
    console.log('');
    const base = median(samples.get(1)!.map((s) => s.rps));
    const warmBase = median(samples.get(1)!.map((s) => s.warmRps));
    for (const n of WORKERS) {
      const s = samples.get(n)!;
      const rps = median(s.map((x) => x.rps));
      const warm = median(s.map((x) => x.warmRps));
      console.log(
        `median ${n} worker${n > 1 ? 's' : ' '}  ${rps.toFixed(0).padStart(7)} req/s (×${(rps / base).toFixed(2)} of 1)  warm ${warm.toFixed(0).padStart(6)} req/s (×${(warm / warmBase).toFixed(2)})  p50 ${median(s.map((x) => x.p50)).toFixed(2)} ms  p99 ${median(s.map((x) => x.p99)).toFixed(2)} ms  start ${median(s.map((x) => x.startMs)).toFixed(0)} ms`,
      );
    }
    console.log('');
    for (const parts of [2, 4]) {
      const { merged, whole, values } = await checkMerge(url, parts);
      const same = JSON.stringify(merged.latency) === JSON.stringify(whole);
      console.log(`merge check, ${parts} recorders, ${values} real latencies: merged ${JSON.stringify(merged.latency)} vs one histogram ${JSON.stringify(whole)}: ${same ? 'EQUAL' : 'DIFFERENT'}`);
      if (!same) process.exitCode = 1;
    }
  } finally {
    server.kill();
  }
}

await main();
