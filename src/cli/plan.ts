// `faultline plan` (and `run --dry-run`): print the resolved timeline and targets. No mutating call.
import type { DriverRegistry } from '../drivers/registry.js';
import type { DriverOptionValues } from '../drivers/types.js';
import { formatDuration } from '../core/duration.js';
import { planExperiment } from '../engine/plan.js';
import { loadExperiment, type LoadedExperiment } from '../experiment/load.js';
import { renderTable } from '../report/terminal.js';
import { collectVars, driverOptionsFrom, expandExperimentPaths, parseSeedFlag } from './inputs.js';
import { colorsFor } from './colors.js';
import { writeLine, type CliIo } from './io.js';
import { printWarnings } from './warnings.js';

export async function printPlan(loaded: LoadedExperiment, registry: DriverRegistry, io: CliIo, options: { dryRun?: boolean; json?: boolean; seed?: number; driverOptions?: ReadonlyMap<string, DriverOptionValues> } = {}): Promise<void> {
  const plan = await planExperiment(loaded, registry, {
    cwd: io.cwd,
    env: io.env,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.driverOptions ? { driverOptions: options.driverOptions } : {}),
  });
  printWarnings(loaded, io);
  if (options.json) {
    writeLine(io.stdout, JSON.stringify(plan, null, 2));
    return;
  }
  const c = colorsFor(io.stdout, io.env);
  const out = (text = '') => writeLine(io.stdout, text);
  out(c.bold(`${options.dryRun ? 'Dry run' : 'Plan'}: ${plan.title}`) + c.dim(` (${plan.file})`));
  if (plan.setup.length) out(`setup: ${plan.setup.join(' → ')}`);
  if (plan.hypothesis.length) {
    out(`steady state (before and after): ${plan.hypothesis.join(', ')}${plan.continuousEveryMs ? `; also every ${formatDuration(plan.continuousEveryMs)} during the method` : ''}`);
  }
  out(`method: ${formatDuration(plan.methodLengthMs)} · seed ${plan.seed} (replay random selections with --seed ${plan.seed})`);
  out(
    renderTable(
      ['at', 'until', 'kind', 'step', 'targets', 'undo'],
      plan.steps.map((s) => [
        s.after ? `after ${s.after}` : `+${formatDuration(s.startMs)}`,
        s.kind === 'fault' ? (s.endMs === undefined ? 'end' : `+${formatDuration(s.endMs)}`) : '',
        s.kind,
        `${s.name}${s.name.includes(s.ref) ? '' : ` [${s.ref}]`}`,
        s.targets.join(', ') || (s.kind === 'probe' ? '' : s.note ?? '-'),
        s.kind === 'fault' ? (s.undo ?? 'none (recorded)') : '',
      ]),
    ),
  );
  if (plan.workload) out(`workload: ${plan.workload}`);
  if (plan.verdicts.length) out(`verdicts: ${plan.verdicts.join(', ')}`);
  if (plan.abort.length) out(`abort when: ${plan.abort.join(', ')}`);
  if (plan.rollbacks.length) out(`rollbacks: ${plan.rollbacks.join(' → ')}`);
  if (plan.teardown.length) out(`teardown: ${plan.teardown.join(' → ')}`);
  out(c.dim('No change was made: planning resolves targets without touching them.'));
}

/** `faultline plan <file>`: one experiment, its variables and seed, and the drivers' flags. */
export async function planCommand(
  file: string,
  flags: { var?: string[]; varFile?: string[]; json?: boolean; seed?: string } & Record<string, unknown>,
  io: CliIo,
  registry: DriverRegistry,
): Promise<void> {
  const [path] = await expandExperimentPaths([file], io.cwd);
  const vars = await collectVars(flags, io.cwd);
  const loaded = await loadExperiment(path!, { cwd: io.cwd, env: io.env, vars, registry });
  const seed = parseSeedFlag(flags.seed);
  await printPlan(loaded, registry, io, { json: Boolean(flags.json), driverOptions: driverOptionsFrom(flags), ...(seed !== undefined ? { seed } : {}) });
}
