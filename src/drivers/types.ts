// The one small interface every driver implements: named actions and probes, each with its own
// argument schema, and undo operations that are data so a new process can replay them.
import type { z } from 'zod';

/** How to undo a fault, as data: `faultline recover` can replay it from the ledger after a crash. */
export interface UndoSpec {
  driver: string;
  op: string;
  args: Record<string, unknown>;
}

/**
 * What a driver's entries are called with. `Target` is the driver's parsed `targets.<driver>` settings,
 * `Session` what its `session` factory made for this run (see defineDriver in contract.ts).
 */
export interface DriverContext<Target = unknown, Session = unknown> {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the activity times out or the run is being stopped. */
  signal: AbortSignal;
  /** This driver's validated `targets.<driver>` settings from the experiment (undefined when absent). */
  target: Target | undefined;
  /** This driver's run-scoped session: made once per run (or recover, or plan) by Driver.session. */
  session: Session;
  /** This driver's own command-line options (Driver.options), by key; no other driver sees them. */
  options: DriverOptionValues;
  runId: string;
  /** Seed for random target selection (settings.seed, --seed, or drawn at random and journaled), so a run can be replayed. */
  seed: number;
  /** A line for the journal, attached to the running activity. */
  log(message: string): void;
}

/** A command-line option a driver declares for `run` and `plan` (`--context <name>` for kubernetes). */
export interface DriverOption {
  /** Commander's flags: `--context <name>` takes a value, `--allow-production` is a switch. */
  flags: string;
  /** The key the value is read under in DriverContext.options: `context`, `allowProduction`. */
  key: string;
  description: string;
}

export type DriverOptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** What a session factory is given: the run's scope, without an activity's signal or log. */
export type SessionContext<Target = unknown> = Omit<DriverContext<Target, never>, 'session' | 'signal' | 'log'>;

export type Output = Record<string, unknown>;

export interface ProbeDefinition<A = any, C = DriverContext> {
  description: string;
  args: z.ZodType<A>;
  /** Names and meanings of the fields in the probe's output, for `faultline drivers` and hints. */
  outputs: Record<string, string>;
  /** Expectations applied when the experiment declares none (an http probe passes on 2xx/3xx, say). */
  defaultExpect?: Record<string, unknown>;
  run(args: A, ctx: C): Promise<Output>;
}

/**
 * What an action will do, resolved without changing anything: the basis of plan, dry run and the ledger.
 * `S` is the driver-private state handed on to apply: required when the action declares one.
 */
export type PreparedAction<S = unknown> = {
  /** What will be touched, readable: `pid 4242 (node backend.mjs)`. */
  targets: string[];
  /** How to undo it, or null when nothing can undo it (a kill). Undo must be idempotent. */
  undo: UndoSpec | null;
} & (unknown extends S ? { state?: unknown } : undefined extends S ? { state?: S } : { state: S });

/**
 * What a fault does to a request that meets it, declared by the action from its arguments: the
 * verdicts use it to tell whether the fault was strong enough to break their bound on a system
 * without the mechanism (a 200 ms delay cannot test a p99 bound of 1.5 s).
 */
export interface FaultEffect {
  /** Delay added to each request that crosses it, in ms (the guaranteed part: latency minus jitter). Infinity: a black hole. */
  delayMs?: number;
  /** Share (0 to 1) of the requests or connections crossing it that fail. */
  failShare?: number;
  /**
   * True when failShare is drawn per connection (Toxiproxy's toxicity): callers that reuse connections
   * may meet it on no request at all, so the share says nothing about requests.
   */
  perConnection?: boolean;
  /** The target stops answering (kill, stop, pause, down, partition): an outage for the fault's duration. */
  outage?: 'refused' | 'black-hole';
}

/** The driver's own counters for a fault's targets (bytes through a proxy, requests seen and faulted). */
export interface ReachReading {
  counters: Record<string, number>;
  /** Why this driver cannot tell here (an external Toxiproxy without -proxy-metrics, say). */
  unavailable?: string;
}

