// The fault proxy driven as a run drives it (provision, faults, readings, undos), for the tests that
// put real clients and servers on either side of it.
import { randomBytes } from 'node:crypto';
import { faultproxyDriver } from '../../src/drivers/faultproxy/index.js';
import { runUndo } from '../../src/safety/undo.js';
import { createDefaultRegistry } from '../../src/drivers/builtin.js';
import type { DriverContext, PreparedAction, ReachEvidence, UndoSpec } from '../../src/drivers/types.js';
import { testDriverContext } from './driver-context.js';
import { systemClock } from '../../src/core/clock.js';

export interface RunningFaultProxy {
  ctx: DriverContext;
  pid: number;
  /** host:port of a declared proxy. */
  listen(name: string): string;
  port(name: string): number;
  /** Applies a fault as a run does; returns its undo and a reader of its evidence of reach. */
  fault(kind: keyof typeof faultproxyDriver.actions, args: Record<string, unknown>): Promise<AppliedFault>;
  undo(spec: UndoSpec): Promise<string[]>;
  stop(): Promise<string[]>;
}

export interface AppliedFault {
  undo: UndoSpec;
  /** Reads the counters now and judges them as the engine would after the undo. */
  reach(): Promise<ReachEvidence>;
  remove(): Promise<string[]>;
}

export async function startFaultProxy(proxies: Record<string, unknown>[], options: { seed?: number; cwd?: string } = {}): Promise<RunningFaultProxy> {
  const runId = `t${randomBytes(4).toString('hex')}`;
  const logs: string[] = [];
  const ctx = testDriverContext({ runId, seed: options.seed ?? 1, cwd: options.cwd ?? process.cwd(), target: faultproxyDriver.target.parse({ proxies }), log: (m) => logs.push(m) });
  const prepared = (await faultproxyDriver.provision.prepare(ctx))!;
  const output = (await faultproxyDriver.provision.apply(prepared, ctx)) as { pid: number; listen: Record<string, string> };
  const registry = await createDefaultRegistry();
  const undo = async (spec: UndoSpec) => {
    const undoLogs: string[] = [];
    await runUndo({ cwd: ctx.cwd, env: ctx.env, registry, targets: new Map([['faultproxy', ctx.target]]), runId, clock: systemClock } as never, spec, undoLogs);
    return undoLogs;
  };
  return {
    ctx,
    pid: output.pid,
    listen: (name) => output.listen[name]!,
    port: (name) => Number(output.listen[name]!.split(':').pop()),
    async fault(kind, raw) {
      const action = faultproxyDriver.actions[kind];
      const args = action.args.parse(raw);
      const prepared: PreparedAction = await action.prepare(args, ctx);
      await action.apply(args, prepared, ctx);
      const applied = await action.readReach!(args, prepared, ctx);
      return {
        undo: prepared.undo!,
        reach: async () => action.judgeReach!(args, { applied, undone: await action.readReach!(args, prepared, ctx) }),
        remove: () => undo(prepared.undo!),
      };
    },
    undo,
    stop: () => undo(prepared.undo!),
  };
}
