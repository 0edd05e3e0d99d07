// `faultline validate`: every experiment file checked against the schema and the drivers' argument
// schemas, every problem at once. It loads the drivers' schemas, never their client libraries.
import type { DriverRegistry } from '../drivers/registry.js';
import { ExitCode } from '../core/exit-codes.js';
import { loadExperiment } from '../experiment/load.js';
import { reportError, worstExitCode } from './errors.js';
import { collectVars, expandExperimentPaths } from './inputs.js';
import { colorsFor } from './colors.js';
import { printWarnings } from './warnings.js';
import { writeLine, type CliIo } from './io.js';

export async function validateCommand(paths: string[], flags: { var?: string[]; varFile?: string[] }, io: CliIo, registry: DriverRegistry): Promise<number> {
  const files = await expandExperimentPaths(paths, io.cwd);
  const vars = await collectVars(flags, io.cwd);
  const c = colorsFor(io.stdout, io.env);
  const codes: number[] = [];
  for (const file of files) {
    try {
      const loaded = await loadExperiment(file, { cwd: io.cwd, env: io.env, vars, registry });
      writeLine(io.stdout, `${c.green('✔')} ${file}: ${loaded.experiment.title}`);
      printWarnings(loaded, io);
      codes.push(ExitCode.passed);
    } catch (error) {
      codes.push(reportError(error, io));
    }
  }
  return worstExitCode(codes);
}
