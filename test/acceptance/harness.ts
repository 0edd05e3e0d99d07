// The acceptance suite's bench: real nginx and HAProxy (Debian's packages) and Caddy (built from its Go
// module by the testenv), started here on 127.0.0.1 in front of two node backends reached through Toxiproxy proxies (a, b) plus a decoy proxy no request
// crosses. Each case writes an experiment, runs it with the built CLI, and reads the verdict from the
// journal. FAULTLINE_ACCEPTANCE_REPEAT=N runs every case N times (default 1).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'vitest';
import type { Journal } from '../../src/engine/journal.js';
import type { VerdictRecord } from '../../src/verdicts/types.js';
import { loadTestEnv } from '../../testenv/index.js';
import { findHaproxy } from '../../testenv/haproxy.js';
import { findCaddy } from '../../testenv/caddy.js';
import { findNginx } from '../../testenv/nginx.js';
import { toxiproxyServesMetrics, toxiproxyVersion } from '../../testenv/toxiproxy.js';
import { runCli, waitFor } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { isCI, requireToxiproxy } from '../support/testenv.js';
import { startHttpServer, type Listening } from '../support/traffic.js';

export const REPEAT = Math.max(1, Math.min(50, Number(process.env.FAULTLINE_ACCEPTANCE_REPEAT ?? 1) || 1));

/** Bounded per case: a run is about 7 s; setup and a slow machine get the rest. */
export const CASE_TIMEOUT_MS = REPEAT * 40_000 + 20_000;

function missing(ctx: TestContext, message: string): never {
  if (isCI()) throw new Error(message);
  ctx.skip(message);
  throw new Error('unreachable');
}

/**
 * The Toxiproxy the suite runs against: FAULTLINE_ACCEPTANCE_TOXIPROXY_URL (a developer's own server
 * with -proxy-metrics), else the test environment's. Without metrics the driver's evidence of reach is
 * unavailable, and the good configurations could not pass: the suite needs them.
 */
export async function requireMetricsToxiproxy(ctx: TestContext): Promise<string> {
  const own = process.env.FAULTLINE_ACCEPTANCE_TOXIPROXY_URL;
  const url = own ? ((await toxiproxyVersion(own)) ? own : missing(ctx, `nothing answers on ${own}`)) : (await requireToxiproxy(ctx)).url;
  if (!(await toxiproxyServesMetrics(url))) missing(ctx, `the Toxiproxy at ${url} serves no /metrics: start it with -proxy-metrics (npm run testenv -- up restarts an idle one)`);
  return url;
}

export async function requireBinary(ctx: TestContext, which: Front['kind']): Promise<string> {
  const settings = loadTestEnv();
  const binary =
    which === 'nginx'
      ? (settings.NGINX_BINARY ?? (await findNginx()))
      : which === 'haproxy'
        ? (settings.HAPROXY_BINARY ?? (await findHaproxy()))
        : (settings.CADDY_BINARY ?? findCaddy());
  const how = which === 'caddy' ? 'build caddy' : `install Debian's ${which}`;
  return binary ?? missing(ctx, `${which} is needed by this test: ${how} with \`npm run testenv -- up\``);
}

