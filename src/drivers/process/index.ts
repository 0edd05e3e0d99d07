// The `process` driver: faults on local processes (kill, stop/continue, any signal) and a probe for
// whether one is running. Targets are found by pid, pidfile or listening port through Linux /proc, and
// every signal is checked against the process's start time so a recycled pid is never hit.
import { constants as osConstants } from 'node:os';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import { isValidPattern } from '../selection.js';
import { defineDriver } from '../contract.js';
import type { ActionDefinition, DriverContext, PreparedAction, ProbeDefinition, UndoDefinition } from '../types.js';
import { judgeProcessReach, processKillEffect, readProcessSockets, STOPPED_EFFECT } from './reach.js';

/** A process as it was when prepared: pid plus start time is an identity a recycled pid cannot fake. */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot at which the process started. */
  startTime: number;
  command: string;
  /** How it was found, for the plan: `listening on port 8080`. */
  via?: string;
}

interface ProcStat {
  state: string;
  startTime: number;
}

/** Bounds on the polls after a signal: 25 ms steps, at most this many. */
const POLL_STEP_MS = 25;
const STOP_POLLS = 40;
const EXIT_POLLS = 80;

const targetShape = {
  pid: z.int().positive().optional().meta({ description: 'Process id.' }),
  pidfile: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'File holding the pid, relative to the experiment file; read again each time, so a restarted process is found.' }),
  port: z.int().min(1).max(65_535).optional().meta({ description: 'The process listening on this TCP port on 127.0.0.1 or ::1 (Linux).' }),
};
type TargetArgs = { pid?: number | undefined; pidfile?: string | undefined; port?: number | undefined };

function requireOneTarget(args: TargetArgs, ctx: z.RefinementCtx): void {
  const given = (['pid', 'pidfile', 'port'] as const).filter((key) => args[key] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: given.length === 0 ? 'name the process by one of pid, pidfile or port' : `name the process by one of pid, pidfile or port, not ${given.join(' and ')}`,
    });
  }
}

/** Accepts SIGKILL, KILL, kill or 9; yields the canonical name. */
export const signalSchema = z.union([z.string(), z.int()]).transform((value, ctx) => {
  const signals = osConstants.signals as Record<string, number>;
  if (typeof value === 'number') {
    const name = Object.keys(signals).find((key) => signals[key] === value);
    if (name) return name as NodeJS.Signals;
  } else {
    const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
    if (name in signals) return name as NodeJS.Signals;
  }
  ctx.addIssue({ code: 'custom', message: `unknown signal "${value}"; expected a name like SIGTERM or a number` });
  return z.NEVER;
});

const targetArgs = z.strictObject(targetShape).superRefine(requireOneTarget);
const killArgs = z
  .strictObject({ ...targetShape, signal: signalSchema.default('SIGKILL').meta({ description: 'Signal to send; default SIGKILL.' }) })
  .superRefine(requireOneTarget);
const signalArgs = z
  .strictObject({ ...targetShape, signal: signalSchema.meta({ description: 'Signal to send, e.g. SIGTERM, SIGHUP, SIGUSR1.' }) })
  .superRefine(requireOneTarget)
  .superRefine((args, ctx) => {
    // A stop through `signal` would have no undo and leave the process frozen after the run.
    if (args.signal === 'SIGSTOP' || args.signal === 'SIGTSTP') {
      ctx.addIssue({ code: 'custom', path: ['signal'], message: `use process.stop for ${args.signal}: it is continued afterwards` });
    }
  });
const continueArgs = z.strictObject({ pid: z.int().positive(), startTime: z.int().nonnegative() });

const targetSettings = z
  .strictObject({
    commands: z
      .array(z.string().refine(isValidPattern, 'expected a regular expression'))
      .optional()
      .meta({ description: 'Regular expressions; a process is touched only when its command line matches one.' }),
  })
  .meta({ description: 'What the process driver may touch.' });
type ProcessTarget = z.output<typeof targetSettings>;
/** What the process driver's entries get: its parsed targets; it keeps nothing for a run. */
type ProcessContext = DriverContext<ProcessTarget, undefined>;

function requireLinux(): void {
  if (process.platform !== 'linux') {
    throw new FaultlineError('E_DRIVER', `the process driver reads /proc and works on Linux only (this is ${process.platform})`, {
      hint: 'run the experiment on Linux, or use the command driver with kill(1) here',
    });
  }
}

/** State and start time from /proc/<pid>/stat, or undefined when there is no such process. */
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isInteger(startTime)) return undefined;
  return { state, startTime };
}

