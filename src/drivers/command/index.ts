// The `command` driver: run a local command as a probe (its exit code and output are observed) or as
// an action (setup, teardown, a custom fault; a non-zero exit fails it). Commands run in their own
// process group, so a timeout or an abort can end everything they started.
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import { defineDriver } from '../contract.js';
import type { ActionDefinition, DriverContext, Output, ProbeDefinition } from '../types.js';

/**
 * How long to wait for stdout/stderr to close once the command has exited. A command that leaves a
 * background process behind (`node server.mjs &`, a daemon) hands it our pipes, and they stay open as
 * long as it lives; after this grace we stop waiting and keep the result we have.
 */
export const PIPE_CLOSE_GRACE_MS = 200;
/** After SIGTERM to the process group on timeout or abort, how long before SIGKILL. */
const TERM_GRACE_MS = 1000;
/** After SIGKILL, the longest we wait for the exit to be reported before giving up on it. */
const KILL_WAIT_MS = 2000;

const commandArgs = z.strictObject({
  run: z
    .union([z.string().min(1), z.array(z.union([z.string(), z.number()]).transform(String)).min(1)])
    .meta({ description: 'A command line run by /bin/sh -c, or an argv list run directly without a shell (numbers in it are passed as text).' }),
  cwd: z.string().optional().meta({ description: 'Working directory, relative to the experiment file.' }),
  env: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .optional()
    .meta({ description: 'Environment variables, set over the inherited environment.' }),
  timeout: durationSchema
    .default(60_000)
    .meta({ description: 'Longest run (default 1m); then the whole process group is terminated.' }),
  maxOutput: z
    .int()
    .min(1)
    .default(1024 * 1024)
    .meta({ description: 'Bytes of stdout and of stderr kept, each (default 1 MiB); the end is kept.' }),
});
type CommandArgs = z.output<typeof commandArgs>;

export interface CommandOutput extends Output {
  /** null when the command did not exit on its own (killed by a signal, never started). */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  duration: number;
  timedOut: boolean;
  /** True when stdout or stderr was longer than maxOutput and only its end was kept. */
  truncated: boolean;
  error?: string;
}

/** Keeps the last `limit` bytes of a stream: a command's result and its errors are at the end. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
      this.truncated = true;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.limit) return all.toString('utf8');
    this.truncated = true;
    return all.subarray(all.length - this.limit).toString('utf8');
  }
}

export function describeCommand(run: string | string[]): string {
  return typeof run === 'string' ? run : run.map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(' ');
}

export async function runCommand(args: CommandArgs, ctx: DriverContext): Promise<CommandOutput> {
  const cwd = resolvePath(ctx.cwd, args.cwd ?? '.');
  const cwdStat = await stat(cwd).catch(() => undefined);
  if (!cwdStat?.isDirectory()) {
    throw new FaultlineError('E_DRIVER', `command working directory ${cwd} does not exist`, {
      hint: 'cwd is relative to the experiment file; check the path',
    });
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;

  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.env)) if (value !== undefined) env[name] = value;
  Object.assign(env, args.env);

  const [file, argv] = typeof args.run === 'string' ? ['/bin/sh', ['-c', args.run]] : [args.run[0]!, args.run.slice(1)];
  const started = performance.now();
  // detached: the command leads a new process group, so one kill(-pgid) reaches everything it started.
  const child = spawn(file, argv, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = new OutputTail(args.maxOutput);
  const stderr = new OutputTail(args.maxOutput);
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

  let timedOut = false;
  let aborted = false;
  let termTimer: NodeJS.Timeout | undefined;
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    signalGroup(child.pid, 'SIGTERM');
    termTimer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), TERM_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    ctx.log(`command timed out after ${formatDuration(args.timeout)}; terminating process group ${child.pid}`);
    killGroup();
  }, args.timeout);
  const onAbort = (): void => {
    aborted = true;
    killGroup();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  const ending = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((settle) => {
    let exited = false;
    child.on('error', (error) => {
      // 'error' without a pid means the command never started; with one, a later kill failed and 'exit' still follows.
      if (child.pid === undefined) settle({ code: null, signal: null, spawnError: error });
    });
    child.once('exit', (code, signal) => {
      exited = true;
      const afterGrace = setTimeout(() => {
        // A background process still holds our pipes. Keep draining them so its writes never fail with
        // EPIPE (which would kill it), but stop them holding faultline's event loop open.
        for (const pipe of [child.stdout, child.stderr]) (pipe as Partial<Socket>).unref?.();
        settle({ code, signal });
      }, PIPE_CLOSE_GRACE_MS);
      child.once('close', () => {
        clearTimeout(afterGrace);
        settle({ code, signal });
      });
    });
    // Bounded even if the kernel never reports the exit (a process stuck in uninterruptible sleep).
    const giveUp = (): void => {
      setTimeout(() => {
        if (!exited) settle({ code: null, signal: null, spawnError: new Error(`process group ${child.pid} did not exit after SIGKILL`) });
      }, TERM_GRACE_MS + KILL_WAIT_MS).unref();
    };
    ctx.signal.addEventListener('abort', giveUp, { once: true });
    setTimeout(giveUp, args.timeout).unref();
  });
  clearTimeout(timer);
  clearTimeout(termTimer);
  ctx.signal.removeEventListener('abort', onAbort);
  if (aborted) throw ctx.signal.reason ?? new FaultlineError('E_DRIVER', 'command aborted');

  const output: CommandOutput = {
    exitCode: ending.code,
    signal: ending.signal,
    stdout: stdout.text(),
    stderr: stderr.text(),
    duration: Math.round(performance.now() - started),
    timedOut,
    truncated: stdout.truncated || stderr.truncated,
  };
  if (timedOut) output.error = `timed out after ${formatDuration(args.timeout)}; process group ${child.pid} was terminated`;
  else if (ending.spawnError) output.error = describeSpawnError(ending.spawnError, args.run);
  return output;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

function describeSpawnError(error: Error, run: string | string[]): string {
  const code = (error as NodeJS.ErrnoException).code;
  const program = typeof run === 'string' ? '/bin/sh' : run[0];
  if (code === 'ENOENT') return `command not found: ${program}`;
  if (code === 'EACCES') return `permission denied: ${program}`;
  return error.message;
}

/** The end of stderr (or stdout when stderr is empty), enough to say why a command failed. */
function outputTail(output: CommandOutput, lines = 10): string {
  const text = (output.stderr.trim() || output.stdout.trim()).split('\n').slice(-lines).join('\n');
  return text.length > 2000 ? `…${text.slice(-2000)}` : text;
}

