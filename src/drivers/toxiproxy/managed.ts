// A toxiproxy-server that faultline starts for one run (`targets.toxiproxy.managed: true`) and stops
// afterwards. It runs in its own process group, so a Ctrl-C meant for faultline does not take it (and the
// faults still to be undone) down first; a pidfile with the process's start time lets any later process,
// `faultline recover` included, stop exactly this server and never a process that reused its pid.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { FaultlineError, errorMessage } from '../../core/errors.js';
import { readProcStat } from '../process/index.js';
import { ToxiproxyConnection } from './client.js';

export const DEFAULT_SERVER_PROGRAM = 'toxiproxy-server';
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const POLL_MS = 25;

/** Where a managed server's pid and log live: derived from the run id, so prepare knows them before anything starts. */
export interface ManagedServerFiles {
  pidfile: string;
  logfile: string;
}

export function managedServerFiles(runId: string): ManagedServerFiles {
  const base = join(tmpdir(), `faultline-toxiproxy-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  return { pidfile: `${base}.pid`, logfile: `${base}.log` };
}

/** The server program: a path (relative to the experiment's folder) or a name looked up on PATH. */
export async function findServerProgram(program: string, cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolvePath(cwd, program)]
    : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, program));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new FaultlineError('E_PREFLIGHT', program.includes('/') ? `${program} is not an executable file` : `${program} is not on PATH`, {
    hint:
      'Install toxiproxy-server (see the README: `go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0` and put it on PATH as ' +
      'toxiproxy-server, or a release binary), or set targets.toxiproxy.server to its path.',
  });
}

/** A TCP port nothing listens on right now, on the given loopback host. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface PidRecord {
  pid: number;
  startTime: number;
  url: string;
}

function readPidRecord(pidfile: string): PidRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(pidfile, 'utf8')) as PidRecord;
    return Number.isInteger(record.pid) && Number.isInteger(record.startTime) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The managed server's pid while that very process still runs; undefined once it is gone. */
export async function runningManagedServer(pidfile: string): Promise<number | undefined> {
  const record = readPidRecord(pidfile);
  if (!record) return undefined;
  const stat = await readProcStat(record.pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X' || stat.startTime !== record.startTime) return undefined;
  return record.pid;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts toxiproxy-server on host:port and waits until its API answers. */
export async function startManagedServer(options: { program: string; host: string; port: number; files: ManagedServerFiles; signal: AbortSignal }): Promise<{ pid: number; url: string; version: string }> {
  const { program, host, port, files } = options;
  const url = `http://${host}:${port}`;
  const out = openSync(files.logfile, 'a');
  // -proxy-metrics: per-proxy byte counters at /metrics, the evidence that a fault met the traffic (reach.ts).
  const child = spawn(program, ['-host', host, '-port', String(port), '-proxy-metrics'], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (error) => reject(new FaultlineError('E_PREFLIGHT', `cannot start ${program}: ${error.message}`, { cause: error })));
  });
  child.unref();
  const stat = await readProcStat(spawned);
  writeFileSync(files.pidfile, JSON.stringify({ pid: spawned, startTime: stat?.startTime ?? -1, url } satisfies PidRecord));
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const connection = new ToxiproxyConnection(url);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError = '';
  // Bounded by START_TIMEOUT_MS; each call is bounded by the client's request timeout.
  while (Date.now() < deadline && !options.signal.aborted) {
    if (exited !== undefined) break;
    try {
      return { pid: spawned, url, version: await connection.version() };
    } catch (error) {
      lastError = errorMessage(error);
    }
    await sleep(POLL_MS);
  }
  const tail = existsSync(files.logfile) ? readFileSync(files.logfile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
  throw new FaultlineError(
    'E_PREFLIGHT',
    exited !== undefined
      ? `${program} exited (code ${exited}) before its API answered on ${url}${tail ? `: ${tail}` : ''}`
      : `${program} did not answer on ${url} within ${START_TIMEOUT_MS / 1000} s: ${lastError}`,
    { hint: `Its log is ${files.logfile}. Is port ${port} taken?` },
  );
}

/**
 * Stops the managed server named by the pidfile: SIGTERM, then SIGKILL after a grace period. Idempotent:
 * a server that never started or is gone already is fine, and says so.
 */
export async function stopManagedServer(files: ManagedServerFiles, log: (message: string) => void): Promise<void> {
  const pid = await runningManagedServer(files.pidfile);
  if (pid === undefined) {
    log(existsSync(files.pidfile) ? 'the managed toxiproxy-server had already exited' : 'the managed toxiproxy-server was never started');
    rmSync(files.pidfile, { force: true });
    rmSync(files.logfile, { force: true });
    return;
  }
  // It was started as the leader of its own process group; a server already gone is what we want.
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // gone already: what we want
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline && (await runningManagedServer(files.pidfile)) !== undefined) await sleep(POLL_MS);
  if ((await runningManagedServer(files.pidfile)) !== undefined) {
    signalGroup('SIGKILL');
    log(`the managed toxiproxy-server (pid ${pid}) ignored SIGTERM for ${STOP_GRACE_MS / 1000} s and was killed`);
  } else {
    log(`stopped the managed toxiproxy-server (pid ${pid})`);
  }
  rmSync(files.pidfile, { force: true });
  rmSync(files.logfile, { force: true });
}
