// The single error boundary: how any failure of a command is shown, and which exit code it gets.
import { FaultlineError, InvalidInputError, formatProblem } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { colorsFor } from './colors.js';
import { writeLine, type CliIo } from './io.js';

export function reportError(error: unknown, io: CliIo): number {
  const c = colorsFor(io.stderr, io.env);
  if (error instanceof InvalidInputError) {
    writeLine(io.stderr, c.red(`✖ ${error.problems.length} problem${error.problems.length === 1 ? '' : 's'} in the input:`));
    for (const problem of error.problems) writeLine(io.stderr, `  ${formatProblem(problem).replace(/\n/g, '\n  ')}`);
    return ExitCode.invalidInput;
  }
  if (error instanceof FaultlineError) {
    writeLine(io.stderr, c.red(`✖ ${error.message}`));
    if (error.hint) writeLine(io.stderr, `  ${c.dim('hint:')} ${error.hint}`);
    return ExitCode[error.exit];
  }
  // Anything else is faultline's own bug: show everything that helps to fix it.
  writeLine(io.stderr, c.red('✖ internal error: faultline failed unexpectedly.'));
  writeLine(io.stderr, error instanceof Error ? (error.stack ?? error.message) : String(error));
  writeLine(io.stderr, `  ${c.dim('hint:')} this is a bug in faultline; please report it with the output above.`);
  return ExitCode.runError;
}

/** Exit codes by severity, for a command that ran several experiments: the worst one wins. */
const SEVERITY: number[] = [ExitCode.passed, ExitCode.deviated, ExitCode.invalidInput, ExitCode.aborted, ExitCode.runError, ExitCode.rollbackIncomplete, ExitCode.interrupted];

export function worstExitCode(codes: number[]): number {
  return codes.reduce((worst, code) => (SEVERITY.indexOf(code) > SEVERITY.indexOf(worst) ? code : worst), ExitCode.passed);
}