/** Things to undo after a case, newest first. */
export class Cleanups {
  private readonly list: (() => unknown)[] = [];
  add(cleanup: () => unknown): void {
    this.list.push(cleanup);
  }
  async run(): Promise<void> {
    for (const cleanup of this.list.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  }
}

// ---- the fronts --------------------------------------------------------------------------------------

export interface NginxConfig {
  /** proxy_read_timeout; nginx's default is 60 s. */
  readTimeout?: string;
  /** proxy_next_upstream; nginx's default is "error timeout". */
  nextUpstream?: string;
  /** max_fails=0 on every server: no passive health marking, so a broken config stays broken. */
  noPassiveChecks?: boolean;
}

export interface HaproxyConfig {
  timeoutServer: string;
  retries: number;
  /** `option redispatch 1` and `retry-on conn-failure empty-response response-timeout`. */
  redispatch?: boolean;
}

/**
 * Caddy's reverse_proxy (semantics from its v2.11.9 source and docs): retries are off unless lb_retries or
 * lb_try_duration is set; a dial error is always retried, any other transport error (reset, response
 * timeout) only for GET, which is what the workload sends; each retry asks the lb_policy for the next
 * available upstream. Passive health checks are off unless fail_duration is set.
 */
export interface CaddyConfig {
  /** transport http response_header_timeout; Caddy's default is none. */
  responseHeaderTimeout?: string;
  /** transport http read_timeout (the longest wait for the next read); default none. */
  readTimeout?: string;
  /** lb_policy; Caddy's default is random, which may retry the upstream that just failed. */
  lbPolicy?: 'random' | 'round_robin' | 'first' | 'least_conn';
  /** lb_retries: how many times to select another upstream after a failure. */
  lbRetries?: number;
  /** lb_try_duration: how long to keep selecting upstreams after a failure (lb_try_interval 250 ms). */
  lbTryDuration?: string;
  /** fail_duration: how long a failed request marks its upstream down (max_fails 1); enables passive checks. */
  failDuration?: string;
}

export type Front =
  | { kind: 'nginx'; config: NginxConfig }
  | { kind: 'haproxy'; config: HaproxyConfig }
  | { kind: 'caddy'; config: CaddyConfig };

function nginxConf(dir: string, port: number, upstreams: number[], config: NginxConfig): string {
  const server = (p: number) => `    server 127.0.0.1:${p}${config.noPassiveChecks ? ' max_fails=0' : ''};`;
  return [
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, 'temp', kind)};`),
    '  upstream backends {',
    ...upstreams.map(server),
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    '      proxy_pass http://backends;',
    '      proxy_connect_timeout 1s;',
    ...(config.readTimeout ? [`      proxy_read_timeout ${config.readTimeout};`] : []),
    ...(config.nextUpstream ? [`      proxy_next_upstream ${config.nextUpstream};`] : []),
    '    }',
    '  }',
    '}',
  ].join('\n');
}

function haproxyConf(port: number, upstreams: number[], config: HaproxyConfig): string {
  return [
    'global',
    '  maxconn 512',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    `  timeout server ${config.timeoutServer}`,
    `  retries ${config.retries}`,
    ...(config.redispatch ? ['  option redispatch 1', '  retry-on conn-failure empty-response response-timeout'] : []),
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    '  default_backend be',
    'backend be',
    '  balance roundrobin',
    ...upstreams.map((p, i) => `  server s${i} 127.0.0.1:${p}`),
    '', // HAProxy refuses a file whose last line has no LF
  ].join('\n');
}

function caddyfile(dir: string, port: number, upstreams: number[], config: CaddyConfig): string {
  const transport = [
    '      dial_timeout 1s', // as nginx's proxy_connect_timeout 1s and HAProxy's timeout connect 1s
    ...(config.responseHeaderTimeout ? [`      response_header_timeout ${config.responseHeaderTimeout}`] : []),
    ...(config.readTimeout ? [`      read_timeout ${config.readTimeout}`] : []),
  ];
  return [
    '{',
    '  admin off',
    '  auto_https off',
    '  persist_config off',
    `  storage file_system ${join(dir, 'data')}`,
    '}',
    `http://127.0.0.1:${port} {`,
    '  bind 127.0.0.1',
    `  reverse_proxy ${upstreams.map((p) => `127.0.0.1:${p}`).join(' ')} {`,
    ...(config.lbPolicy ? [`    lb_policy ${config.lbPolicy}`] : []),
    ...(config.lbRetries !== undefined ? [`    lb_retries ${config.lbRetries}`] : []),
    ...(config.lbTryDuration ? [`    lb_try_duration ${config.lbTryDuration}`] : []),
    ...(config.failDuration ? [`    fail_duration ${config.failDuration}`] : []),
    '    transport http {',
    ...transport,
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.setTimeout(500, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** Starts nginx, HAProxy or Caddy in the foreground, in its own process group, killed by the cleanups. */
export async function startFront(binary: string, front: Front, upstreams: number[], cleanups: Cleanups): Promise<number> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), `faultline-acceptance-${front.kind}-`));
  cleanups.add(() => rm(dir, { recursive: true, force: true }));
  let args: string[];
  let env: NodeJS.ProcessEnv | undefined;
  if (front.kind === 'nginx') {
    await mkdir(join(dir, 'temp'));
    await writeFile(join(dir, 'nginx.conf'), nginxConf(dir, port, upstreams, front.config));
    args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
  } else if (front.kind === 'haproxy') {
    await writeFile(join(dir, 'haproxy.cfg'), haproxyConf(port, upstreams, front.config));
    args = ['-db', '-f', join(dir, 'haproxy.cfg')];
  } else {
    await writeFile(join(dir, 'Caddyfile'), caddyfile(dir, port, upstreams, front.config));
    args = ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'];
    // Caddy keeps its data and config folders under $HOME or XDG_*: keep them in the case's folder.
    env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  }
  const child = spawn(binary, args, { stdio: 'ignore', detached: true, env });
  cleanups.add(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  // Up once it accepts a connection. No request: the proxies behind it do not exist yet (the run creates
  // them), and a refused request would mark them failed in nginx for the whole run.
  await waitFor(`${front.kind} on port ${port}`, async () => {
    if (exited !== undefined) throw new Error(`${front.kind} exited with code ${exited}; config in ${dir}`);
    return acceptsConnections(port);
  }, 10_000);
  return port;
}

// ---- a case ------------------------------------------------------------------------------------------

export interface Bench {
  toxiproxyUrl: string;
  backends: Listening[];
  /** The proxies' names and ports: a and b on the traffic's path, decoy off it (to backend a). */
  proxies: { a: ProxyPort; b: ProxyPort; decoy: ProxyPort };
}

interface ProxyPort {
  name: string;
  port: number;
}

