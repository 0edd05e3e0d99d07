// A CliIo that keeps what a command prints, for running commands in process (main() takes its io).
import { Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';

export function captureIo(cwd: string, env: Record<string, string | undefined> = {}): { io: CliIo; out: { stdout: string; stderr: string } } {
  const out = { stdout: '', stderr: '' };
  const stream = (key: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk, _encoding, done) {
        out[key] += String(chunk);
        done();
      },
    });
  return { io: { stdout: stream('stdout'), stderr: stream('stderr'), env: { NO_COLOR: '1', ...env }, cwd }, out };
}
