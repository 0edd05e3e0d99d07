// Runs the built CLI as a user would: a real process, real exit codes, real signals.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO_ROOT, 'bin', 'faultline.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface StartedCli {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  done: Promise<CliResult>;
}

export function startCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): StartedCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    // GITHUB_STEP_SUMMARY is dropped unless a test sets it: runs of these tests in GitHub Actions
    // must not fill the job summary with the summaries of the experiments the tests run.
    env: { ...process.env, GITHUB_STEP_SUMMARY: undefined, NO_COLOR: '1', CI: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, output: () => ({ stdout, stderr }), done };
}

export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Polls a condition until it holds; bounded in time so a broken test fails instead of hanging. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 50): Promise<void> {
  await eventually(what, async () => ((await condition()) ? true : undefined), timeoutMs, everyMs);
}

/** Polls until `check` returns a value, at most `timeoutMs` (and so a bounded number of times). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 45_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt <= timeoutMs / everyMs && Date.now() < deadline; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The state letter of a Linux process (R, S, T for stopped, Z), or undefined once it is gone. */
export async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
