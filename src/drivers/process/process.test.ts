import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultlineError } from '../../core/errors.js';
import type { ActionDefinition, DriverContext } from '../types.js';
import { processDriver, readProcStat } from './index.js';
import { testDriverContext } from '../../../test/support/driver-context.js';

let dir: string;
const children: ChildProcess[] = [];

function testContext(target?: unknown): DriverContext {
  return testDriverContext({ cwd: dir, env: {}, target });
}

function startIdle(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['-e', "require('http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', () => reject(new Error('server exited')));
  });
  return { child, port };
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
}

async function prepareAndApply(name: 'kill' | 'stop' | 'signal', args: Record<string, unknown>, ctx = testContext()) {
  // The three actions differ in argument types; the test hands each its own parsed args.
  const action: ActionDefinition = processDriver.actions[name];
  const parsed = action.args.parse(args);
  const prepared = await action.prepare(parsed, ctx);
  return { prepared, output: await action.apply(parsed, prepared, ctx) };
}

const running = (args: Record<string, unknown>, ctx = testContext()) =>
  processDriver.probes.running.run(processDriver.probes.running.args.parse(args), ctx);
const continueUndo = (args: Record<string, unknown>) =>
  processDriver.undos.continue.run(processDriver.undos.continue.args.parse(args), testContext());

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-process-'));
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('process.stop and its undo', () => {
  it('stops the process, and continue brings it back; continuing twice is harmless', async () => {
    const child = startIdle();
    const { prepared, output } = await prepareAndApply('stop', { pid: child.pid });
    expect(output).toMatchObject({ pid: child.pid, state: 'T' });
    expect(prepared.undo).toEqual({ driver: 'process', op: 'continue', args: { pid: child.pid, startTime: expect.any(Number) } });
    expect(await running({ pid: child.pid })).toMatchObject({ running: false, pid: child.pid, state: 'T' });

    await continueUndo(prepared.undo!.args);
    await continueUndo(prepared.undo!.args);
    const after = await running({ pid: child.pid });
    expect(after.running).toBe(true);
    expect(after.state).not.toBe('T');
  });

  it('never signals a pid whose start time differs (a recycled pid)', async () => {
    const child = startIdle();
    const { prepared } = await prepareAndApply('stop', { pid: child.pid });
    const startTime = prepared.undo!.args.startTime as number;
    await continueUndo({ pid: child.pid, startTime: startTime + 1 });
    expect((await readProcStat(child.pid!))?.state).toBe('T');
    await continueUndo({ pid: child.pid, startTime });
    expect((await readProcStat(child.pid!))?.state).not.toBe('T');
  });

  it('treats continue of a process that has exited as done', async () => {
    const child = startIdle();
    const { prepared } = await prepareAndApply('stop', { pid: child.pid });
    child.kill('SIGKILL');
    await exitOf(child);
    await expect(continueUndo(prepared.undo!.args)).resolves.toBeUndefined();
  });

  it('prepare signals nothing', async () => {
    const child = startIdle();
    const prepared = await processDriver.actions.stop.prepare(processDriver.actions.stop.args.parse({ pid: child.pid }), testContext());
    expect(prepared.targets[0]).toMatch(new RegExp(`^pid ${child.pid} \\(.*setInterval`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await readProcStat(child.pid!))?.state).not.toBe('T');
  });

  it('does not apply to a process that exited after prepare', async () => {
    const child = startIdle();
    const action = processDriver.actions.stop;
    const args = action.args.parse({ pid: child.pid });
    const prepared = await action.prepare(args, testContext());
    child.kill('SIGKILL');
    await exitOf(child);
    await expect(action.apply(args, prepared, testContext())).rejects.toThrow(/exited before SIGSTOP could be sent/);
  });
});

