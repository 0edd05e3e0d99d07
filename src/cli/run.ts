// `faultline run`: one experiment file, or every experiment in a folder one after another, with one
// combined exit code (the worst outcome wins).
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { DriverRegistry } from '../drivers/registry.js';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../core/duration.js';
import { FaultlineError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { EXIT_CODE_BY_STATUS, writeJournal, type Journal } from '../engine/journal.js';
import { loadExperiment, type LoadedExperiment } from '../experiment/load.js';
import { rollbackStrategies, type RollbackStrategy } from '../experiment/schema.js';
import { STATUS_LABEL } from '../report/labels.js';
import { TerminalReporter } from '../report/terminal.js';
import { foldRepetitions, REPEATABLE } from '../verdicts/repetitions.js';
import { reportError, worstExitCode } from './errors.js';
import { colorsFor } from './colors.js';
import { writeLine, type CliIo } from './io.js';
import { printPlan } from './plan.js';
import { printWarnings } from './warnings.js';
import { writeRunReports, type RunHtml } from './report.js';
import { handleInterrupts } from './signals.js';
import { collectVars, driverOptionsFrom, expandExperimentPaths, parseSeedFlag } from './inputs.js';
import { checkWritable } from './outputs.js';
import { ledgerDirFor, runExperiment } from '../engine/run.js';

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
  /** A path, or true for `--html` alone: beside the journal. */
  html?: string | boolean;
  repeat?: string;
  /** commander's `--no-guardian`: false when given. */
  guardian?: boolean;
  /** The drivers' own options (`--context`, …), read by driverOptionsFrom. */
  [driverOption: string]: unknown;
}

/** `--repeat`: how many full runs of each experiment (1 to 100). */
export function parseRepeatFlag(value: string | undefined): number {
  if (value === undefined) return 1;
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 100) {
    throw new FaultlineError('E_INPUT', `--repeat: expected a whole number from 1 to 100, got "${value}"`, { hint: 'for example --repeat 3: three full runs, each verdict judged on whether they agree' });
  }
  return Number(value);
}

