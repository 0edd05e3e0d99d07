// Starting and stopping the fault proxy's process (server.ts) for a run. It runs in its own process
// group, so a Ctrl-C meant for faultline does not take it down before the faults on it are undone, and
// its command line carries a token unique to the run: a stop finds the process by that token in
// /proc/<pid>/cmdline, so it stops exactly this proxy, from any later process (`faultline recover`
// included), even when faultline died before it could note the pid, and never a process that reused it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { makeDirectory } from '../../core/make-dir.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { FaultlineError } from '../../core/errors.js';
import { STATE_DIR_FLAG, TOKEN_FLAG, type ServerConfig, type ServerState } from './control.js';

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const POLL_MS = 20;

/** Where a run's proxy keeps its config, state and log: derived from the run id, so prepare knows it before anything starts. */
export function stateDirFor(runId: string): string {
  return join(tmpdir(), `faultline-faultproxy-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}`);
}

/** A fresh token for the process's command line: the run id, for whoever lists processes, and a random part. */
export function newToken(runId: string): string {
  return `faultline-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}-${randomBytes(6).toString('hex')}`;
}

export async function readState(stateDir: string): Promise<ServerState | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as ServerState;
  } catch {
    return undefined;
  }
}

/**
 * How to run server.ts: the compiled server.js beside this module, or, when faultline runs from its
 * TypeScript sources (its own tests), server.ts through tsx.
 */
function serverCommand(): string[] {
  const compiled = fileURLToPath(new URL('./server.js', import.meta.url));
  if (existsSync(compiled)) return [compiled];
  const source = fileURLToPath(new URL('./server.ts', import.meta.url));
  // tsx's package entry is its ESM loader (dist/loader.mjs), what `node --import tsx` loads.
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, source];
}

/** The pids of live processes whose command line carries the token (one, normally). */
export async function processesWithToken(token: string): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    const at = args.indexOf(TOKEN_FLAG);
    if (at !== -1 && args[at + 1] === token) found.push(Number(entry));
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function logTail(stateDir: string): Promise<string> {
  const text = await readFile(join(stateDir, 'proxy.log'), 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-3).join(' | ');
}

/** Starts the proxy's process and waits until every proxy listens (it writes state.json then). */
export async function startProxyServer(options: { stateDir: string; token: string; config: ServerConfig; signal: AbortSignal }): Promise<ServerState> {
  const { stateDir, token, config } = options;
  await makeDirectory(stateDir, 0o700);
  await rm(join(stateDir, 'state.json'), { force: true });
  await writeFile(join(stateDir, 'config.json'), JSON.stringify(config, null, 2));
  const out = openSync(join(stateDir, 'proxy.log'), 'a');
  const child = spawn(process.execPath, [...serverCommand(), TOKEN_FLAG, token, STATE_DIR_FLAG, stateDir], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (error) => reject(new FaultlineError('E_PREFLIGHT', `cannot start the fault proxy: ${error.message}`, { cause: error })));
  });
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + START_TIMEOUT_MS;
  // Bounded by START_TIMEOUT_MS.
  while (Date.now() < deadline && !options.signal.aborted && exited === undefined) {
    const state = await readState(stateDir);
    if (state && state.token === token) return state;
    await sleep(POLL_MS);
  }
  const tail = await logTail(stateDir);
  throw new FaultlineError(
    'E_PREFLIGHT',
    exited !== undefined ? `the fault proxy exited (code ${exited}) before it listened${tail ? `: ${tail}` : ''}` : `the fault proxy did not listen within ${START_TIMEOUT_MS / 1000} s${tail ? `: ${tail}` : ''}`,
    { hint: `Is a declared listen port taken? Its log is ${join(stateDir, 'proxy.log')}.` },
  );
}

/**
 * Stops the process carrying the token: SIGTERM to its group, SIGKILL after a grace period; then removes
 * its state folder. Idempotent: a proxy that never started or is gone already is fine, and says so.
 */
export async function stopProxyServer(options: { stateDir: string; token: string }, log: (message: string) => void): Promise<void> {
  const pids = await processesWithToken(options.token);
  if (pids.length === 0) log(existsSync(join(options.stateDir, 'state.json')) ? 'the fault proxy had already exited' : 'the fault proxy was never started');
  for (const pid of pids) {
    const signal = (name: NodeJS.Signals) => {
      try {
        // Started as the leader of its own group; a process already gone is what we want.
        process.kill(-pid, name);
      } catch {
        try {
          process.kill(pid, name);
        } catch {
          // gone already
        }
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (Date.now() < deadline && (await processesWithToken(options.token)).includes(pid)) await sleep(POLL_MS);
    if ((await processesWithToken(options.token)).includes(pid)) {
      signal('SIGKILL');
      log(`the fault proxy (pid ${pid}) ignored SIGTERM for ${STOP_GRACE_MS / 1000} s and was killed`);
    } else log(`stopped the fault proxy (pid ${pid})`);
  }
  await rm(options.stateDir, { recursive: true, force: true });
}
