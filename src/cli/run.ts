// `faultline run`: one experiment file, or every experiment in a folder one after another, with one
// combined exit code (the worst outcome wins).
import { stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { DriverRegistry } from '../drivers/registry.js';
import type { DriverFlags } from '../drivers/types.js';
import { parseDuration } from '../core/duration.js';
import { FaultlineError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { EXIT_CODE_BY_STATUS, writeJournal, type Journal } from '../engine/journal.js';
import { runExperiment } from '../engine/run.js';
import { findExperimentFiles, loadExperiment, parseVarAssignments, readVarFile, type LoadedExperiment } from '../experiment/load.js';
import { rollbackStrategies, type RollbackStrategy } from '../experiment/schema.js';
import { TerminalReporter } from '../report/terminal.js';
import { reportError, worstExitCode } from './errors.js';
import { colorsFor, writeLine, type CliIo } from './io.js';
import { printPlan } from './plan.js';
import { writeRunReports } from './report.js';
import { handleInterrupts } from './signals.js';

export interface RunFlags {
  var?: string[];
  varFile?: string[];
  journal?: string;
  ledgerDir?: string;
  keepFaults?: boolean;
  rollbackStrategy?: string;
  timeout?: string;
  force?: boolean;
  dryRun?: boolean;
  seed?: string;
  junit?: string;
  markdown?: string;
  context?: string;
  allowProduction?: boolean;
  /** commander's `--no-guardian`: false when given. */
  guardian?: boolean;
}

/** `--context` and `--allow-production`, as the drivers read them. */
export function driverFlagsFrom(flags: { context?: string; allowProduction?: boolean }): DriverFlags {
  return {
    ...(flags.context !== undefined ? { context: flags.context } : {}),
    ...(flags.allowProduction ? { allowProduction: true } : {}),
  };
}

/** Files named on the command line, with folders expanded to the experiments they hold. */
export async function expandExperimentPaths(paths: string[], cwd: string): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    const info = await stat(absolute).catch(() => undefined);
    if (info?.isDirectory()) {
      const found = await findExperimentFiles(absolute);
      if (found.length === 0) throw new FaultlineError('E_INPUT', `${path}: no experiment files (*.yaml, *.yml, *.json) in this folder`);
      files.push(...found);
    } else {
      files.push(absolute);
    }
  }
  return files;
}

export async function collectVars(flags: { var?: string[]; varFile?: string[] }, cwd: string): Promise<Record<string, unknown>> {
  let vars: Record<string, unknown> = {};
  for (const file of flags.varFile ?? []) vars = deepMerge(vars, await readVarFile(resolve(cwd, file)));
  return deepMerge(vars, parseVarAssignments(flags.var ?? []));
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] =
      isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `--seed`: a non-negative integer, so a random selection can be replayed. */
export function parseSeedFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 2 ** 31 - 1) {
    throw new FaultlineError('E_INPUT', `--seed: expected a whole number from 0 to ${2 ** 31 - 1}, got "${value}"`, {
      hint: 'use the seed a journal or plan printed to hit the same targets again',
    });
  }
  return Number(value);
}

function parseFlags(flags: RunFlags): { timeoutMs?: number; rollbackStrategy?: RollbackStrategy; seed?: number } {
  const parsed: { timeoutMs?: number; rollbackStrategy?: RollbackStrategy; seed?: number } = {};
  const seed = parseSeedFlag(flags.seed);
  if (seed !== undefined) parsed.seed = seed;
  if (flags.timeout !== undefined) {
    const ms = parseDuration(flags.timeout);
    if (ms === undefined) throw new FaultlineError('E_INPUT', `--timeout: expected a duration like 90s or 5m, got "${flags.timeout}"`);
    parsed.timeoutMs = ms;
  }
  if (flags.rollbackStrategy !== undefined) {
    if (!(rollbackStrategies as readonly string[]).includes(flags.rollbackStrategy)) {
      throw new FaultlineError('E_INPUT', `--rollback-strategy: expected one of ${rollbackStrategies.join(', ')}, got "${flags.rollbackStrategy}"`);
    }
    parsed.rollbackStrategy = flags.rollbackStrategy as RollbackStrategy;
  }
  return parsed;
}