async function readCommandLine(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const command = raw.split('\0').filter(Boolean).join(' ');
  if (command) return command.length > 200 ? `${command.slice(0, 200)}…` : command;
  // Kernel threads and zombies have no cmdline; their name is in comm.
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?');
  return `[${comm.trim()}]`;
}

function isGone(stat: ProcStat | undefined): boolean {
  return stat === undefined || stat.state === 'Z' || stat.state === 'X' || stat.state === 'x';
}

function isStopped(stat: ProcStat | undefined): boolean {
  return stat?.state === 'T' || stat?.state === 't';
}

/** 127.0.0.0/8, ::1, the wildcards, and IPv4-mapped loopback: every listener a local client can reach. */
function acceptsLoopback(hexAddress: string): boolean {
  const address = hexAddress.toUpperCase();
  if (/^0+$/.test(address)) return true;
  // /proc/net/tcp prints each 32-bit word in host (little-endian) order, so 127.x.y.z ends in 7F.
  if (address.length === 8) return address.endsWith('7F');
  if (address === '00000000000000000000000001000000') return true;
  return address.startsWith('0000000000000000FFFF0000') && (address.endsWith('7F') || address.endsWith('00000000'));
}

/** Socket inodes of the TCP listeners on a port, from /proc/net/tcp and tcp6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      const [address, portHex] = (columns[1] ?? '').split(':');
      const listening = columns[3] === '0A';
      if (!listening || address === undefined || portHex === undefined || parseInt(portHex, 16) !== port) continue;
      if (acceptsLoopback(address) && columns[9] && columns[9] !== '0') inodes.add(columns[9]);
    }
  }
  return inodes;
}

/** Pids holding one of the socket inodes open, found through the /proc/<pid>/fd links. */
async function pidsHoldingSockets(inodes: Set<string>): Promise<number[]> {
  const wanted = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  const pids: number[] = [];
  const entries = await readdir('/proc');
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    // Other users' fd folders are unreadable without privileges; those processes are skipped.
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/${entry}/fd/${fd}`).catch(() => '')));
    if (links.some((link) => wanted.has(link))) pids.push(Number(entry));
  }
  return pids;
}

export async function findPidListeningOn(port: number): Promise<number> {
  requireLinux();
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) {
    throw new FaultlineError('E_DRIVER', `nothing is listening on port ${port} on 127.0.0.1 or ::1`, {
      hint: 'is the process started, and listening on a loopback or wildcard address?',
    });
  }
  const pids = await pidsHoldingSockets(inodes);
  if (pids.length === 0) {
    throw new FaultlineError('E_DRIVER', `a socket listens on port ${port}, but no process we can see holds it`, {
      hint: 'it may belong to another user or another container; target it by pid or pidfile',
    });
  }
  if (pids.length > 1) {
    const described = await Promise.all(pids.map(async (pid) => `${pid} (${await readCommandLine(pid)})`));
    throw new FaultlineError('E_DRIVER', `several processes share the listener on port ${port}: ${described.join(', ')}`, {
      hint: 'name the one to hit by pid or pidfile',
    });
  }
  return pids[0]!;
}

async function readPidfile(path: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new FaultlineError('E_DRIVER', `cannot read pidfile ${path}: ${error.code ?? error.message}`, {
      hint: 'is the process started? pidfile paths are relative to the experiment file',
      cause: error,
    });
  });
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) <= 0) {
    throw new FaultlineError('E_DRIVER', `pidfile ${path} does not hold a pid: ${JSON.stringify(trimmed.slice(0, 40))}`);
  }
  return Number(trimmed);
}

async function resolvePid(args: TargetArgs, ctx: ProcessContext): Promise<{ pid: number; via?: string }> {
  requireLinux();
  if (args.pid !== undefined) return { pid: args.pid };
  if (args.pidfile !== undefined) {
    const path = resolvePath(ctx.cwd, args.pidfile);
    return { pid: await readPidfile(path), via: `from ${args.pidfile}` };
  }
  if (args.port !== undefined) return { pid: await findPidListeningOn(args.port), via: `listening on port ${args.port}` };
  throw new FaultlineError('E_INPUT', 'name the process by one of pid, pidfile or port');
}

/** Refuses the processes whose loss would take down the machine or faultline itself. */
function refuseProtectedPid(pid: number): void {
  const why =
    pid === 1 ? 'it is init (pid 1)' : pid === process.pid ? 'it is faultline itself' : pid === process.ppid ? "it is faultline's parent" : undefined;
  if (why) {
    throw new FaultlineError('E_DRIVER', `refusing to signal pid ${pid}: ${why}`, { hint: 'check the pid, pidfile or port of the target' });
  }
}

function checkAllowList(identity: ProcessIdentity, target: ProcessTarget | undefined): void {
  const commands = target?.commands;
  if (!commands) return;
  if (commands.some((pattern) => new RegExp(pattern).test(identity.command))) return;
  throw new FaultlineError('E_PREFLIGHT', `pid ${identity.pid} (${identity.command}) is not allowed by targets.process.commands`, {
    hint: `allowed command lines match: ${commands.map((c) => `/${c}/`).join(', ')}`,
  });
}

/** Finds the target now, without touching it: what prepare() and the probe build on. */
export async function identifyProcess(args: TargetArgs, ctx: ProcessContext): Promise<ProcessIdentity> {
  const { pid, via } = await resolvePid(args, ctx);
  const stat = await readProcStat(pid);
  if (isGone(stat)) {
    throw new FaultlineError('E_DRIVER', `no running process with pid ${pid}${via ? ` (${via})` : ''}`, {
      hint: args.pidfile ? 'the pidfile may be stale: is the process started?' : 'is the process started?',
    });
  }
  const identity: ProcessIdentity = { pid, startTime: stat!.startTime, command: await readCommandLine(pid) };
  if (via) identity.via = via;
  return identity;
}

function describeProcess(identity: ProcessIdentity): string {
  return `pid ${identity.pid} (${identity.command})${identity.via ? `, ${identity.via}` : ''}`;
}

async function prepareTarget(args: TargetArgs, ctx: ProcessContext): Promise<ProcessIdentity> {
  const identity = await identifyProcess(args, ctx);
  refuseProtectedPid(identity.pid);
  checkAllowList(identity, ctx.target);
  return identity;
}

/** Sends a signal only if the pid still names the process that was prepared. */
async function signalIdentity(identity: ProcessIdentity, signal: NodeJS.Signals): Promise<void> {
  refuseProtectedPid(identity.pid);
  const stat = await readProcStat(identity.pid);
  if (isGone(stat) || stat!.startTime !== identity.startTime) {
    throw new FaultlineError('E_DRIVER', `pid ${identity.pid} (${identity.command}) exited before ${signal} could be sent`, {
      hint: 'the target restarted or died between planning and the fault',
    });
  }
  try {
    process.kill(identity.pid, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FaultlineError('E_DRIVER', `cannot send ${signal} to pid ${identity.pid}: ${code ?? String(error)}`, {
      hint: code === 'EPERM' ? 'the process belongs to another user; run faultline as that user' : undefined,
      cause: error,
    });
  }
}

/** Polls /proc until `done` holds for the process, at most `polls` times; true when it did. */
async function waitForState(pid: number, polls: number, done: (stat: ProcStat | undefined) => boolean): Promise<boolean> {
  for (let i = 0; i < polls; i++) {
    if (done(await readProcStat(pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_STEP_MS));
  }
  return done(await readProcStat(pid));
}

function identityOf(prepared: PreparedAction<ProcessIdentity>): ProcessIdentity {
  return prepared.state;
}

/**
 * Just before the instant: the pid, pidfile or port still leads to the very process prepared (same pid,
 * same start time). A restarted target (a new pid in the pidfile) or a gone one is prepared again.
 */
async function recheckIdentity(args: TargetArgs, prepared: PreparedAction<ProcessIdentity>, ctx: ProcessContext): Promise<boolean> {
  const before = identityOf(prepared);
  const now = await identifyProcess(args, ctx).catch(() => undefined);
  return now !== undefined && now.pid === before.pid && now.startTime === before.startTime;
}

type KillArgs = z.output<typeof killArgs>;
type SignalArgs = z.output<typeof signalArgs>;
type TargetOnlyArgs = z.output<typeof targetArgs>;

/** For kill and signal: the target is resolved and checked, and there is nothing to undo. */
async function prepareWithoutUndo(args: TargetOnlyArgs, ctx: ProcessContext) {
  const identity = await prepareTarget(args, ctx);
  return { targets: [describeProcess(identity)], undo: null, state: identity };
}

const kill: ActionDefinition<KillArgs, ProcessIdentity, ProcessContext> = {
  description: 'Kill a process (SIGKILL unless told otherwise). Nothing undoes it: recovery is judged by probes.',
  args: killArgs,
  reversible: false,
  prepare: prepareWithoutUndo,
  recheck: recheckIdentity,
  effect: (args) => processKillEffect(args.signal),
  readReach: (_args, prepared) => readProcessSockets(identityOf(prepared).pid),
  judgeReach: (args, readings) => judgeProcessReach(args.signal === 'SIGKILL' ? 'kill' : args.signal, readings),
  async apply(args, prepared, ctx) {
    const identity = identityOf(prepared);
    await signalIdentity(identity, args.signal);
    // A zombie counts as gone: its parent, not us, decides when it is reaped.
    const exited = await waitForState(identity.pid, EXIT_POLLS, (stat) => isGone(stat) || stat!.startTime !== identity.startTime);
    ctx.log(`sent ${args.signal} to ${describeProcess(identity)}${exited ? '; it exited' : '; it is still running'}`);
    return { pid: identity.pid, command: identity.command, signal: args.signal, exited };
  },
};

const stop: ActionDefinition<TargetOnlyArgs, ProcessIdentity, ProcessContext> = {
  description: 'Freeze a process with SIGSTOP (it holds its sockets but answers nothing); undone with SIGCONT.',
  args: targetArgs,
  reversible: true,
  async prepare(args, ctx) {
    const identity = await prepareTarget(args, ctx);
    return {
      targets: [describeProcess(identity)],
      undo: { driver: 'process', op: 'continue', args: { pid: identity.pid, startTime: identity.startTime } },
      state: identity,
    };
  },
  recheck: recheckIdentity,
  effect: () => STOPPED_EFFECT,
  readReach: (_args, prepared) => readProcessSockets(identityOf(prepared).pid),
  judgeReach: (_args, readings) => judgeProcessReach('stop', readings),
  async apply(_args, prepared, ctx) {
    const identity = identityOf(prepared);
    await signalIdentity(identity, 'SIGSTOP');
    const stopped = await waitForState(identity.pid, STOP_POLLS, isStopped);
    const state = (await readProcStat(identity.pid))?.state ?? null;
    ctx.log(`stopped ${describeProcess(identity)}${stopped ? '' : ` (state is ${state}, not T yet)`}`);
    return { pid: identity.pid, command: identity.command, state };
  },
};

const signal: ActionDefinition<SignalArgs, ProcessIdentity, ProcessContext> = {
  description: 'Send any signal (SIGTERM, SIGHUP, SIGUSR1 …); nothing undoes it. For SIGSTOP use process.stop.',
  args: signalArgs,
  reversible: false,
  prepare: prepareWithoutUndo,
  recheck: recheckIdentity,
  async apply(args, prepared) {
    const identity = identityOf(prepared);
    await signalIdentity(identity, args.signal);
    return { pid: identity.pid, command: identity.command, signal: args.signal };
  },
};

const continueUndo: UndoDefinition<z.output<typeof continueArgs>, ProcessContext> = {
  args: continueArgs,
  async run(args, ctx) {
    requireLinux();
    refuseProtectedPid(args.pid);
    const stat = await readProcStat(args.pid);
    if (isGone(stat)) {
      ctx.log(`pid ${args.pid} is gone; nothing to continue`);
      return;
    }
    if (stat!.startTime !== args.startTime) {
      ctx.log(`pid ${args.pid} now belongs to another process; not signalling it`);
      return;
    }
    try {
      process.kill(args.pid, 'SIGCONT');
    } catch (error) {
      // It exited between the check and the signal: nothing left to continue.
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
      throw new FaultlineError('E_DRIVER', `cannot send SIGCONT to pid ${args.pid}: ${(error as Error).message}`, {
        hint: `continue it by hand: kill -CONT ${args.pid}`,
        cause: error,
      });
    }
  },
};

const running: ProbeDefinition<TargetOnlyArgs, ProcessContext> = {
  description: 'Is the process there and running (not stopped, not exited)?',
  args: targetArgs,
  outputs: {
    running: 'true when the process exists and is neither stopped nor a zombie',
    pid: 'the pid found, or null when the pidfile or port led nowhere',
    state: "the state letter from /proc/<pid>/stat: R running, S sleeping, T stopped, Z zombie; null when gone",
    command: 'its command line',
    error: 'why no process was found',
  },
  defaultExpect: { running: true },
  async run(args, ctx) {
    let pid: number;
    try {
      pid = (await resolvePid(args, ctx)).pid;
    } catch (error) {
      // "Nothing listens on the port" is exactly what this probe exists to observe; only non-Linux is a real error.
      if (process.platform !== 'linux') throw error;
      return { running: false, pid: null, state: null, error: (error as Error).message };
    }
    const stat = await readProcStat(pid);
    if (stat === undefined) return { running: false, pid, state: null, error: `no process with pid ${pid}` };
    return { running: !isGone(stat) && !isStopped(stat), pid, state: stat.state, command: await readCommandLine(pid) };
  },
};

export const processDriver = defineDriver({
  name: 'process',
  description: 'Local processes: kill, stop/continue or signal them by pid, pidfile or listening port (Linux).',
  target: targetSettings,
  async preflight() {
    requireLinux();
  },
  defaultProbe: 'running',
  actions: { kill, stop, signal },
  probes: { running },
  undos: { continue: continueUndo },
});
