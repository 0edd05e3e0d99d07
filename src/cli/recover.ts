// `faultline recover`: undo what the ledger still holds after a run was killed.
import { resolve } from 'node:path';
import type { DriverRegistry } from '../drivers/registry.js';
import { ExitCode } from '../core/exit-codes.js';
import { DEFAULT_LEDGER_DIR } from '../engine/run.js';
import { recover } from '../safety/recover.js';
import { colorsFor } from './colors.js';
import { writeLine, type CliIo } from './io.js';
import { checkReadableFolder } from './outputs.js';

export async function recoverCommand(flags: { ledgerDir?: string; dryRun?: boolean; json?: boolean }, io: CliIo, registry: DriverRegistry): Promise<number> {
  const ledgerDir = resolve(io.cwd, flags.ledgerDir ?? DEFAULT_LEDGER_DIR);
  // A folder that cannot exist holds no ledger: say so (exit 2) rather than try to lock it.
  if (flags.ledgerDir) await checkReadableFolder('--ledger-dir', ledgerDir);
  const report = await recover({
    ledgerDir,
    registry,
    cwd: io.cwd,
    env: io.env,
    dryRun: Boolean(flags.dryRun),
  });
  if (flags.json) {
    writeLine(io.stdout, JSON.stringify(report, null, 2));
  } else {
    const c = colorsFor(io.stdout, io.env);
    if (report.entries.length === 0) writeLine(io.stdout, c.green(`✔ nothing to recover: the ledger ${report.ledger} holds no applied fault`));
    for (const entry of report.entries) {
      const mark =
        entry.result === 'undone'
          ? c.green('✔ undone')
          : entry.result === 'would-undo'
            ? c.yellow('• would undo')
            : entry.result === 'running'
              ? c.yellow(`• left to its run (${entry.logs[0] ?? 'still running'}):`)
              : c.red('✖ failed');
      writeLine(io.stdout, `${mark} ${entry.action} on ${entry.targets.join(', ') || '?'} via ${entry.undo}${entry.error ? `: ${entry.error}` : ''}`);
      if (entry.hint) writeLine(io.stdout, `  ${c.dim('hint:')} ${entry.hint}`);
    }
  }
  if (flags.dryRun) return ExitCode.passed;
  if (report.entries.some((e) => e.needsInput)) return ExitCode.invalidInput;
  return report.clean ? ExitCode.passed : ExitCode.rollbackIncomplete;
}
