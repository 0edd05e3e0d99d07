// Toxiproxy for the tests: the real server at a pinned version, built with `go install`
// into the versioned cache, listening on loopback. Reuses a server that already answers.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { componentCacheDir, logPath } from './layout.js';
import { buildEnvForGo, requireGo } from './golang.js';
import { runLoggedStep, runningDaemonPid, startDaemon, stopDaemon, waitFor } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

export const TOXIPROXY_VERSION = '2.12.0';
const DAEMON = 'toxiproxy';

export interface ToxiproxyResult {
  url: string;
  version: string;
  startedByUs: boolean;
}

export function toxiproxyUrl(env: NodeJS.ProcessEnv = process.env): string {
  const port = env.FAULTLINE_TOXIPROXY_PORT ?? String(8474 + Number(env.FAULTLINE_TESTENV_PORT_OFFSET ?? 0));
  return `http://127.0.0.1:${port}`;
}

/** The version a Toxiproxy server at `url` reports, or undefined if none answers. */
export async function toxiproxyVersion(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/version`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return undefined;
    const body = (await response.text()).trim();
    // v2 answers with JSON ({"version": "..."}); older servers answer with the bare version.
    try {
      return String((JSON.parse(body) as { version?: unknown }).version ?? body);
    } catch {
      return body;
    }
  } catch {
    return undefined;
  }
}

/** Where `up` builds toxiproxy-server: the versioned per-user cache. */
export function toxiproxyBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(componentCacheDir('toxiproxy', TOXIPROXY_VERSION, env), 'bin', 'server');
}

/** The cached toxiproxy-server, built with `go install` when missing and builds are allowed. */
export async function ensureToxiproxyBinary({ log, env, allowBuilds }: UpContext): Promise<string> {
  const binary = toxiproxyBinaryPath(env);
  const binDir = dirname(binary);
  if (existsSync(binary)) return binary;
  if (!allowBuilds) throw new NotBuiltError(`toxiproxy v${TOXIPROXY_VERSION}`);
  await requireGo(env);
  const logFile = logPath('toxiproxy-build', env);
  log(`building toxiproxy v${TOXIPROXY_VERSION} with go install (about 2 minutes cold; log: ${logFile})`);
  await runLoggedStep(
    `go install toxiproxy v${TOXIPROXY_VERSION}`,
    'go',
    [
      'install',
      `-ldflags=-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION}`,
      `github.com/Shopify/toxiproxy/v2/cmd/server@v${TOXIPROXY_VERSION}`,
    ],
    { logFile, env: { ...buildEnvForGo(env), GOBIN: binDir }, timeoutMs: 20 * 60_000 },
  );
  if (!existsSync(binary)) throw new TestEnvError(`go install finished but ${binary} is missing`, logFile);
  return binary;
}

/** True when the server serves its per-proxy byte counters (started with -proxy-metrics). */
export async function toxiproxyServesMetrics(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** How many proxies the server has; undefined when it does not answer. */
async function proxyCount(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${url}/proxies`, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? Object.keys((await response.json()) as object).length : undefined;
  } catch {
    return undefined;
  }
}

export async function upToxiproxy(context: UpContext): Promise<ToxiproxyResult> {
  const { log, env } = context;
  const url = toxiproxyUrl(env);
  const answering = await toxiproxyVersion(url);
  const ours = runningDaemonPid(DAEMON, env) !== undefined;
  if (answering && (await toxiproxyServesMetrics(url))) return { url, version: answering, startedByUs: ours };
  if (answering) {
    // Started before the tests needed -proxy-metrics (the reach evidence reads them). Restart our own
    // server only while it is idle: a proxy on it means a test is using it right now.
    if (!ours || (await proxyCount(url)) !== 0) {
      log(`toxiproxy on ${url} serves no /metrics (no -proxy-metrics): the tests of reach evidence will skip; restart it when idle`);
      return { url, version: answering, startedByUs: ours };
    }
    log(`restarting toxiproxy on ${url} with -proxy-metrics`);
    await stopDaemon(DAEMON, 10_000, env);
  }
  const binary = await ensureToxiproxyBinary(context);
  const port = new URL(url).port;
  const { pid, logFile } = startDaemon({ name: DAEMON, program: binary, args: ['-host', '127.0.0.1', '-port', port, '-proxy-metrics'] }, env);
  const version = await waitFor('toxiproxy to answer on ' + url, () => toxiproxyVersion(url), {
    timeoutMs: 20_000,
    logFile,
    stillAlive: () => runningDaemonPid(DAEMON, env) === pid,
  });
  log(`toxiproxy v${version} started on ${url}`);
  return { url, version, startedByUs: true };
}

export async function downToxiproxy(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return stopDaemon(DAEMON, 10_000, env);
}
