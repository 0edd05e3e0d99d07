// The faultline command line: a thin layer over the library. It parses flags, calls the core, prints,
// and turns outcomes into exit codes. Nothing below src/cli prints or exits.
// Each command's module is imported when that command runs, and the drivers' registry when a command
// needs it: `--help` loads commander and nothing else, `validate` no engine, no driver a client library.
import { Command, CommanderError, Option } from 'commander';
import type { DriverRegistry } from '../drivers/registry.js';
import { ExitCode } from '../core/exit-codes.js';
import { FAULTLINE_VERSION } from '../version.js';
import { processIo, writeLine, type CliIo } from './io.js';
import { REPORT_FORMATS } from './report-formats.js';
import { builtinDriverOptions } from '../drivers/options.js';
import { quietLibraryDeprecations } from './deprecations.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0    passed: the steady state held (and every verdict passed)
  1    deviated: a probe missed its tolerance, or a verdict failed or was not exercised
  2    invalid input: the experiment file or the flags are wrong
  3    aborted: an abort condition tripped; faults were undone
  4    run error: a fault, action, setup step or preflight failed, or --timeout passed
  5    rollback incomplete: an undo or rollback failed; run \`faultline recover\`
  130  interrupted: SIGINT/SIGTERM; a second signal exits at once, leaving the ledger for \`faultline recover\``;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Adds the options the drivers declare (kubernetes: --context, --allow-production) to `run` or `plan`. */
function driverOptions(command: Command): Command {
  for (const options of builtinDriverOptions.values()) for (const option of options) command.option(option.flags, option.description);
  return command;
}

/**
 * The registry given to main() (tests), or the built-in drivers, each loaded when an experiment names it
 * (validate, plan and run load only the drivers their experiment uses).
 */
type RegistrySource = () => Promise<DriverRegistry>;

/** For the commands that may touch any driver: recover (whatever the ledger holds), drivers, manifest. */
async function everyDriver(registry: RegistrySource): Promise<DriverRegistry> {
  const loaded = await registry();
  await loaded.loadAll();
  return loaded;
}

