// The fault proxy with no fault in force against a direct connection and against Toxiproxy's
// passthrough, on the same loopback target, in one run (numbers, never assertions):
//   1. throughput: autocannon, `connections` keep-alive connections, `seconds` per run, rounds alternating;
//   2. CPU per request: the proxy process's user+system time over the throughput run divided by the
//      requests it carried (from /proc/<pid>/stat), which a machine busy with other work changes little,
//      unlike the two figures around it;
//   3. added latency: one keep-alive connection, requests one after another, each timed with hrtime
//      (autocannon rounds to whole milliseconds, too coarse for a fraction of one), p50 and p99 minus direct's.
// The target (bench/server.mjs), the fault proxy and toxiproxy-server each run in their own process, and
// so does `bare` (bench/bare-proxy.mjs): the least a Node.js proxy does (node:http in, undici out, no
// fault logic), which tells the cost of Node.js from the cost of the fault proxy's own work.
// Run: npm run build && npx tsx bench/faultproxy.bench.ts   (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_SEQUENTIAL,
// TOXIPROXY_SERVER to change the defaults; toxiproxy-server is looked for on PATH and in the testenv cache).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
// The compiled proxy, as users run it: from the sources it would run under tsx, whose loader makes every
// Error (and undici makes some per request) pay for source maps.
// Loaded by path at run time (run `npm run build` first), so that typechecking a fresh clone, where
// dist/ does not exist yet, does not depend on it; the types are the sources'.
const { newToken, startProxyServer, stateDirFor, stopProxyServer } = (await import(
  new URL('../dist/drivers/faultproxy/managed.js', import.meta.url).href
)) as typeof import('../src/drivers/faultproxy/managed.js');

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const sequential = Number(process.env.BENCH_SEQUENTIAL ?? 3000);
// Fixed ports in this driver's range (21500-21599) for Toxiproxy; the fault proxy takes a free one.
const TOXIPROXY_API_PORT = 21590;
const TOXIPROXY_LISTEN_PORT = 21591;

type Path = 'direct' | 'faultproxy' | 'toxiproxy' | 'bare';

interface Sample {
  rps: number;
  errors: number;
  requests: number;
}

/** User plus system CPU time of a process so far, in µs (clock ticks are 1/100 s on Linux). */
async function cpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function throughput(url: string): Promise<Sample> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return { rps: result.requests.total / seconds, errors: result.errors + result.timeouts + result.non2xx, requests: result.requests.total };
}

/** p50 and p99 of one request at a time on one kept-alive connection, in ms with µs resolution. */
async function sequentialLatency(url: string): Promise<{ p50: number; p99: number }> {
  const agent = new Agent({ connections: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < sequential + 200; i++) {
      const started = process.hrtime.bigint();
      const response = await request(url, { dispatcher: agent });
      await response.body.dump();
      // The first 200 warm the connection and the JIT.
      if (i >= 200) times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  } finally {
    await agent.close();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

function findToxiproxy(): string {
  const candidates = [process.env.TOXIPROXY_SERVER, join(homedir(), '.cache/faultline-testenv/toxiproxy-2.12.0/bin/server'), ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'toxiproxy-server'))];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) throw new Error('toxiproxy-server not found: set TOXIPROXY_SERVER, or run `npm run testenv -- up` once');
  return found;
}

async function startToxiproxy(targetPort: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(findToxiproxy(), ['-host', '127.0.0.1', '-port', String(TOXIPROXY_API_PORT)], { stdio: 'ignore', detached: true });
  const api = `http://127.0.0.1:${TOXIPROXY_API_PORT}`;
  for (let i = 0; i < 200; i++) {
    const created = await fetch(`${api}/proxies`, {
      method: 'POST',
      body: JSON.stringify({ name: 'bench', listen: `127.0.0.1:${TOXIPROXY_LISTEN_PORT}`, upstream: `127.0.0.1:${targetPort}` }),
    }).catch(() => undefined);
    if (created && (created.status === 201 || created.status === 409)) return { child, url: `http://127.0.0.1:${TOXIPROXY_LISTEN_PORT}/api/items` };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`toxiproxy-server did not answer on ${api}`);
}

