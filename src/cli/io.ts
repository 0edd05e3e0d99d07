// What a command may touch of the outside world, passed in rather than read from globals, so
// commands run in-process in tests. Only src/cli writes to these streams.
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

export function writeLine(stream: CliIo['stdout'], text = ''): void {
  stream.write(`${text}\n`);
}