export function buildProgram(io: CliIo, registry: RegistrySource, setExitCode: (code: number) => void): Command {
  const program = new Command('faultline')
    .description('Run chaos experiments against real systems and report whether timeouts, retries, failover and self-healing held.')
    .version(FAULTLINE_VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);

  const varOptions = (command: Command) =>
    command
      .option('--var <key=value>', 'set a variable (dotted keys for nested ones: demo.without=timeouts); repeatable', collect)
      .option('--var-file <file>', 'read variables from a YAML or JSON file; repeatable', collect);

  varOptions(
    program
      .command('run')
      .description('run an experiment file, or every experiment in a folder one after another')
      .argument('<paths...>', 'experiment files or folders'),
  )
    .option('--journal <path>', 'write the journal here (a .json file; a folder when running several)')
    .option('--ledger-dir <dir>', 'where the fault ledger lives (default: settings.ledgerDir or .faultline)')
    .addOption(new Option('--rollback-strategy <strategy>', 'when declared rollbacks run').choices(['default', 'always', 'never', 'deviated']))
    .option('--timeout <duration>', 'bound on the whole run (faults are still undone), e.g. 5m')
    .option('--keep-faults', 'do not undo faults at the end (they stay in the ledger for `faultline recover`)')
    .option('--force', 'start even though the ledger still holds applied faults')
    .option('--no-guardian', 'start no guardian: after a kill -9 of the run, faults stay until `faultline recover`')
    .option('--dry-run', 'resolve and print the plan without any mutating call')
    .option('--seed <n>', 'seed for random target selection (default: settings.seed, else drawn and written to the journal)')
    .option('--repeat <n>', 'run each experiment n times (faults undone between); a verdict that differs between runs is unstable and does not pass')
    .option('--junit <path>', 'write a JUnit XML report here: a testsuite per experiment, a test case per verdict and probe')
    .option('--markdown <path>', 'write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY when that is set)')
    .option('--html [path]', 'write a self-contained HTML report here (verdicts, timeline chart, windows, faults, probes); without a path, beside the journal')
    .addHelpText('after', EXIT_CODES_HELP);
  driverOptions(program.commands.at(-1)!).action(async (paths: string[], flags) => {
      const { runCommand } = await import('./run.js');
      setExitCode(await runCommand(paths, flags, io, await registry()));
    });

  varOptions(
    program
      .command('validate')
      .description('check experiment files against the schema and the drivers\' arguments; every problem at once')
      .argument('<paths...>', 'experiment files or folders'),
  ).action(async (paths: string[], flags) => {
    const { validateCommand } = await import('./validate.js');
    setExitCode(await validateCommand(paths, flags, io, await registry()));
  });

  varOptions(
    program
      .command('plan')
      .description('print the resolved timeline and the targets each fault would hit; makes no mutating call')
      .argument('<file>', 'experiment file'),
  )
    .option('--json', 'print the plan as JSON')
    .option('--seed <n>', 'seed for random target selection, as `run --seed` takes it');
  driverOptions(program.commands.at(-1)!).action(async (file: string, flags) => {
      const { planCommand } = await import('./plan.js');
      await planCommand(file, flags, io, await registry());
    });

  program
    .command('report')
    .description('render saved journals again: the terminal summary, JUnit XML, Markdown, a JSON digest or an HTML page')
    .argument('<journals...>', 'journal files written by `faultline run`, or folders of them')
    .addOption(new Option('--format <format>', 'what to render').choices(REPORT_FORMATS).default('text'))
    .option('--output <path>', 'write to this file instead of stdout')
    .addHelpText(
      'after',
      `
Several journals make one report: a JUnit file with a testsuite each, Markdown sections, a JSON array,
or with --format html the history of the runs (each verdict over time, p99 and error rate under each
fault, time to recover), ordered by when they started. --format html needs --output.
Exit code 0 when the report was written, whatever the runs' results; 2 when a journal cannot be read.`,
    )
    .action(async (paths: string[], flags) => {
      const { reportCommand } = await import('./report.js');
      setExitCode(await reportCommand(paths, flags, io));
    });

  program
    .command('recover')
    .description('undo every fault the ledger still holds as applied (after a crash or kill -9)')
    .option('--ledger-dir <dir>', 'where the fault ledger lives', '.faultline')
    .option('--dry-run', 'list what would be undone')
    .option('--json', 'print the report as JSON')
    .action(async (flags) => {
      const { recoverCommand } = await import('./recover.js');
      setExitCode(await recoverCommand(flags, io, await everyDriver(registry)));
    });

  program
    .command('init')
    .description('write a commented starter experiment')
    .argument('[path]', 'where to write it', 'experiment.yaml')
    .option('--force', 'overwrite an existing file')
    .action(async (path: string, flags) => {
      const { initCommand } = await import('./init.js');
      setExitCode(await initCommand(path, flags, io));
    });

  const kubernetes = program.command('kubernetes').description('run experiments in a Kubernetes cluster');
  kubernetes
    .command('manifest')
    .description('print the YAML that runs an experiment in the cluster: a Job (or a CronJob with --schedule), its ServiceAccount and least-privilege RBAC')
    .argument('<experiment>', 'experiment file')
    .option('--var <key=value>', 'set a variable, as `run --var` takes it; passed on to the run in the pod; repeatable', collect)
    .option('--name <name>', 'name of every object (default: faultline-<file name>)')
    .option('--namespace <namespace>', "namespace of the ServiceAccount and the Job (default: the experiment's first allowed namespace)")
    .option('--image <image>', 'faultline image to run', `faultline:${FAULTLINE_VERSION}`)
    .option('--schedule <cron>', 'a CronJob on this schedule ("0 3 * * *"), with concurrencyPolicy Forbid, instead of a Job')
    .option('--output-dir <path>', 'where the pod writes the journal, JUnit and Markdown, a folder per run', '/var/lib/faultline')
    .option('--output-claim <pvc>', 'mount this PersistentVolumeClaim at --output-dir (default: an emptyDir, gone with the pod; the journal is then the last line of the pod\'s log)')
    .addHelpText(
      'after',
      `
The experiment's kubernetes targets must allow the context inClusterContext (the pod's service account),
for example with --var k8s.context=inClusterContext. Apply with: kubectl apply --server-side -f -
The pod exits with faultline's exit code. Without --output-claim, read the journal from the whole log
(kubectl logs job/<name> | tail -n 1 > journal.json; not --tail=1, which cuts a long line) and render
it with faultline report.`,
    )
    .action(async (file: string, flags) => {
      const { manifestCommand } = await import('./kubernetes.js');
      setExitCode(await manifestCommand(file, flags, io, await everyDriver(registry)));
    });

  program
    .command('schema')
    .description('print the JSON Schema of experiment files (for editors and CI)')
    .action(async () => {
      const { experimentJsonSchema } = await import('../experiment/schema.js');
      writeLine(io.stdout, JSON.stringify(experimentJsonSchema(), null, 2));
    });

  program
    .command('drivers')
    .description('list every driver with its actions, probes and their arguments')
    .argument('[driver]', 'only this driver')
    .option('--json', 'print the catalog as JSON')
    .action(async (name: string | undefined, flags) => {
      const { driversCommand } = await import('./drivers.js');
      setExitCode(driversCommand(name, flags, io, await everyDriver(registry)));
    });

  return program;
}

export async function main(argv: string[], io: CliIo = processIo(), registry?: DriverRegistry): Promise<number> {
  quietLibraryDeprecations();
  let exitCode: number = ExitCode.passed;
  const loadRegistry: RegistrySource = async () => registry ?? (await import('../drivers/builtin.js')).createLazyRegistry();
  const program = buildProgram(io, loadRegistry, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; a usage mistake is invalid input.
      return error.exitCode === 0 ? ExitCode.passed : ExitCode.invalidInput;
    }
    const { reportError } = await import('./errors.js');
    return reportError(error, io);
  }
}
