// A real Prometheus per test file, and the instrumented service it scrapes: each test writes its own
// scrape config (1 s interval) and starts Debian's prometheus binary on 127.0.0.1 in a temp folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'vitest';
import { loadTestEnv } from '../../testenv/index.js';
import { findPrometheus } from '../../testenv/prometheus.js';
import { REPO_ROOT, eventually } from './cli.js';
import { freePort } from './ports.js';
import { isCI } from './testenv.js';

export interface RunningPrometheus {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** The prometheus binary, or a skipped test (a failed one under CI) when it is not installed. */
export async function requirePrometheusBinary(ctx?: TestContext): Promise<string> {
  const binary = loadTestEnv().PROMETHEUS_BINARY ?? (await findPrometheus());
  if (binary) return binary;
  const message = 'Prometheus is needed by this test: install it with `npm run testenv -- up` (Debian package prometheus)';
  if (isCI() || !ctx) throw new Error(message);
  ctx.skip(message);
  throw new Error('unreachable');
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts Prometheus scraping `targets` (job name → host:port list) every second; resolves once it is ready. */
export async function startPrometheus(binary: string, targets: Record<string, string[]>, port?: number): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-prometheus-'));
  const listen = port ?? (await freePort());
  const jobs = Object.entries(targets)
    .map(([job, list]) => `  - job_name: ${job}\n    static_configs:\n      - targets: [${list.map((t) => `'${t}'`).join(', ')}]`)
    .join('\n');
  await writeFile(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nscrape_configs:\n${jobs}\n`);
  const child = spawn(
    binary,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${listen}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${listen}`;
  try {
    await eventually(`Prometheus ready on ${url}`, async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${log}`);
      const res = await fetch(`${url}/-/ready`).catch(() => undefined);
      return res?.ok ? true : undefined;
    }, 30_000, 200);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    url,
    port: listen,
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until Prometheus has scraped `job` at least `samples` times, so queries over it see data. */
export async function waitForScrapes(url: string, job: string, samples = 2): Promise<void> {
  await eventually(`${samples} scrapes of ${job}`, async () => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(`count_over_time(up{job="${job}"}[1m])`)}`).catch(() => undefined);
    const body = (await res?.json().catch(() => undefined)) as { data?: { result?: { value: [number, string] }[] } } | undefined;
    const count = Number(body?.data?.result?.[0]?.value[1] ?? 0);
    return count >= samples ? true : undefined;
  }, 30_000, 250);
}

export interface MetricsApi {
  apiPort: number;
  backendPort: number;
  stop(): Promise<void>;
}

/** Starts fixtures/metrics-api/api.mjs; `upstream` is where it calls its backend (a Toxiproxy proxy). */
export async function startMetricsApi(options: { backendPort: number; upstream?: string; retries?: number; apiPort?: number; supervise?: boolean }): Promise<MetricsApi> {
  const args = [join(REPO_ROOT, 'fixtures', 'metrics-api', 'api.mjs'), '--api-port', String(options.apiPort ?? 0), '--backend-port', String(options.backendPort)];
  if (options.upstream) args.push('--upstream', options.upstream);
  if (options.retries) args.push('--retries', String(options.retries));
  if (options.supervise) args.push('--supervise');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<{ api: number; backend: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('metrics-api did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`metrics-api exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as { api: number; backend: number });
    });
  });
  return { apiPort: ports.api, backendPort: ports.backend, stop: () => stopChild(child) };
}
