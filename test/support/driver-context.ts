// A DriverContext for calling a driver's actions, probes and undos directly in its tests, built by the
// same function as the engine's (drivers/context.ts). Give the driver when its entries use its session;
// contexts made from one `sessions` share it, as the steps of one run do.
import { buildDriverContext, DriverSessions } from '../../src/drivers/context.js';
import type { Driver, DriverContext } from '../../src/drivers/types.js';

const NO_DRIVER: Driver = { name: 'test', description: 'no driver', actions: {}, probes: {}, undos: {} };

// Typed `any` so a test can hand it to any driver's entries, whatever their Target and Session.
export function testDriverContext(overrides: Partial<DriverContext<any, any>> = {}, driver: Driver = NO_DRIVER, sessions = new DriverSessions()): DriverContext<any, any> {
  const log = overrides.log ?? (() => {});
  const scope = {
    cwd: overrides.cwd ?? process.cwd(),
    env: overrides.env ?? process.env,
    runId: overrides.runId ?? 'test',
    seed: overrides.seed ?? 1,
    targets: new Map([[driver.name, overrides.target]]),
    driverOptions: new Map([[driver.name, overrides.options ?? {}]]),
    sessions,
  };
  return { ...buildDriverContext(scope, driver, overrides.signal ?? new AbortController().signal, log), ...overrides };
}
