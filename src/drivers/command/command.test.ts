import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultlineError } from '../../core/errors.js';
import { checkExpectations } from '../../engine/tolerance.js';
import type { DriverContext } from '../types.js';
import { commandDriver } from './index.js';
import { testDriverContext } from '../../../test/support/driver-context.js';

let dir: string;
const leftovers: number[] = [];

function testContext(signal = new AbortController().signal): DriverContext {
  return testDriverContext({ cwd: dir, env: { PATH: process.env.PATH, HOME_FROM_CTX: 'ctx' }, signal });
}

const probe = commandDriver.probes.run;
const action = commandDriver.actions.run;
const runProbe = (args: Record<string, unknown>, ctx = testContext()) => probe.run(probe.args.parse(args), ctx);
async function runAction(args: Record<string, unknown>, ctx = testContext()) {
  const parsed = action.args.parse(args);
  return action.apply(parsed, await action.prepare(parsed, ctx), ctx);
}

/** Alive and not a zombie, per /proc: a killed grandchild lingers as a zombie until init reaps it. */
async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function waitUntilDead(pid: number, withinMs: number): Promise<boolean> {
  for (let i = 0; i < withinMs / 25; i++) {
    if (!(await isAlive(pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-command-'));
  await mkdir(join(dir, 'sub'));
});

afterAll(async () => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('command.run probe', () => {
  it('reports exit code, output and duration, and passes the default tolerance on 0', async () => {
    const output = await runProbe({ run: 'echo hello; echo oops >&2' });
    expect(output).toMatchObject({ exitCode: 0, signal: null, stdout: 'hello\n', stderr: 'oops\n', timedOut: false, truncated: false });
    expect(output.duration).toBeGreaterThanOrEqual(0);
    expect(checkExpectations(output, probe.defaultExpect as never)).toEqual([]);
  });

  it('reports a non-zero exit as output for the tolerances', async () => {
    const output = await runProbe({ run: 'exit 3' });
    expect(output.exitCode).toBe(3);
    expect(checkExpectations(output, probe.defaultExpect as never).map((m) => m.message)).toEqual(['exitCode: expected 0, got 3']);
  });

  it('runs an argv list without a shell', async () => {
    const output = await runProbe({ run: [process.execPath, '-e', 'console.log(process.argv[1])', 'a b; echo injected'] });
    expect(output.stdout).toBe('a b; echo injected\n');
  });

  it('runs in cwd relative to the context, with env merged over the context env', async () => {
    const output = await runProbe({ run: 'pwd; echo "$GREETING $HOME_FROM_CTX"', cwd: 'sub', env: { GREETING: 'hi', N: 3 } });
    expect(output.stdout).toBe(`${join(dir, 'sub')}\nhi ctx\n`);
  });

  it('refuses a working directory that does not exist', async () => {
    await expect(runProbe({ run: 'true', cwd: 'nowhere' })).rejects.toThrow(/working directory .*nowhere does not exist/);
  });

  it('reports a program that is not found', async () => {
    const output = await runProbe({ run: ['definitely-not-a-program-xyz'] });
    expect(output).toMatchObject({ exitCode: null, error: 'command not found: definitely-not-a-program-xyz' });
  });

  it('keeps only the end of long output', async () => {
    const output = await runProbe({ run: "head -c 100000 /dev/zero | tr '\\0' x; echo END", maxOutput: 1000 });
    expect(output.truncated).toBe(true);
    expect((output.stdout as string).length).toBe(1000);
    expect(output.stdout).toMatch(/x+END\n$/);
  });

  it('on timeout terminates the whole process group and reports it', async () => {
    const started = Date.now();
    // `wait` keeps the shell alive on the sleep; both must die, not only the shell.
    const output = await runProbe({ run: 'sleep 30 & echo $!; wait', timeout: '300ms' });
    const sleeper = Number((output.stdout as string).trim());
    leftovers.push(sleeper);
    expect(Date.now() - started).toBeLessThan(30_000); // not the sleep's 30 s
    expect(output).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGTERM' });
    expect(output.error).toMatch(/^timed out after 300ms; process group \d+ was terminated$/);
    expect(await waitUntilDead(sleeper, 2000)).toBe(true);
  });

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const output = await runProbe({ run: "trap '' TERM; sleep 30", timeout: '200ms' });
    expect(output).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
  });

  it('on abort kills the group and throws the abort reason', async () => {
    const controller = new AbortController();
    const pending = runProbe({ run: 'echo $$; sleep 30' }, testContext(controller.signal));
    setTimeout(() => controller.abort(new Error('run stopped')), 200);
    await expect(pending).rejects.toThrow('run stopped');
  });
});

describe('command.run action', () => {
  it('prepares without running anything', async () => {
    const marker = join(dir, 'prepared-marker');
    const prepared = await action.prepare(action.args.parse({ run: `touch ${marker}` }), testContext());
    expect(prepared.undo).toBeNull();
    expect(prepared.targets[0]).toContain(`touch ${marker}`);
    await expect(readFile(marker)).rejects.toThrow();
    expect(action.reversible).toBe(false);
  });

  it('returns the output on success', async () => {
    expect(await runAction({ run: 'echo done' })).toMatchObject({ exitCode: 0, stdout: 'done\n' });
  });

  it('fails with the stderr tail and a hint on a non-zero exit', async () => {
    const error = await runAction({ run: 'echo starting; echo "port 8080 in use" >&2; exit 2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FaultlineError);
    expect((error as FaultlineError).code).toBe('E_DRIVER');
    expect((error as FaultlineError).message).toBe('command "echo starting; echo "port 8080 in use" >&2; exit 2" exited with code 2:\nport 8080 in use');
    expect((error as FaultlineError).hint).toContain('run it by hand');
  });

  it('fails on a timeout', async () => {
    await expect(runAction({ run: 'sleep 5', timeout: '100ms' })).rejects.toThrow(/timed out after 100ms/);
  });

  it('does not wait for a background process that keeps the output pipes open', async () => {
    const started = Date.now();
    const output = await runAction({ run: `${process.execPath} -e "setInterval(() => console.log('tick'), 50)" & echo $!` });
    const server = Number((output.stdout as string).trim().split('\n')[0]);
    leftovers.push(server);
    expect(Date.now() - started).toBeLessThan(30_000); // the process it started never ends: waiting for it would hang
    // Still alive: we must neither kill it nor break its stdout (EPIPE would crash it).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await isAlive(server)).toBe(true);
    process.kill(server, 'SIGKILL');
  });

  it('does not wait for a daemon in its own session either', async () => {
    const started = Date.now();
    const output = await runAction({ run: `setsid ${process.execPath} -e "setInterval(() => {}, 1000)" & echo $!` });
    const daemon = Number((output.stdout as string).trim());
    leftovers.push(daemon);
    expect(Date.now() - started).toBeLessThan(30_000); // the process it started never ends: waiting for it would hang
    expect(await isAlive(daemon)).toBe(true);
    process.kill(daemon, 'SIGKILL');
  });
});