describe('process.kill and process.signal', () => {
  it('kills with SIGKILL by default and reports the pid and command line', async () => {
    const child = startIdle();
    const { prepared, output } = await prepareAndApply('kill', { pid: child.pid });
    expect(prepared.undo).toBeNull();
    expect(processDriver.actions.kill.reversible).toBe(false);
    expect(output).toMatchObject({ pid: child.pid, signal: 'SIGKILL', exited: true });
    expect(output.command).toContain('setInterval');
    expect(await exitOf(child)).toBe('SIGKILL');
  });

  it('sends the signal asked for, written any common way', async () => {
    const child = startIdle();
    const { output } = await prepareAndApply('signal', { pid: child.pid, signal: 'term' });
    expect(output.signal).toBe('SIGTERM');
    expect(await exitOf(child)).toBe('SIGTERM');
    expect(processDriver.actions.kill.args.parse({ pid: 5, signal: 15 }).signal).toBe('SIGTERM');
  });

  it('refuses init, faultline itself and its parent', async () => {
    for (const pid of [1, process.pid, process.ppid]) {
      const error = await processDriver.actions.kill
        .prepare(processDriver.actions.kill.args.parse({ pid }), testContext())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FaultlineError);
      expect((error as FaultlineError).message).toMatch(new RegExp(`^refusing to signal pid ${pid}: `));
    }
  });

  it('honours the command allow-list in targets.process', async () => {
    const child = startIdle();
    const kill = processDriver.actions.kill;
    const args = kill.args.parse({ pid: child.pid });
    await expect(kill.prepare(args, testContext({ commands: ['^/usr/sbin/nginx'] }))).rejects.toMatchObject({ code: 'E_PREFLIGHT' });
    await expect(kill.prepare(args, testContext({ commands: ['setInterval'] }))).resolves.toMatchObject({ undo: null });
    expect(processDriver.target!.safeParse({ commands: ['('] }).success).toBe(false);
  });
});

describe('targeting', () => {
  it('reads the pidfile at prepare time, so a restarted process is found', async () => {
    const first = startIdle();
    const second = startIdle();
    await writeFile(join(dir, 'app.pid'), `${first.pid}\n`);
    const action = processDriver.actions.stop;
    const args = action.args.parse({ pidfile: 'app.pid' });
    expect((await action.prepare(args, testContext())).undo!.args.pid).toBe(first.pid);
    await writeFile(join(dir, 'app.pid'), `${second.pid}\n`);
    const prepared = await action.prepare(args, testContext());
    expect(prepared.undo!.args.pid).toBe(second.pid);
    expect(prepared.targets[0]).toContain('from app.pid');
  });

  it('explains a missing or garbled pidfile', async () => {
    const action = processDriver.actions.kill;
    await expect(action.prepare(action.args.parse({ pidfile: 'missing.pid' }), testContext())).rejects.toThrow(/cannot read pidfile .*missing\.pid: ENOENT/);
    await writeFile(join(dir, 'bad.pid'), 'hello');
    await expect(action.prepare(action.args.parse({ pidfile: 'bad.pid' }), testContext())).rejects.toThrow(/does not hold a pid: "hello"/);
  });

  it('finds the process listening on a port', async () => {
    const { child, port } = await startServer();
    const prepared = await processDriver.actions.stop.prepare(processDriver.actions.stop.args.parse({ port }), testContext());
    expect(prepared.undo!.args.pid).toBe(child.pid);
    expect(prepared.targets[0]).toContain(`listening on port ${port}`);
    expect(await running({ port })).toMatchObject({ running: true, pid: child.pid });
  });

  it('reports a port nobody listens on', async () => {
    const { child, port } = await startServer();
    child.kill('SIGKILL');
    await exitOf(child);
    expect(await running({ port })).toMatchObject({ running: false, pid: null, state: null });
    await expect(processDriver.actions.kill.prepare(processDriver.actions.kill.args.parse({ port }), testContext())).rejects.toThrow(
      `nothing is listening on port ${port}`,
    );
  });

  it('says running is false for a pid that does not exist', async () => {
    const child = startIdle();
    const pid = child.pid!;
    child.kill('SIGKILL');
    await exitOf(child);
    expect(await running({ pid })).toMatchObject({ running: false, pid, state: null });
  });

  it('needs exactly one way to name the process', () => {
    const args = processDriver.actions.kill.args;
    expect(args.safeParse({}).success).toBe(false);
    expect(args.safeParse({ pid: 5, port: 80 }).error?.issues[0]?.message).toBe('name the process by one of pid, pidfile or port, not pid and port');
    expect(processDriver.actions.signal.args.safeParse({ pid: 5, signal: 'STOP' }).success).toBe(false);
    expect(processDriver.actions.signal.args.safeParse({ pid: 5, signal: 'SIGNOPE' }).success).toBe(false);
  });
});
