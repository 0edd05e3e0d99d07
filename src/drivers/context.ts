// The one place a DriverContext is built, for runs, plan and `faultline recover` alike: each driver gets
// its own parsed targets, its own command-line options and its own run-scoped session, and nothing of
// any other driver's.
import type { Driver, DriverContext, DriverOptionValues, SessionContext } from './types.js';

/** What a run (or plan, or recover) knows that every driver context is made from. */
export interface DriverScope {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  runId: string;
  seed: number;
  /** Parsed `targets.<driver>` settings by driver name. */
  targets: ReadonlyMap<string, unknown>;
  /** Values of the drivers' own command-line options, by driver name. */
  driverOptions?: ReadonlyMap<string, DriverOptionValues>;
  /** The drivers' sessions of this run; absent: made here on first use and kept with the scope. */
  sessions?: DriverSessions;
}

const NO_OPTIONS: DriverOptionValues = Object.freeze({});

/** The sessions of one run, one per driver, each made at the first entry of that driver that runs. */
export class DriverSessions {
  private readonly made = new Map<string, unknown>();

  for(driver: Driver, ctx: SessionContext): unknown {
    if (!driver.session) return undefined;
    if (!this.made.has(driver.name)) this.made.set(driver.name, driver.session(ctx));
    return this.made.get(driver.name);
  }
}

/** The options a driver declared, with the values given on the command line (others are dropped). */
export function optionsFor(driver: Driver, given: ReadonlyMap<string, DriverOptionValues> | undefined): DriverOptionValues {
  return given?.get(driver.name) ?? NO_OPTIONS;
}

export function buildDriverContext(scope: DriverScope, driver: Driver, signal: AbortSignal, log: (message: string) => void): DriverContext {
  const base: SessionContext = {
    cwd: scope.cwd,
    env: scope.env,
    target: scope.targets.get(driver.name),
    options: optionsFor(driver, scope.driverOptions),
    runId: scope.runId,
    seed: scope.seed,
  };
  scope.sessions ??= new DriverSessions();
  return { ...base, signal, log, session: scope.sessions.for(driver, base) };
}
