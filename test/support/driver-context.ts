// A DriverContext for calling a driver's actions, probes and undos directly in its tests.
import type { DriverContext } from '../../src/drivers/types.js';

export function testDriverContext(overrides: Partial<DriverContext> = {}): DriverContext {
  return {
    cwd: process.cwd(),
    env: process.env,
    signal: new AbortController().signal,
    target: undefined,
    runId: 'test',
    seed: 1,
    log: () => {},
    ...overrides,
  };
}
