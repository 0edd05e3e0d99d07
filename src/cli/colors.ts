// Colours for the terminal, apart from io.ts so that `--help` loads no colour library.
import { Chalk, type ChalkInstance } from 'chalk';
import type { CliIo } from './io.js';

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org); FORCE_COLOR wins. */
export function colorsFor(stream: CliIo['stdout'], env: CliIo['env']): ChalkInstance {
  const forced = env.FORCE_COLOR;
  if (forced !== undefined && forced !== '0' && forced !== 'false') return new Chalk({ level: 1 });
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return new Chalk({ level: 0 });
  return new Chalk({ level: stream.isTTY && env.TERM !== 'dumb' ? 1 : 0 });
}