async function main(): Promise<void> {
  // Every server in a session of its own, as the fault proxy is (detached, so a Ctrl-C meant for faultline
  // does not reach it): with the kernel's autogroup scheduling each session is scheduled as one group, and
  // a hand-off between groups waits longer on a busy machine than one inside a group, so servers sharing
  // the benchmark's session would be favoured over the fault proxy.
  const server = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const runId = `bench-${process.pid}`;
  const stateDir = stateDirFor(runId);
  const token = newToken(runId);
  let toxiproxy: ChildProcess | undefined;
  let bare: ChildProcess | undefined;
  try {
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    const targetPort = Number(line.toString().trim());
    const state = await startProxyServer({
      stateDir,
      token,
      config: { seed: 1, proxies: [{ name: 'bench', host: '127.0.0.1', port: 0, upstream: `http://127.0.0.1:${targetPort}`, hostHeader: 'preserve' }] },
      signal: new AbortController().signal,
    });
    const started = await startToxiproxy(targetPort);
    toxiproxy = started.child;
    bare = spawn(process.execPath, [fileURLToPath(new URL('./bare-proxy.mjs', import.meta.url)), String(targetPort)], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const [bareLine] = (await once(bare.stdout!, 'data')) as [Buffer];
    const urls: Record<Path, string> = {
      direct: `http://127.0.0.1:${targetPort}/api/items`,
      faultproxy: `http://${state.proxies.bench}/api/items`,
      toxiproxy: started.url,
      bare: `http://127.0.0.1:${bareLine.toString().trim()}/api/items`,
    };
    console.log(`target ${urls.direct}; ${connections} connections, ${seconds} s per throughput run, ${rounds} rounds (alternating), ${sequential} sequential requests for latency; Node ${process.version}`);
    for (const url of Object.values(urls)) await autocannon({ url, connections, duration: 1 });
    const rps: Record<Path, number[]> = { direct: [], faultproxy: [], toxiproxy: [], bare: [] };
    const p50: Record<Path, number[]> = { direct: [], faultproxy: [], toxiproxy: [], bare: [] };
    const p99: Record<Path, number[]> = { direct: [], faultproxy: [], toxiproxy: [], bare: [] };
    const cpu: Record<Path, number[]> = { direct: [], faultproxy: [], toxiproxy: [], bare: [] };
    const pidOf: Record<Path, number> = { direct: server.pid!, faultproxy: state.pid, toxiproxy: toxiproxy.pid!, bare: bare.pid! };
    const paths: Path[] = ['direct', 'faultproxy', 'toxiproxy', 'bare'];
    for (let round = 1; round <= rounds; round++) {
      // Rotate the order so that no path always runs first (or last) in a round.
      const order = paths.map((_, i) => paths[(i + round) % paths.length]!);
      for (const path of order) {
        const cpuBefore = await cpuMicros(pidOf[path]);
        const sample = await throughput(urls[path]);
        // For direct: the target's own CPU per request, the floor every path pays on top of its proxy.
        cpu[path].push((await cpuMicros(pidOf[path])) - cpuBefore);
        cpu[path][cpu[path].length - 1]! /= Math.max(1, sample.requests);
        const latency = await sequentialLatency(urls[path]);
        rps[path].push(sample.rps);
        p50[path].push(latency.p50);
        p99[path].push(latency.p99);
        console.log(`round ${round} ${path.padEnd(10)} ${sample.rps.toFixed(0).padStart(7)} req/s (${sample.errors} errors)  ${cpu[path].at(-1)!.toFixed(1)} µs CPU/request  sequential p50 ${latency.p50.toFixed(3)} ms  p99 ${latency.p99.toFixed(3)} ms`);
      }
    }
    console.log('');
    const direct = { rps: median(rps.direct), p50: median(p50.direct), p99: median(p99.direct) };
    for (const path of paths) {
      const m = { rps: median(rps[path]), p50: median(p50[path]), p99: median(p99[path]), cpu: median(cpu[path]) };
      const added = path === 'direct' ? '' : `  added p50 ${(m.p50 - direct.p50).toFixed(3)} ms  added p99 ${(m.p99 - direct.p99).toFixed(3)} ms  throughput ${(m.rps / direct.rps).toFixed(2)}x direct`;
      console.log(`median ${path.padEnd(10)} ${m.rps.toFixed(0).padStart(7)} req/s  p50 ${m.p50.toFixed(3)} ms  p99 ${m.p99.toFixed(3)} ms  ${m.cpu.toFixed(1)} µs CPU/request (${path === 'direct' ? 'the target' : 'the proxy'})${added}`);
    }
    const ratio = median(rps.faultproxy) / median(rps.toxiproxy);
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
    console.log(`load average ${load} on ${(await import('node:os')).cpus().length} CPUs: on a busy machine, waiting for the CPU dominates loopback latency`);
    console.log(`throughput faultproxy/toxiproxy: ${ratio.toFixed(2)} (goal ≥ 1); faultproxy added p50 ${(median(p50.faultproxy) - direct.p50).toFixed(3)} ms (goal < 0.3 ms)`);
  } finally {
    toxiproxy?.kill();
    bare?.kill();
    await stopProxyServer({ stateDir, token }, () => undefined);
    server.kill();
  }
}

await main();
