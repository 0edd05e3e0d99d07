// faultline's workload against autocannon, side by side in one run: same loopback target, same
// number of connections, same duration, alternating rounds. Prints throughput and p50/p99 for each,
// the medians over the rounds, and the ratios. Run with `npm run bench` (BENCH_SECONDS, BENCH_ROUNDS,
// BENCH_CONNECTIONS to change the defaults).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Workload } from '../src/workload/generator.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

interface Sample {
  /** Heap in use right after the run, MiB: flat across rounds when nothing is kept per request. */
  heapMiB?: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

async function runAutocannon(url: string): Promise<Sample> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return {
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function runFaultline(url: string): Promise<Sample> {
  const workload = new Workload({ url, method: 'GET', headers: {}, body: undefined, timeoutMs: 10_000, maxInFlight: connections, concurrency: connections, isSuccess: (s) => s < 400 });
  // Windows as a run has them: a fault window opened and closed midway, so per-window histograms are recorded too.
  workload.start();
  await new Promise((r) => setTimeout(r, (seconds * 1000) / 3));
  workload.recorder.faultApplied('bench', 'bench window', workload.elapsed());
  await new Promise((r) => setTimeout(r, (seconds * 1000) / 3));
  workload.recorder.faultEnded('bench', workload.elapsed());
  await new Promise((r) => setTimeout(r, (seconds * 1000) / 3));
  await workload.stop();
  const total = workload.result(0).windows.find((w) => w.kind === 'total')!;
  const completed = total.requests - total.outcomes.dropped;
  return {
    rps: completed / seconds,
    p50: total.latency?.p50 ?? NaN,
    p99: total.latency?.p99 ?? NaN,
    requests: total.requests,
    errors: total.errors,
    heapMiB: process.memoryUsage().heapUsed / 2 ** 20,
  };
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
    console.log(`target ${url}; ${connections} connections, ${seconds} s per run, ${rounds} rounds (alternating), Node ${process.version}`);
    // A short warm-up of both, so neither pays for JIT and connection set-up in its first round.
    await autocannon({ url, connections, duration: 1 });
    await new Workload({ url, method: 'GET', headers: {}, body: undefined, timeoutMs: 10_000, maxInFlight: connections, concurrency: connections, isSuccess: () => true }).stop();
    const samples: Record<'autocannon' | 'faultline', Sample[]> = { autocannon: [], faultline: [] };
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 ? (['autocannon', 'faultline'] as const) : (['faultline', 'autocannon'] as const);
      for (const tool of order) {
        const sample = tool === 'autocannon' ? await runAutocannon(url) : await runFaultline(url);
        samples[tool].push(sample);
        console.log(`round ${round} ${tool.padEnd(10)} ${sample.rps.toFixed(0).padStart(7)} req/s  p50 ${sample.p50.toFixed(2)} ms  p99 ${sample.p99.toFixed(2)} ms  (${sample.requests} requests, ${sample.errors} errors)${sample.heapMiB !== undefined ? `  heap ${sample.heapMiB.toFixed(1)} MiB` : ''}`);
      }
    }
    const summary = (tool: keyof typeof samples) => ({
      rps: median(samples[tool].map((s) => s.rps)),
      p50: median(samples[tool].map((s) => s.p50)),
      p99: median(samples[tool].map((s) => s.p99)),
    });
    const a = summary('autocannon');
    const f = summary('faultline');
    console.log('');
    console.log(`median autocannon  ${a.rps.toFixed(0)} req/s  p50 ${a.p50.toFixed(2)} ms  p99 ${a.p99.toFixed(2)} ms`);
    console.log(`median faultline   ${f.rps.toFixed(0)} req/s  p50 ${f.p50.toFixed(2)} ms  p99 ${f.p99.toFixed(2)} ms`);
    // autocannon records latency in whole milliseconds, so on loopback its p50 is often 0: compare differences too.
    const ratio = (x: number, y: number) => (y > 0 ? (x / y).toFixed(2) : 'n/a');
    console.log(`throughput ratio faultline/autocannon: ${(f.rps / a.rps).toFixed(3)} (goal ≥ 0.9)`);
    console.log(`p50 ${f.p50.toFixed(2)} vs ${a.p50.toFixed(2)} ms (diff ${(f.p50 - a.p50).toFixed(2)} ms, ratio ${ratio(f.p50, a.p50)}); p99 ${f.p99.toFixed(2)} vs ${a.p99.toFixed(2)} ms (diff ${(f.p99 - a.p99).toFixed(2)} ms, ratio ${ratio(f.p99, a.p99)}); autocannon rounds to whole ms`);
  } finally {
    server.kill();
  }
}

await main();
