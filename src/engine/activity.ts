// Runs one probe or action: resolves its driver entry and step references, validates its arguments,
// enforces its timeout (even on a driver that ignores the abort signal), polls `until`, and checks
// tolerances. Every outcome becomes an ActivityRecord; nothing here throws for a probe that misses.
import type { ZodType } from 'zod';
import type { DriverRegistry } from '../drivers/registry.js';
import { buildDriverContext, type DriverSessions } from '../drivers/context.js';
import type { Driver, DriverContext, DriverOptionValues, Output } from '../drivers/types.js';
import type { Matcher } from '../experiment/schema.js';
import { abortReason, type Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { FaultlineError, errorMessage } from '../core/errors.js';
import type { ActivityRecord, JournalError, Phase } from './journal.js';
import { resolveStepReferences, type StepOutputs } from './references.js';
import { checkExpectations } from './tolerance.js';

export const DEFAULT_PROBE_TIMEOUT_MS = 30_000;
export const DEFAULT_ACTION_TIMEOUT_MS = 60_000;

export interface ActivityEnvironment {
  registry: DriverRegistry;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  runId: string;
  /** Seed for random target selection; see DriverContext.seed. */
  seed: number;
  clock: Clock;
  /** Parsed `targets.<driver>` settings by driver name. */
  targets: ReadonlyMap<string, unknown>;
  outputs: StepOutputs;
  /** Values of the drivers' own command-line options, by driver name: each reaches only its driver. */
  driverOptions?: ReadonlyMap<string, DriverOptionValues>;
  /** The drivers' run-scoped sessions, made on first use (drivers/context.ts). */
  sessions?: DriverSessions;
}

export interface ActivityCall {
  key: string;
  phase: Phase;
  ref: string;
  name: string;
  args: Record<string, unknown> | undefined;
  timeoutMs: number | undefined;
}

export interface ProbeCall extends ActivityCall {
  expect: Record<string, Matcher> | undefined;
  until: { within: number; every: number } | undefined;
}

export function toJournalError(error: unknown): JournalError {
  if (error instanceof FaultlineError) return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { code: 'E_DRIVER', message: errorMessage(error) };
}

export function driverContext(env: ActivityEnvironment, driver: Driver, signal: AbortSignal, logs: string[]): DriverContext {
  return buildDriverContext(env, driver, signal, (message) => logs.push(message));
}

/** Parses arguments with the entry's schema; a mismatch is the user's input error, reported by path. */
export function parseArgs<A>(schema: ZodType<A>, args: unknown, where: string): A {
  const result = schema.safeParse(args ?? {});
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => `${[where, ...issue.path].join('.')}: ${issue.message}`).join('; ');
  throw new FaultlineError('E_INPUT', `invalid arguments: ${details}`, { hint: 'Run `faultline drivers` to see each entry\'s arguments.' });
}

/**
 * Runs work under a deadline and the parent signal. The returned promise settles by the deadline even
 * when the work ignores its signal: a hung driver must not hang the run.
 */
export async function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  parent: AbortSignal | undefined,
  what: string,
): Promise<T> {
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(abortReason(parent!));
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new FaultlineError('E_TIMEOUT', `${what} timed out after ${formatDuration(timeoutMs)}`, { hint: 'Raise its `timeout`, or find out why it hangs.' })),
    timeoutMs,
  );
  try {
    return await new Promise<T>((resolve, reject) => {
      if (controller.signal.aborted) return reject(abortReason(controller.signal));
      controller.signal.addEventListener('abort', () => reject(abortReason(controller.signal)), { once: true });
      work(controller.signal).then(resolve, reject);
    });
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onParentAbort);
  }
}

function baseRecord(call: ActivityCall, kind: ActivityRecord['kind'], startedAt: Date): ActivityRecord {
  return {
    key: call.key,
    phase: call.phase,
    kind,
    ref: call.ref,
    name: call.name,
    startedAt: startedAt.toISOString(),
    endedAt: startedAt.toISOString(),
    durationMs: 0,
    status: 'succeeded',
  };
}

function statusOf(error: unknown, signal: AbortSignal): ActivityRecord['status'] {
  if (error instanceof FaultlineError && error.code === 'E_TIMEOUT') return 'timeout';
  if (signal.aborted) return 'cancelled';
  return 'failed';
}

export async function runProbe(env: ActivityEnvironment, call: ProbeCall, signal: AbortSignal): Promise<ActivityRecord> {
  const started = env.clock.now();
  const record = baseRecord(call, 'probe', env.clock.date());
  const logs: string[] = [];
  const finish = () => {
    record.endedAt = env.clock.date().toISOString();
    record.durationMs = Math.round(env.clock.now() - started);
    if (logs.length > 0) record.logs = logs;
    return record;
  };
  try {
    const { driver, entry } = env.registry.resolveProbe(call.ref);
    const resolved = resolveStepReferences(call.args ?? {}, env.outputs, call.key);
    record.args = resolved;
    const args = parseArgs(entry.args, resolved, 'with');
    const expect = (call.expect ?? entry.defaultExpect ?? {}) as Record<string, Matcher>;
    const timeoutMs = call.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    const deadline = call.until ? started + call.until.within : started;
    let attempts = 0;
    // Bounded: each attempt is bounded by timeoutMs, and attempts stop once `within` has passed.
    for (;;) {
      attempts += 1;
      const output: Output = await withDeadline((s) => entry.run(args, driverContext(env, driver, s, logs)), timeoutMs, signal, `probe ${call.name}`);
      const misses = checkExpectations(output, expect);
      record.output = output;
      record.misses = misses;
      if (misses.length === 0 || !call.until || env.clock.now() + call.until.every > deadline) break;
      await env.clock.sleep(call.until.every, signal);
    }
    record.status = record.misses?.length ? 'missed' : 'succeeded';
    if (call.until) {
      record.attempts = attempts;
      record.waitedMs = Math.round(env.clock.now() - started);
    }
  } catch (error) {
    record.status = statusOf(error, signal);
    record.error = toJournalError(error);
  }
  return finish();
}

export interface ActionResult {
  record: ActivityRecord;
  output?: Output;
}

export async function runAction(env: ActivityEnvironment, call: ActivityCall, signal: AbortSignal): Promise<ActionResult> {
  const started = env.clock.now();
  const record = baseRecord(call, 'action', env.clock.date());
  const logs: string[] = [];
  let output: Output | undefined;
  try {
    const { driver, entry } = env.registry.resolveAction(call.ref);
    const resolved = resolveStepReferences(call.args ?? {}, env.outputs, call.key);
    record.args = resolved;
    const args = parseArgs(entry.args, resolved, 'with');
    output = await withDeadline(
      async (s) => {
        const context = driverContext(env, driver, s, logs);
        const prepared = await entry.prepare(args, context);
        record.targets = prepared.targets;
        return entry.apply(args, prepared, context);
      },
      call.timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS,
      signal,
      `action ${call.name}`,
    );
    record.output = output;
  } catch (error) {
    record.status = statusOf(error, signal);
    record.error = toJournalError(error);
  }
  record.endedAt = env.clock.date().toISOString();
  record.durationMs = Math.round(env.clock.now() - started);
  if (logs.length > 0) record.logs = logs;
  return output === undefined ? { record } : { record, output };
}
