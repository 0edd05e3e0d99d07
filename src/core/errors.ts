// One error type for everything faultline reports to a user. Library code throws these;
// only src/cli prints them and chooses the exit code.

import type { ExitCodeName } from './exit-codes.js';

export type ErrorCode =
  | 'E_INPUT' // the user's file or flags are wrong
  | 'E_FILE' // a file could not be read
  | 'E_VALIDATION' // the experiment does not match the schema
  | 'E_PREFLIGHT' // a target is unreachable or not allowed, or the ledger is dirty
  | 'E_DRIVER' // a driver call failed
  | 'E_TIMEOUT' // an activity or the run exceeded its time
  | 'E_LEDGER' // the ledger could not be read or written
  | 'E_WORKLOAD' // the workload's traffic could not be driven (a worker process failed)
  | 'E_INTERNAL';

export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Which exit code a CLI should use when this error ends a command. */
  exit?: ExitCodeName;
}

export class FaultlineError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exit: ExitCodeName;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FaultlineError';
    this.code = code;
    this.hint = options.hint;
    this.exit = options.exit ?? (code === 'E_INPUT' || code === 'E_FILE' || code === 'E_VALIDATION' ? 'invalidInput' : 'runError');
  }
}

/** A problem found in an experiment file, located precisely enough for an editor to jump to. */
export interface InputProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted path in the document, like `method[2].with.jitter`; empty for the document itself. */
  path: string;
  message: string;
  hint?: string;
}

/** Every problem in an input at once, never only the first. */
export class InvalidInputError extends FaultlineError {
  readonly problems: InputProblem[];

  constructor(problems: InputProblem[], options: ErrorOptions = {}) {
    const first = problems[0];
    const summary = first
      ? `${first.file}:${first.line}:${first.column}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`
      : 'invalid input';
    super('E_VALIDATION', summary, { ...options, exit: 'invalidInput' });
    this.name = 'InvalidInputError';
    this.problems = problems;
  }
}

export function formatProblem(p: InputProblem): string {
  const where = `${p.file}:${p.line}:${p.column}`;
  const path = p.path ? `${p.path}: ` : '';
  return `${where}: ${path}${p.message}${p.hint ? `\n    hint: ${p.hint}` : ''}`;
}

/** Message of any thrown value, for journals and logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
