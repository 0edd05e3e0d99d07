import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildDriverContext, DriverSessions, type DriverScope } from './context.js';
import { defineDriver } from './contract.js';
import { DriverRegistry } from './registry.js';
import type { ActionDefinition, Driver, DriverContext, SessionContext } from './types.js';

const counterTarget = z.strictObject({ start: z.int() });

function counterDriver(made: { count: number }) {
  return defineDriver({
    name: 'counter',
    description: 'counts in its session',
    target: counterTarget,
    options: [{ flags: '--step <n>', key: 'step', description: 'step' }],
    // The session's type is inferred from what this returns (a typed parameter keeps it so).
    session: (ctx: SessionContext<z.output<typeof counterTarget>>) => {
      made.count++;
      return { value: ctx.target?.start ?? 0 };
    },
    actions: {
      bump: {
        description: 'adds one to the session and hands the old value to apply',
        args: z.strictObject({}),
        reversible: false,
        async prepare(_args, ctx) {
          // Typed: ctx.session is { value: number }, the state a number; no casts.
          return { targets: [`counter at ${ctx.session.value}`], undo: null, state: ctx.session.value };
        },
        async apply(_args, prepared, ctx) {
          ctx.session.value = prepared.state + 1;
          return { value: ctx.session.value, step: ctx.options.step };
        },
      } satisfies ActionDefinition<Record<string, never>, number, DriverContext<z.output<typeof counterTarget>, { value: number }>>,
    },
    probes: {},
    undos: {},
  });
}

// Written against the contract as it was before defineDriver: still a Driver, still registered.
const legacyDriver = {
  name: 'legacy',
  description: 'an untyped driver',
  actions: {
    touch: {
      description: 'reads its target as unknown',
      args: z.strictObject({}),
      reversible: false,
      async prepare(_args, ctx: DriverContext) {
        return { targets: [String(ctx.target)], undo: null, state: 1 };
      },
      async apply() {
        return {};
      },
    } satisfies ActionDefinition,
  },
  probes: {},
  undos: {},
} satisfies Driver;

function scope(overrides: Partial<DriverScope> = {}): DriverScope {
  return { cwd: '/', env: {}, runId: 'r1', seed: 7, targets: new Map<string, unknown>([['counter', { start: 40 }], ['legacy', 'raw']]), ...overrides };
}

describe('buildDriverContext', () => {
  it('gives a driver its own target, options and session, made once per run and shared by its steps', async () => {
    const made = { count: 0 };
    const driver = counterDriver(made);
    const run = scope({ driverOptions: new Map([['counter', { step: '2' }], ['kubernetes', { context: 'prod' }]]) });
    const signal = new AbortController().signal;
    const first = buildDriverContext(run, driver, signal, () => {});
    const bump = driver.actions.bump;
    const prepared = await bump.prepare({}, first);
    expect(prepared.targets).toEqual(['counter at 40']);
    expect(await bump.apply({}, prepared, first)).toEqual({ value: 41, step: '2' });
    // A later step of the same run sees what the first left in the session.
    const second = buildDriverContext(run, driver, signal, () => {});
    expect((await bump.prepare({}, second)).targets).toEqual(['counter at 41']);
    expect(made.count).toBe(1);
    // Another driver's options never reach this one.
    expect(first.options).toEqual({ step: '2' });
    // A new run (or recover) starts from a new session.
    const other = buildDriverContext(scope(), driver, signal, () => {});
    expect((await bump.prepare({}, other)).targets).toEqual(['counter at 40']);
    expect(made.count).toBe(2);
  });

  it('keeps the sessions given with the scope, and gives a driver without a session factory none', () => {
    const sessions = new DriverSessions();
    const made = { count: 0 };
    const driver = counterDriver(made);
    buildDriverContext(scope({ sessions }), driver, new AbortController().signal, () => {});
    buildDriverContext(scope({ sessions }), driver, new AbortController().signal, () => {});
    expect(made.count).toBe(1);
    const legacy = buildDriverContext(scope({ sessions }), legacyDriver, new AbortController().signal, () => {});
    expect(legacy.session).toBeUndefined();
    expect(legacy.target).toBe('raw');
    expect(legacy.options).toEqual({});
  });

  it('registers typed and untyped drivers side by side', () => {
    const registry = new DriverRegistry([counterDriver({ count: 0 }), legacyDriver]);
    expect(registry.names('action')).toEqual(['counter.bump', 'legacy.touch']);
  });
});
