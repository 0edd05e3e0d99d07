// Starting the guardian (guardian.ts) from a run: a detached child that survives the run, joined to it
// by a pipe that closes when the run exits, however it exits. `finished()` tells it the run undid its
// faults itself, so it leaves.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GuardianArgs } from './guardian.js';

export interface GuardianHandle {
  pid: number | undefined;
  /** The run is over and undid what it applied (or kept it on purpose): the guardian exits. */
  finished(): void;
}

/** The built guardian script beside this module, or undefined when running from sources without a build. */
export function guardianScript(): string | undefined {
  const script = fileURLToPath(new URL('./guardian.js', import.meta.url));
  return existsSync(script) ? script : undefined;
}

export function startGuardian(args: GuardianArgs, env: Readonly<Record<string, string | undefined>>): GuardianHandle | undefined {
  const script = guardianScript();
  if (!script) return undefined;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [script, JSON.stringify(args)], {
      cwd: args.cwd,
      env: env as NodeJS.ProcessEnv,
      // Its own process group: a Ctrl-C meant for the run does not reach it.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch {
    return undefined;
  }
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  // Neither the child nor the pipe keeps the run's process alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    pid: child.pid,
    finished: () => {
      child.stdin?.end('done\n');
    },
  };
}
