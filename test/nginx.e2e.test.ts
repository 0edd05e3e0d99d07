// A third-party target: Debian's nginx as a reverse proxy in front of a backend reached through
// Toxiproxy. The same experiment (fixtures/nginx/timeouts.yaml) must pass when nginx has
// `proxy_read_timeout 1s` (callers get a 504 in about a second) and deviate when it has not (callers
// hang for the whole 3 s delay): opposite verdicts from the same fault.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { ToxiproxyConnection } from '../src/drivers/toxiproxy/client.js';
import type { ActivityRecord, Journal } from '../src/engine/journal.js';
import { loadTestEnv } from '../testenv/index.js';
import { findNginx } from '../testenv/nginx.js';
import { runCli, waitFor } from './support/cli.js';
import { freePort } from './support/ports.js';
import { isCI, requireToxiproxy } from './support/testenv.js';
import { httpGet, startHttpServer, type Listening } from './support/traffic.js';

const suffix = randomBytes(3).toString('hex');
const cleanups: (() => unknown)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

async function requireNginx(ctx: TestContext): Promise<string> {
  const binary = loadTestEnv().NGINX_BINARY ?? (await findNginx());
  if (binary) return binary;
  const message = "nginx is needed by this test: install Debian's nginx with `npm run testenv -- up`";
  if (isCI()) throw new Error(message);
  ctx.skip(message);
  throw new Error('unreachable');
}

/** nginx in the foreground with its own prefix, config, logs and temp folders; killed in afterAll. */
async function startNginx(binary: string, options: { port: number; upstreamPort: number; readTimeout?: string }): Promise<ChildProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-nginx-'));
  cleanups.unshift(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'temp'));
  const config = [
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, 'temp', kind)};`),
    `  server {`,
    `    listen 127.0.0.1:${options.port};`,
    `    location / {`,
    `      proxy_pass http://127.0.0.1:${options.upstreamPort};`,
    ...(options.readTimeout ? [`      proxy_read_timeout ${options.readTimeout};`] : []),
    '    }',
    '  }',
    '}',
  ].join('\n');
  await writeFile(join(dir, 'nginx.conf'), config);
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore', detached: true });
  // Its own process group: the master and its worker go together.
  cleanups.push(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  });
  await waitFor(`nginx on port ${options.port}`, async () => (await httpGet(options.port, '/', 500)).error !== 'ECONNREFUSED', 10_000);
  return child;
}

interface PairRun {
  journal: Journal;
  code: number | null;
  stdout: string;
  /** The probes through nginx while the backend was slow. */
  during: ActivityRecord[];
}

async function runAgainst(ctx: TestContext, readTimeout: string | undefined): Promise<PairRun> {
  const { url } = await requireToxiproxy(ctx);
  const binary = await requireNginx(ctx);
  const backend: Listening = await startHttpServer((_req, res) => res.end('ok'));
  cleanups.push(() => backend.close());
  const [listen, nginxPort] = [await freePort(), await freePort()];
  await startNginx(binary, { port: nginxPort, upstreamPort: listen, ...(readTimeout ? { readTimeout } : {}) });
  const dir = await mkdtemp(join(tmpdir(), 'faultline-nginx-run-'));
  cleanups.unshift(() => rm(dir, { recursive: true, force: true }));
  const proxy = `faultline-test-${suffix}-nginx-${readTimeout ?? 'default'}`;
  const vars = { 'toxiproxy.proxy': proxy, 'toxiproxy.listen': listen, backendPort: backend.port, nginxPort };
  const result = await runCli(
    ['run', 'fixtures/nginx/timeouts.yaml', ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}=${v}`]), '--ledger-dir', join(dir, 'ledger'), '--journal', join(dir, 'journal.json')],
    { env: { TOXIPROXY_URL: url } },
  );
  const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as Journal;
  expect(await new ToxiproxyConnection(url).proxy(proxy)).toBeUndefined();
  const during = journal.activities.filter((a) => a.name.startsWith('nginx answers while the backend is slow'));
  return { journal, code: result.code, stdout: result.stdout, during };
}

const latencies = (run: PairRun) => run.during.map((a) => (a.output as { latency: number }).latency);
const statuses = (run: PairRun) => run.during.map((a) => (a.output as { status: number | null }).status);

describe('nginx behind Toxiproxy: a 3 s latency fault', () => {
  it('with proxy_read_timeout 1s: callers get 504s in about a second, so timeouts held and the run passes', async (ctx) => {
    const run = await runAgainst(ctx, '1s');
    await ctx.annotate(`answers during the fault: ${statuses(run).join(', ')} after ${latencies(run).join(', ')} ms; ${run.journal.verdicts[0]?.evidence.summary}`);
    expect(run.stdout).toMatch(/Result: PASSED/);
    expect(run.code).toBe(0);
    expect(statuses(run)).toEqual([504, 504]);
    expect(run.journal.verdicts.map((v) => `${v.name}:${v.result}`)).toEqual(['timeouts:pass']);
    expect(run.journal.windows.find((w) => w.kind === 'fault')!.latency!.p99).toBeLessThan(3000); // cut off before the fault's 3 s
    for (const ms of latencies(run)) {
      expect(ms).toBeGreaterThanOrEqual(950);
      expect(ms).toBeLessThan(3000);
    }
    expect(run.journal.faults.map((f) => f.status)).toEqual(['undone']);
  }, 60_000);

  it('without proxy_read_timeout: callers hang for the whole delay, so timeouts did not hold and the run deviates', async (ctx) => {
    const run = await runAgainst(ctx, undefined);
    await ctx.annotate(`answers during the fault: ${statuses(run).join(', ')} after ${latencies(run).join(', ')} ms; ${run.journal.verdicts[0]?.evidence.summary}`);
    expect(run.stdout).toMatch(/Result: DEVIATED/);
    expect(run.code).toBe(1);
    expect(run.journal.verdicts.map((v) => `${v.name}:${v.result}`)).toEqual(['timeouts:fail']);
    expect(run.journal.reason).toMatch(/^timeouts did not hold: p99 latency (2\.9|3)/);
    // The first caller waited the full 3 s; the second was released when the fault was undone.
    expect(latencies(run)[0]).toBeGreaterThanOrEqual(2_900);
    for (const ms of latencies(run)) expect(ms).toBeGreaterThan(1500);
    expect(run.journal.faults.map((f) => f.status)).toEqual(['undone']);
  }, 60_000);
});
