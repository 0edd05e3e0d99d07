// The one small interface every driver implements: named actions and probes, each with its own
// argument schema, and undo operations that are data so a new process can replay them.
import type { z } from 'zod';

/** How to undo a fault, as data: `faultline recover` can replay it from the ledger after a crash. */
export interface UndoSpec {
  driver: string;
  op: string;
  args: Record<string, unknown>;
}

export interface DriverContext {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the activity times out or the run is being stopped. */
  signal: AbortSignal;
  /** This driver's validated `targets.<driver>` settings from the experiment (undefined when absent). */
  target: unknown;
  runId: string;
  /** Seed for random target selection (settings.seed, --seed, or drawn at random and journaled), so a run can be replayed. */
  seed: number;
  /** A line for the journal, attached to the running activity. */
  log(message: string): void;
  /** Command-line choices for drivers: `--context` (a kubeconfig context) and `--allow-production`. */
  flags?: DriverFlags;
}

export interface DriverFlags {
  /** The kubeconfig context to use instead of the experiment's or the kubeconfig's current one. */
  context?: string;
  /** Confirms a run against a context whose name looks like production. */
  allowProduction?: boolean;
}

export type Output = Record<string, unknown>;

export interface ProbeDefinition<A = any> {
  description: string;
  args: z.ZodType<A>;
  /** Names and meanings of the fields in the probe's output, for `faultline drivers` and hints. */
  outputs: Record<string, string>;
  /** Expectations applied when the experiment declares none (an http probe passes on 2xx/3xx, say). */
  defaultExpect?: Record<string, unknown>;
  run(args: A, ctx: DriverContext): Promise<Output>;
}

/** What an action will do, resolved without changing anything: the basis of plan, dry run and the ledger. */
export interface PreparedAction {
  /** What will be touched, readable: `pid 4242 (node backend.mjs)`. */
  targets: string[];
  /** How to undo it, or null when nothing can undo it (a kill). Undo must be idempotent. */
  undo: UndoSpec | null;
  /** Driver-private data handed on to apply. */
  state?: unknown;
}

export interface ActionDefinition<A = any> {
  description: string;
  args: z.ZodType<A>;
  /** True when this action changes the system in a way a fault's undo must reverse. */
  reversible: boolean;
  /** Resolves targets and the undo. Must make no mutating call: plan and --dry-run rely on it. */
  prepare(args: A, ctx: DriverContext): Promise<PreparedAction>;
  apply(args: A, prepared: PreparedAction, ctx: DriverContext): Promise<Output>;
}

export interface UndoDefinition<A = any> {
  args: z.ZodType<A>;
  /** Must succeed when run twice, and when the fault was never applied or its target is gone. */
  run(args: A, ctx: DriverContext): Promise<void>;
}

/**
 * What a driver sets up for a whole run from its `targets` settings (a server it manages, objects the
 * experiment declares), before the setup, since the system under test may need it when it starts. It
 * goes through the ledger like a fault: prepare makes no mutating call and returns the undo as data,
 * written to the ledger before apply; the engine undoes it after the teardown (and `faultline recover`
 * after a crash).
 */
export interface ProvisionDefinition {
  /** null when the experiment asks for nothing to be set up. */
  prepare(ctx: DriverContext): Promise<PreparedAction | null>;
  apply(prepared: PreparedAction, ctx: DriverContext): Promise<Output>;
}

export interface Driver {
  name: string;
  description: string;
  /** Schema of `targets.<name>` in an experiment: connection settings and allow-lists. */
  target?: z.ZodType;
  /** Checks reachability and permissions before any fault is applied. */
  preflight?(ctx: DriverContext): Promise<void>;
  provision?: ProvisionDefinition;
  /** The entry a bare reference resolves to: `probe: http` means `http.<defaultProbe>`. */
  defaultProbe?: string;
  defaultAction?: string;
  actions: Record<string, ActionDefinition>;
  probes: Record<string, ProbeDefinition>;
  undos: Record<string, UndoDefinition>;
}
