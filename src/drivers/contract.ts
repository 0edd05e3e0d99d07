// A driver defined once with its types: `defineDriver<Target, Session>()` types every entry's context
// (its parsed `targets.<driver>` settings and its run-scoped session) and every action's prepared state,
// so no driver casts what the engine hands it, and a driver keeps run state in its session rather than
// in module globals. The result is a plain Driver: the engine and the registry see no generics.
import type {
  ActionDefinition,
  Driver,
  DriverContext,
  DriverOption,
  ProbeDefinition,
  ProvisionDefinition,
  SessionContext,
  UndoDefinition,
} from './types.js';
import type { ZodType } from 'zod';

type Actions<C> = Record<string, ActionDefinition<any, any, C>>;
type Probes<C> = Record<string, ProbeDefinition<any, C>>;
type Undos<C> = Record<string, UndoDefinition<any, C>>;

/** Everything a driver declares, with its entries typed for its context. */
export interface DriverDefinition<
  Target,
  Session,
  A extends Actions<DriverContext<Target, Session>> = Actions<DriverContext<Target, Session>>,
  P extends Probes<DriverContext<Target, Session>> = Probes<DriverContext<Target, Session>>,
  U extends Undos<DriverContext<Target, Session>> = Undos<DriverContext<Target, Session>>,
> {
  name: string;
  description: string;
  /** Schema of `targets.<name>`; what it parses to is the Target every entry sees. */
  target?: ZodType<Target>;
  /** Makes the session: once per run, plan or recover, at the first entry that runs. */
  session?(ctx: SessionContext<Target>): Session;
  options?: readonly DriverOption[];
  preflight?(ctx: DriverContext<Target, Session>): Promise<void>;
  // `any` state: the provision declares its own, checked where it is written.
  provision?: ProvisionDefinition<any, DriverContext<Target, Session>>;
  defaultProbe?: string;
  defaultAction?: string;
  actions: A;
  probes: P;
  undos: U;
}

/** A Driver that keeps the names of its entries, so its tests can call `driver.actions.latency` directly. */
export type DefinedDriver<A extends string, P extends string, U extends string> = Omit<Driver, 'actions' | 'probes' | 'undos'> & {
  actions: Record<A, ActionDefinition>;
  probes: Record<P, ProbeDefinition>;
  undos: Record<U, UndoDefinition>;
};

/**
 * Defines a driver. Target is what its `target` schema parses to and Session what its `session` makes;
 * both are inferred, or given: `defineDriver<KubernetesTarget, undefined>({...})`. Each entry is typed
 * with that context (write entries in other files with the driver's own aliases of ActionDefinition).
 */
export function defineDriver<
  Target = unknown,
  Session = undefined,
  A extends Actions<DriverContext<Target, Session>> = Actions<DriverContext<Target, Session>>,
  P extends Probes<DriverContext<Target, Session>> = Probes<DriverContext<Target, Session>>,
  U extends Undos<DriverContext<Target, Session>> = Undos<DriverContext<Target, Session>>,
>(definition: DriverDefinition<Target, Session, A, P, U>): DefinedDriver<keyof A & string, keyof P & string, keyof U & string> {
  // The one place the typed definition meets the untyped registry: every context is built by
  // drivers/context.ts with this driver's own parsed target and its own session, so the types hold.
  return definition as unknown as DefinedDriver<keyof A & string, keyof P & string, keyof U & string>;
}
