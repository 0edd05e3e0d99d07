// What a command may touch of the outside world, passed in rather than read from globals, so
// commands run in-process in tests. Only src/cli writes to these streams.
import { Chalk, type ChalkInstance } from 'chalk';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export function processIo(): CliIo {
  // A reader that goes away (`faultline run x | head`) must not crash a run with faults applied:
  // output to a closed pipe is dropped, and the run goes on to undo its faults.
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) {
      stream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error;
      });
    }
  }
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org); FORCE_COLOR wins. */
export function colorsFor(stream: CliIo['stdout'], env: CliIo['env']): ChalkInstance {
  const forced = env.FORCE_COLOR;
  if (forced !== undefined && forced !== '0' && forced !== 'false') return new Chalk({ level: 1 });
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return new Chalk({ level: 0 });
  return new Chalk({ level: stream.isTTY && env.TERM !== 'dumb' ? 1 : 0 });
}

export function writeLine(stream: CliIo['stdout'], text = ''): void {
  stream.write(`${text}\n`);
}
