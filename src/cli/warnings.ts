// Warnings found while loading an experiment (faults that cannot make their verdict pass), for
// validate, plan and run: on stderr, and the exit code stays 0.
import { formatProblem } from '../core/errors.js';
import type { LoadedExperiment } from '../experiment/load.js';
import { colorsFor } from './colors.js';
import { writeLine, type CliIo } from './io.js';

export function printWarnings(loaded: LoadedExperiment, io: CliIo): void {
  const c = colorsFor(io.stderr, io.env);
  for (const warning of loaded.warnings ?? []) writeLine(io.stderr, `${c.yellow('warning:')} ${formatProblem(warning)}`);
}
