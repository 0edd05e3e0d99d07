// Undoing one ledger entry: shared by the engine at the end of a fault and by `faultline recover`
// in a new process, so both follow the same path and the same retry rules.
import type { UndoSpec } from '../drivers/types.js';
import { buildDriverContext, DriverSessions } from '../drivers/context.js';
import { parseArgs, withDeadline, type ActivityEnvironment } from '../engine/activity.js';
import { FaultlineError, errorMessage } from '../core/errors.js';

export const UNDO_TIMEOUT_MS = 30_000;
export const UNDO_ATTEMPTS = 3;

/** An undo needs what an activity needs, except the outputs of earlier steps. */
export type UndoEnvironment = Omit<ActivityEnvironment, 'outputs' | 'seed'>;

/**
 * Runs an undo, retrying a transient failure a few times. It deliberately takes no abort signal from
 * the run: an interrupted run must still undo its faults.
 */
export async function runUndo(env: UndoEnvironment, undo: UndoSpec, logs: string[] = []): Promise<void> {
  const definition = env.registry.resolveUndo(undo.driver, undo.op);
  const driver = env.registry.get(undo.driver);
  // Kept on the environment, so the undos of one run or recover share each driver's session.
  env.sessions ??= new DriverSessions();
  const scope = { ...env, seed: 0 };
  const args = parseArgs(definition.args, undo.args, 'undo.args');
  let lastError: unknown;
  for (let attempt = 1; attempt <= UNDO_ATTEMPTS; attempt++) {
    try {
      await withDeadline(
        (signal) => definition.run(args, buildDriverContext(scope, driver, signal, (m) => logs.push(m))),
        UNDO_TIMEOUT_MS,
        undefined,
        `undo ${undo.driver}.${undo.op}`,
      );
      return;
    } catch (error) {
      lastError = error;
      logs.push(`undo attempt ${attempt} failed: ${errorMessage(error)}`);
      if (error instanceof FaultlineError && error.code === 'E_INPUT') break;
      if (attempt < UNDO_ATTEMPTS) await env.clock.sleep(250 * 2 ** (attempt - 1));
    }
  }
  throw new FaultlineError('E_DRIVER', `undo ${undo.driver}.${undo.op} failed: ${errorMessage(lastError)}`, {
    cause: lastError,
    exit: 'rollbackIncomplete',
    hint: 'The fault may still be in effect. Fix the cause, then run `faultline recover` to undo it.',
  });
}