function failureOf(output: CommandOutput, args: CommandArgs, cwd: string): FaultlineError | undefined {
  const shown = describeCommand(args.run);
  const tail = outputTail(output);
  const withTail = (message: string): string => (tail ? `${message}:\n${tail}` : message);
  if (output.timedOut) {
    return new FaultlineError('E_DRIVER', withTail(`command "${shown}" ${output.error}`), {
      hint: `raise its timeout (now ${formatDuration(args.timeout)}) or make it finish sooner`,
    });
  }
  if (output.error) {
    return new FaultlineError('E_DRIVER', `command "${shown}" could not start: ${output.error}`, {
      hint: 'check the program name and PATH, or give an absolute path',
    });
  }
  if (output.exitCode === 0) return undefined;
  const how = output.exitCode === null ? `was killed by ${output.signal}` : `exited with code ${output.exitCode}`;
  const hint =
    output.exitCode === 127
      ? 'the shell could not find the program; check its name and PATH'
      : `run it by hand in ${cwd} to see its whole output`;
  return new FaultlineError('E_DRIVER', withTail(`command "${shown}" ${how}`), { hint });
}

const outputs = {
  exitCode: 'exit code, or null when killed by a signal or not started',
  signal: 'the signal that ended it, or null',
  stdout: 'standard output (the last maxOutput bytes)',
  stderr: 'standard error (the last maxOutput bytes)',
  duration: 'milliseconds from start to exit',
  timedOut: 'true when the timeout ended it',
  truncated: 'true when output was cut to maxOutput',
  error: 'why it did not run to completion: not found, timed out',
};

const runProbe: ProbeDefinition<CommandArgs> = {
  description: 'Run a command and observe its exit code and output.',
  args: commandArgs,
  outputs,
  defaultExpect: { exitCode: 0 },
  run: (args, ctx) => runCommand(args, ctx),
};

const runAction: ActionDefinition<CommandArgs> = {
  description: 'Run a command; a non-zero exit fails the action. Nothing undoes it: pair it with a rollback if needed.',
  args: commandArgs,
  reversible: false,
  async prepare(args, ctx) {
    const cwd = resolvePath(ctx.cwd, args.cwd ?? '.');
    return { targets: [`command ${describeCommand(args.run)} (in ${cwd})`], undo: null };
  },
  async apply(args, _prepared, ctx) {
    const output = await runCommand(args, ctx);
    const failure = failureOf(output, args, resolvePath(ctx.cwd, args.cwd ?? '.'));
    if (failure) throw failure;
    return output;
  },
};

export const commandDriver = defineDriver({
  name: 'command',
  description: 'Local commands as probes (exit code, output) and as actions (setup, teardown, custom faults).',
  defaultProbe: 'run',
  defaultAction: 'run',
  actions: { run: runAction },
  probes: { run: runProbe },
  undos: {},
});
