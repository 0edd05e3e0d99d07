// Starting and stopping the servers `up` owns (detached, logged, tracked by pidfile),
// running build commands with their output in a log, and bounded waiting.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { logPath, stateDir } from './layout.js';
import { TestEnvError } from './errors.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns a value other than undefined, at most `attempts` times and
 * for at most `timeoutMs`; then throws naming what was awaited and where to look.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; logFile?: string; stillAlive?: () => boolean },
): Promise<T> {
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + options.timeoutMs;
  const maxAttempts = Math.ceil(options.timeoutMs / intervalMs) + 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < maxAttempts && Date.now() <= deadline; attempt++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (options.stillAlive && !options.stillAlive()) {
      throw new TestEnvError(`${what}: the process exited while we waited for it`, options.logFile);
    }
    await sleep(intervalMs);
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new TestEnvError(`timed out after ${options.timeoutMs} ms waiting for ${what}${detail}`, options.logFile);
}

export function pidFilePath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'pids', `${name}.pid`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** The pid recorded for `name`, if that process still runs the program we started. */
export function runningDaemonPid(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const path = pidFilePath(name, env);
  if (!existsSync(path)) return undefined;
  const [pidText, program] = readFileSync(path, 'utf8').split('\n');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  // A pid can be reused by an unrelated process after a reboot; only trust it if it runs our program.
  const commandLine = commandLineOf(pid);
  if (program && commandLine !== undefined && !runsProgram(commandLine, processState(pid), program)) return undefined;
  return pid;
}

/** The state letter from /proc/<pid>/stat (R, S, D, Z, ...), if the process is still there. */
function processState(pid: number): string | undefined {
  try {
    // The command name in parentheses may hold spaces and parentheses: the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * Whether a process with this command line and state runs `program`. An empty command line is a
 * process between fork and exec (a wrapper such as nsenter exec'ing the daemon) or a kernel thread;
 * only the first is still alive and ours, and only a zombie (Z) is dead for good: so an empty line
 * counts as running unless the process is a zombie or gone.
 */
export function runsProgram(commandLine: string, state: string | undefined, program: string): boolean {
  if (commandLine === '') return state !== undefined && state !== 'Z' && state !== 'X';
  return commandLine.includes(program);
}

export interface DaemonSpec {
  name: string;
  program: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A command that execs `program` in another context (nsenter --mount=...): its process is still `program`'s. */
  wrapper?: string[];
}

/** Starts a server in its own process group, output appended to .testenv/logs/<name>.log. */
export function startDaemon(spec: DaemonSpec, env: NodeJS.ProcessEnv = process.env): { pid: number; logFile: string } {
  const logFile = logPath(spec.name, env);
  mkdirSync(dirname(logFile), { recursive: true });
  mkdirSync(dirname(pidFilePath(spec.name, env)), { recursive: true });
  const out = openSync(logFile, 'a');
  writeFileSync(out, `\n==== ${new Date().toISOString()} ${[...(spec.wrapper ?? []), spec.program, ...spec.args].join(' ')}\n`);
  const [command, ...commandArgs] = [...(spec.wrapper ?? []), spec.program, ...spec.args];
  const child = spawn(command!, commandArgs, {
    cwd: spec.cwd,
    env: spec.env ?? env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new TestEnvError(`could not start ${spec.program}`, logFile);
  child.unref();
  writeFileSync(pidFilePath(spec.name, env), `${child.pid}\n${spec.program}\n`);
  return { pid: child.pid, logFile };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Stops a server `up` started: SIGTERM to it, then SIGKILL to its whole process group after it exits or `graceMs` passes.
 * Returns false when there was nothing of ours to stop.
 */
export async function stopDaemon(name: string, graceMs = 15_000, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const pid = runningDaemonPid(name, env);
  const path = pidFilePath(name, env);
  if (pid === undefined) {
    rmSync(path, { force: true });
    return false;
  }
  // The leader alone first, so it can shut its own children down in order (dockerd stops containers).
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  // Children in the group (containerd under dockerd, say) go too, even if the leader exited first.
  signalGroup(pid, 'SIGKILL');
  rmSync(path, { force: true });
  return true;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a short command and captures its output; never throws for a non-zero exit. */
export function runCommand(
  program: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout: '', stderr: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  });
}

/**
 * Runs a long step (a Go build, an apt install) with its output appended to a log file,
 * throwing with the log's path when it fails or outlives `timeoutMs`.
 */
export function runLoggedStep(
  what: string,
  program: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<void> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const out = openSync(options.logFile, 'a');
  writeFileSync(out, `\n==== ${new Date().toISOString()} ${program} ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', out, out] });
    closeSync(out);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new TestEnvError(`${what}: could not run ${program}: ${error.message}`, options.logFile));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else if (signal === 'SIGKILL') reject(new TestEnvError(`${what} took longer than ${options.timeoutMs} ms`, options.logFile));
      else reject(new TestEnvError(`${what} failed with exit code ${code}`, options.logFile));
    });
  });
}

/** Whether `program` can be found on PATH. */
export async function hasProgram(program: string): Promise<boolean> {
  const result = await runCommand('sh', ['-c', `command -v ${program}`]);
  return result.code === 0;
}