/**
 * Whether a fault acted on the workload's requests, from the driver's view: read when the workload's
 * baseline starts, when the fault is applied and when it is undone. `reached` is null when the driver
 * cannot tell; the verdicts then need the traffic itself to show it.
 */
export interface ReachEvidence {
  source: 'driver' | 'injected';
  reached: boolean | null;
  /** One sentence with the numbers: "1.2 MB crossed proxy backend-a while the latency toxic was live". */
  summary: string;
  /** Exact counts where the driver injects the fault itself: requests seen, faulted, passed. */
  counts?: { seen: number; faulted: number; passed: number };
}

export interface ReachReadings {
  /** At the start of the workload's baseline (absent without a workload or when not read). */
  baseline?: ReachReading;
  applied: ReachReading;
  undone?: ReachReading;
}

/** An action; `S` is the state its prepare hands to apply, `C` the context its driver's entries get. */
export interface ActionDefinition<A = any, S = unknown, C = DriverContext> {
  description: string;
  args: z.ZodType<A>;
  /** True when this action changes the system in a way a fault's undo must reverse. */
  reversible: boolean;
  /** Resolves targets and the undo. Must make no mutating call: plan and --dry-run rely on it. */
  prepare(args: A, ctx: C): Promise<PreparedAction<S>>;
  apply(args: A, prepared: PreparedAction<S>, ctx: C): Promise<Output>;
  /**
   * A run that prepared the fault ahead of its instant calls this just before the instant: true when the
   * prepared targets are still there as prepared; false when one vanished or was replaced, and the run
   * prepares the fault again at the instant. It may ready what apply needs at the instant (an event
   * subscription), kept in the driver's session: ctx.signal aborts once the fault is applied or dropped,
   * and whatever it opened closes with it. Must make no mutating call. Absent: apply finds out alone.
   */
  recheck?(args: A, prepared: PreparedAction<S>, ctx: C): Promise<boolean>;
  /** What the fault does to a request that meets it; absent when the driver cannot say. */
  effect?(args: A): FaultEffect;
  /** Reads the driver's counters for the prepared targets. Must make no mutating call. */
  readReach?(args: A, prepared: PreparedAction<S>, ctx: C): Promise<ReachReading>;
  /** Turns the readings into evidence of reach; absent readReach means no driver evidence. */
  judgeReach?(args: A, readings: ReachReadings): ReachEvidence;
}

export interface UndoDefinition<A = any, C = DriverContext> {
  args: z.ZodType<A>;
  /** Must succeed when run twice, and when the fault was never applied or its target is gone. */
  run(args: A, ctx: C): Promise<void>;
}

/**
 * What a driver sets up for a whole run from its `targets` settings (a server it manages, objects the
 * experiment declares), before the setup, since the system under test may need it when it starts. It
 * goes through the ledger like a fault: prepare makes no mutating call and returns the undo as data,
 * written to the ledger before apply; the engine undoes it after the teardown (and `faultline recover`
 * after a crash).
 */
export interface ProvisionDefinition<S = unknown, C = DriverContext> {
  /** null when the experiment asks for nothing to be set up. */
  prepare(ctx: C): Promise<PreparedAction<S> | null>;
  apply(prepared: PreparedAction<S>, ctx: C): Promise<Output>;
}

export interface Driver {
  name: string;
  description: string;
  /** Schema of `targets.<name>` in an experiment: connection settings and allow-lists. */
  target?: z.ZodType;
  /**
   * Makes the driver's run-scoped session (connections, a server it started), once per run, plan or
   * recover, on first use. Cheap and synchronous: a client library is imported at its first call.
   */
  session?(ctx: SessionContext): unknown;
  /** Command-line options of `run` and `plan` that only this driver reads (DriverContext.options). */
  options?: readonly DriverOption[];
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