function journalPathFor(file: string, runId: string, flags: RunFlags, many: boolean, cwd: string): string {
  if (!flags.journal) return resolve(cwd, '.faultline', 'journals', `${runId}.json`);
  const target = resolve(cwd, flags.journal);
  if (!many && extname(target) === '.json') return target;
  return join(target, `${basename(file, extname(file))}.journal.json`);
}

export async function runCommand(paths: string[], flags: RunFlags, io: CliIo, registry: DriverRegistry): Promise<number> {
  const { timeoutMs, rollbackStrategy, seed } = parseFlags(flags);
  const driverFlags = driverFlagsFrom(flags);
  const files = await expandExperimentPaths(paths, io.cwd);
  const vars = await collectVars(flags, io.cwd);
  const colors = colorsFor(io.stdout, io.env);
  // Every file is loaded before any runs: a typo in the third experiment must not surface after the
  // first two have already broken things.
  const loadedFiles: LoadedExperiment[] = [];
  const loadCodes: number[] = [];
  for (const file of files) {
    try {
      loadedFiles.push(await loadExperiment(file, { cwd: io.cwd, env: io.env, vars, registry }));
    } catch (error) {
      loadCodes.push(reportError(error, io));
    }
  }
  if (loadCodes.length > 0) {
    if (files.length > 1) writeLine(io.stderr, `nothing was run: ${loadCodes.length} of ${files.length} experiments cannot be loaded`);
    return worstExitCode(loadCodes);
  }

  if (flags.dryRun) {
    const codes: number[] = [];
    for (const loaded of loadedFiles) {
      // A plan that cannot be resolved (a target not found) is reported; the other plans still print.
      codes.push(await printPlan(loaded, registry, io, { dryRun: true, driverFlags, ...(seed !== undefined ? { seed } : {}) }).then(() => ExitCode.passed, (error: unknown) => reportError(error, io)));
    }
    return worstExitCode(codes);
  }

  const interrupts = handleInterrupts(
    (signal) => writeLine(io.stderr, colors.yellow(`\n${signal}: stopping and undoing faults… (press Ctrl-C again to exit at once; then run \`faultline recover\`)`)),
    (signal) => writeLine(io.stderr, colors.red(`\n${signal} again: exiting now. Faults may still be applied: run \`faultline recover\`.`)),
  );
  const codes: number[] = [];
  const journals: Journal[] = [];
  // Exit code 130 comes from the journals (an interrupted run says so), or from experiments never started.
  let skipped = false;
  try {
    for (const loaded of loadedFiles) {
      const file = loaded.file;
      if (interrupts.signal.aborted) {
        skipped = true;
        break;
      }
      let code: number;
      try {
        const reporter = new TerminalReporter({ stream: io.stdout, colors, interactive: Boolean(io.stdout.isTTY) && io.env.CI !== 'true' });
        if (files.length > 1) writeLine(io.stdout, colors.bold.underline(`\n${loaded.experiment.title} (${file})`));
        const journal = await runExperiment({
          loaded,
          registry,
          cwd: io.cwd,
          env: io.env,
          signal: interrupts.signal,
          ...(flags.ledgerDir ? { ledgerDir: resolve(io.cwd, flags.ledgerDir) } : {}),
          keepFaults: Boolean(flags.keepFaults),
          ignoreLedger: Boolean(flags.force),
          ...(rollbackStrategy ? { rollbackStrategy } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
          ...(seed !== undefined ? { seed } : {}),
          driverFlags,
          guardian: flags.guardian !== false,
          onEvent: (event) => reporter.onEvent(event),
        });
        const journalPath = journalPathFor(file, journal.runId, flags, files.length > 1, io.cwd);
        await writeJournal(journalPath, journal);
        journals.push(journal);
        reporter.summary(journal, journalPath);
        if (journal.error && journal.status === 'failed' && journal.error.hint) writeLine(io.stdout, `  ${colors.dim('hint:')} ${journal.error.hint}`);
        code = EXIT_CODE_BY_STATUS[journal.status];
      } catch (error) {
        code = reportError(error, io);
      }
      codes.push(code);
    }
  } finally {
    interrupts.dispose();
  }
  // Written once, after every experiment ran: one JUnit file holds a testsuite per experiment.
  await writeRunReports(journals, flags, io).catch((error: unknown) => codes.push(reportError(error, io)));
  if (skipped) codes.push(ExitCode.interrupted);
  return worstExitCode(codes);
}