function parseFlags(flags: RunFlags): { timeoutMs?: number; rollbackStrategy?: RollbackStrategy; seed?: number } {
  const parsed: { timeoutMs?: number; rollbackStrategy?: RollbackStrategy; seed?: number } = {};
  const seed = parseSeedFlag(flags.seed);
  if (seed !== undefined) parsed.seed = seed;
  if (flags.timeout !== undefined) {
    const ms = parseDuration(flags.timeout);
    if (ms === undefined) throw new FaultlineError('E_INPUT', `--timeout: expected a duration like 90s or 5m, got "${flags.timeout}"`, { hint: 'a number and a unit: ms, s, m or h (90s, 5m, 1h30m)' });
    // Node's timers wait at most 2^31 - 1 ms: a longer bound would fire at once and end every run as timed out.
    if (ms <= 0 || ms > MAX_DURATION_MS) {
      throw new FaultlineError('E_INPUT', `--timeout: ${flags.timeout} is ${ms <= 0 ? 'no time at all' : `more than ${formatDuration(MAX_DURATION_MS)}`}`, { hint: `give the whole run a bound from 1ms to ${formatDuration(MAX_DURATION_MS)}, such as 10m` });
    }
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

/** Where `--html` writes a run's page: the path given, a file per experiment in it when running several, or beside the journal. */
function htmlPathFor(file: string, journalPath: string, flags: RunFlags, many: boolean, cwd: string): string {
  if (typeof flags.html !== 'string') return journalPath.replace(/(\.journal)?\.json$/, '') + '.html';
  const target = resolve(cwd, flags.html);
  if (!many && extname(target) === '.html') return target;
  return join(target, `${basename(file, extname(file))}.html`);
}

/**
 * Every path a run will write, checked before anything runs (exit 2 with a hint): the ledger folder,
 * each journal (or its folder when its name comes from the run id), each HTML page, JUnit, Markdown.
 */
async function checkRunOutputs(loadedFiles: readonly LoadedExperiment[], flags: RunFlags, cwd: string): Promise<void> {
  const many = loadedFiles.length > 1;
  for (const { file, experiment } of loadedFiles) {
    if (flags.ledgerDir) await checkWritable('--ledger-dir', resolve(cwd, flags.ledgerDir), 'folder');
    else await checkWritable(experiment.settings?.ledgerDir ? `${file}: settings.ledgerDir` : 'the ledger folder', ledgerDirFor(cwd, experiment.settings?.ledgerDir), 'folder');
    const journalPath = journalPathFor(file, 'run-id', flags, many, cwd);
    if (flags.journal) await checkWritable('--journal', journalPath, 'file');
    else await checkWritable('journal', dirname(journalPath), 'folder');
    if (typeof flags.html === 'string') await checkWritable('--html', htmlPathFor(file, journalPath, flags, many, cwd), 'file');
  }
  if (flags.junit) await checkWritable('--junit', resolve(cwd, flags.junit), 'file');
  if (flags.markdown) await checkWritable('--markdown', resolve(cwd, flags.markdown), 'file');
}

export async function runCommand(paths: string[], flags: RunFlags, io: CliIo, registry: DriverRegistry): Promise<number> {
  const { timeoutMs, rollbackStrategy, seed } = parseFlags(flags);
  const repeat = parseRepeatFlag(flags.repeat);
  if (repeat > 1 && flags.keepFaults) {
    throw new FaultlineError('E_INPUT', '--repeat cannot be combined with --keep-faults', { hint: 'kept faults would be in place when the next run starts' });
  }
  const driverOptions = driverOptionsFrom(flags);
  const files = await expandExperimentPaths(paths, io.cwd);
  const vars = await collectVars(flags, io.cwd);
  const colors = colorsFor(io.stdout, io.env);
  // Every file is loaded before any runs: a typo in the third experiment must not surface after the
  // first two have already broken things.
  const loadedFiles: LoadedExperiment[] = [];
  const loadCodes: number[] = [];
  for (const file of files) {
    try {
      const loaded = await loadExperiment(file, { cwd: io.cwd, env: io.env, vars, registry });
      if (!flags.dryRun) printWarnings(loaded, io); // a dry run prints them with its plan
      loadedFiles.push(loaded);
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
      codes.push(await printPlan(loaded, registry, io, { dryRun: true, driverOptions, ...(seed !== undefined ? { seed } : {}) }).then(() => ExitCode.passed, (error: unknown) => reportError(error, io)));
    }
    return worstExitCode(codes);
  }

  await checkRunOutputs(loadedFiles, flags, io.cwd);

  const interrupts = handleInterrupts(
    (signal) => writeLine(io.stderr, colors.yellow(`\n${signal}: stopping and undoing faults… (press Ctrl-C again to exit at once; then run \`faultline recover\`)`)),
    (signal) => writeLine(io.stderr, colors.red(`\n${signal} again: exiting now. Faults may still be applied: run \`faultline recover\`.`)),
  );
  const codes: number[] = [];
  const journals: Journal[] = [];
  const pages: RunHtml[] = [];
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
        // --repeat: full runs one after another (each undoes its faults); a run that could not undo
        // everything, or was interrupted, ends the series.
        const runs: Journal[] = [];
        for (let index = 1; index <= repeat && (index === 1 || !interrupts.signal.aborted); index++) {
          if (repeat > 1) writeLine(io.stdout, colors.bold(`\nRun ${index} of ${repeat}`));
          const run = await runExperiment({
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
            driverOptions,
            guardian: flags.guardian !== false,
            onEvent: (event) => reporter.onEvent(event),
            journalDir: dirname(journalPathFor(file, 'run', flags, files.length > 1, io.cwd)),
          });
          runs.push(run);
          if (repeat > 1) writeLine(io.stdout, `run ${index} of ${repeat}: ${STATUS_LABEL[run.status]} — ${run.reason}`);
          if (!REPEATABLE.has(run.status)) break;
        }
        const journal = foldRepetitions(runs);
        const journalPath = journalPathFor(file, journal.runId, flags, files.length > 1, io.cwd);
        await writeJournal(journalPath, journal);
        journals.push(journal);
        if (flags.html) pages.push({ journal, path: htmlPathFor(file, journalPath, flags, files.length > 1, io.cwd) });
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
  await writeRunReports(journals, { ...flags, html: pages }, io).catch((error: unknown) => codes.push(reportError(error, io)));
  if (skipped) codes.push(ExitCode.interrupted);
  return worstExitCode(codes);
}