/** Two backends answering a small body, and three free ports for the proxies the run declares. */
export async function startBench(toxiproxyUrl: string, cleanups: Cleanups): Promise<Bench> {
  const backends: Listening[] = [];
  for (const name of ['a', 'b']) {
    const backend = await startHttpServer((_req, res) => res.end(`${name} `.repeat(200)));
    cleanups.add(() => backend.close());
    backends.push(backend);
  }
  const id = randomBytes(3).toString('hex');
  const proxy = async (name: string) => ({ name: `faultline-acceptance-${id}-${name}`, port: await freePort() });
  return { toxiproxyUrl, backends, proxies: { a: await proxy('a'), b: await proxy('b'), decoy: await proxy('decoy') } };
}

export interface Fault {
  action: string;
  with: Record<string, unknown>;
}

export type VerdictSpec = { timeouts: { latency: { p99: string } } } | { retries: { errorRate: string } } | { failover: { successRate: string; longestGap?: string } };

export interface CaseSpec {
  title: string;
  front: Front;
  /** The front's upstreams: proxy a alone (timeouts) or a and b. */
  upstreams: ('a' | 'b')[];
  fault: (bench: Bench) => Fault;
  verdict: VerdictSpec;
  rate?: number;
}

/** The experiment of a case, as JSON (the loader reads JSON as well as YAML). */
export function experimentOf(spec: CaseSpec, bench: Bench, frontPort: number): object {
  const { a, b, decoy } = bench.proxies;
  const [backendA, backendB] = bench.backends;
  const fault = spec.fault(bench);
  const [name, bounds] = Object.entries(spec.verdict)[0]!;
  return {
    version: 1,
    title: spec.title,
    targets: {
      toxiproxy: {
        url: bench.toxiproxyUrl,
        proxies: [
          { name: a.name, listen: `127.0.0.1:${a.port}`, upstream: `127.0.0.1:${backendA!.port}` },
          { name: b.name, listen: `127.0.0.1:${b.port}`, upstream: `127.0.0.1:${backendB!.port}` },
          { name: decoy.name, listen: `127.0.0.1:${decoy.port}`, upstream: `127.0.0.1:${backendA!.port}` },
        ],
      },
    },
    workload: { url: `http://127.0.0.1:${frontPort}/`, rate: spec.rate ?? 50, timeout: '6s', before: '1s', after: '500ms' },
    method: [{ id: 'fault', name: spec.title, fault: `toxiproxy.${fault.action}`, with: fault.with, at: '500ms', duration: '4s' }],
    verdicts: { [name]: { faults: ['fault'], ...bounds } },
  };
}

export interface CaseRun {
  verdict: VerdictRecord;
  journal: Journal;
  code: number | null;
  stderr: string;
}

/** One run of a case on a fresh front (nginx's passive health state must not leak between runs). */
export async function runCase(ctx: TestContext, spec: CaseSpec): Promise<CaseRun> {
  const toxiproxyUrl = await requireMetricsToxiproxy(ctx);
  const binary = await requireBinary(ctx, spec.front.kind);
  const cleanups = new Cleanups();
  try {
    const bench = await startBench(toxiproxyUrl, cleanups);
    const frontPort = await startFront(binary, spec.front, spec.upstreams.map((p) => bench.proxies[p].port), cleanups);
    const dir = await mkdtemp(join(tmpdir(), 'faultline-acceptance-run-'));
    cleanups.add(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'experiment.json');
    await writeFile(file, JSON.stringify(experimentOf(spec, bench, frontPort), null, 2));
    const result = await runCli(['run', file, '--ledger-dir', join(dir, 'ledger'), '--journal', join(dir, 'journal.json')]);
    let journal: Journal;
    try {
      journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as Journal;
    } catch {
      throw new Error(`no journal (exit ${result.code}): ${result.stderr.slice(-2000)}`);
    }
    const verdict = journal.verdicts[0];
    if (!verdict) throw new Error(`no verdict in the journal (exit ${result.code}): ${result.stdout.slice(-2000)}`);
    return { verdict, journal, code: result.code, stderr: result.stderr };
  } finally {
    await cleanups.run();
  }
}

/** What a run showed, in one line for the annotations and the report's table. */
export function describeRun(run: CaseRun): string {
  const reach = run.journal.faults.map((f) => (f.reach ? `driver reach ${f.reach.reached}: ${f.reach.summary}` : 'no driver reach')).join('; ');
  return `${run.verdict.name} ${run.verdict.result}: ${run.verdict.evidence.summary} [${reach}]`;
}

export type Expected = 'pass' | 'fail' | 'not-pass' | 'not-exercised';

/** Runs a case REPEAT times; every run must give the expected verdict. Returns the runs' lines. */
export async function runRepeated(ctx: TestContext, spec: CaseSpec, expected: Expected): Promise<{ results: string[]; lines: string[] }> {
  const results: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const run = await runCase(ctx, spec);
    results.push(run.verdict.result);
    lines.push(describeRun(run));
  }
  await ctx.annotate(`${spec.title}: ${results.join(', ')}\n${lines.join('\n')}`);
  if (process.env.FAULTLINE_ACCEPTANCE_LOG) {
    await writeFile(process.env.FAULTLINE_ACCEPTANCE_LOG, `${JSON.stringify({ title: spec.title, expected, results, lines })}\n`, { flag: 'a' });
  }
  return { results, lines };
}
