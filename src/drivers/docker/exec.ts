// Running a command inside a container through the Engine API (exec create, start, inspect), with
// its output kept and its wait bounded: fill-disk and the custom exec fault build on it.
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { FaultlineError } from '../../core/errors.js';
import { engineCall } from './connection.js';
import { describeContainer, type ContainerRef } from './select.js';

export interface ExecResult {
  /** null when the command was still running when the wait ended. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Keeps the last `limit` characters of a stream: a command's result and its errors are at the end. */
function tailCollector(limit: number): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      if (text.length > limit * 2) text = text.slice(-limit);
      callback();
    },
  });
  return { stream, text: () => (text.length > limit ? text.slice(-limit) : text) };
}

export interface ExecOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  user?: string;
  maxOutput?: number;
}

/** Runs argv in a running container and waits for it, at most `timeoutMs`. */
export async function execIn(docker: Docker, dockerHost: string, ref: ContainerRef, argv: string[], options: ExecOptions): Promise<ExecResult> {
  const what = `cannot run ${argv[0]} in ${describeContainer(ref)}`;
  const container = docker.getContainer(ref.id);
  const exec = await engineCall(dockerHost, what, () =>
    container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, ...(options.user ? { User: options.user } : {}) }),
  );
  const stream = await engineCall(dockerHost, what, () => exec.start({ hijack: true, stdin: false }));
  const stdout = tailCollector(options.maxOutput ?? 64 * 1024);
  const stderr = tailCollector(options.maxOutput ?? 64 * 1024);
  docker.modem.demuxStream(stream, stdout.stream, stderr.stream);
  let timedOut = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      finish();
    }, options.timeoutMs);
    const onAbort = () => finish();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
    function finish() {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve();
    }
  });
  (stream as { destroy?: () => void }).destroy?.();
  const info = await engineCall(dockerHost, what, () => exec.inspect());
  return { exitCode: info.Running ? null : info.ExitCode, stdout: stdout.text(), stderr: stderr.text(), timedOut: timedOut || info.Running };
}

/** Runs a command that must succeed; its failure is an error that quotes what it printed. */
export async function execChecked(docker: Docker, dockerHost: string, ref: ContainerRef, argv: string[], options: ExecOptions & { what: string }): Promise<ExecResult> {
  const result = await execIn(docker, dockerHost, ref, argv, options);
  if (result.exitCode === 0) return result;
  const said = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' / ');
  throw new FaultlineError(
    'E_DRIVER',
    `${options.what} in ${describeContainer(ref)} ${result.timedOut ? `did not finish within ${options.timeoutMs} ms` : `exited with ${result.exitCode}`}${said ? `: ${said}` : ''}`,
    { hint: result.exitCode === 126 || result.exitCode === 127 ? 'the image lacks the program; check what it ships (docker exec <name> ls /bin)' : undefined },
  );
}
