// The explicit map from driver name to driver. No import side effects: a driver exists here or nowhere.
// A driver may be registered by a loader instead: its module (schemas, implementation) loads only when an
// experiment names it, so `validate` of an HTTP-and-process experiment never loads the Kubernetes driver.
import { FaultlineError } from '../core/errors.js';
import { closestName } from '../core/closest-name.js';
import type { ActionDefinition, Driver, ProbeDefinition, UndoDefinition } from './types.js';

export interface ResolvedEntry<T> {
  driver: Driver;
  /** Canonical `driver.entry` name. */
  ref: string;
  entry: T;
}

/** Loads a driver's module; called at most once per registry. */
export type DriverLoader = () => Promise<Driver>;

export class DriverRegistry {
  private readonly drivers = new Map<string, Driver>();
  private readonly pending = new Map<string, DriverLoader>();
  /** Registration order: lists keep it whatever order the loaders finish in. */
  private readonly order: string[] = [];

  constructor(drivers: Driver[], loaders: ReadonlyMap<string, DriverLoader> = new Map()) {
    for (const driver of drivers) this.add(driver);
    for (const [name, loader] of loaders) {
      if (this.drivers.has(name) || this.pending.has(name)) throw new FaultlineError('E_INTERNAL', `driver "${name}" is registered twice`);
      this.pending.set(name, loader);
      this.order.push(name);
    }
  }

  /**
   * Loads the named drivers that are not loaded yet. A name no driver has loads every driver, so the
   * "unknown driver" problem that follows lists them all.
   */
  async load(names: Iterable<string>): Promise<void> {
    const wanted = [...new Set(names)];
    if (wanted.some((name) => !this.drivers.has(name) && !this.pending.has(name))) return this.loadAll();
    await Promise.all(wanted.map((name) => this.loadOne(name)));
  }

  async loadAll(): Promise<void> {
    await Promise.all([...this.pending.keys()].map((name) => this.loadOne(name)));
  }

  /** True while some registered driver is not loaded: lists and hints then miss it. */
  get partial(): boolean {
    return this.pending.size > 0;
  }

  list(): Driver[] {
    this.assertComplete('listing the drivers');
    return this.order.map((name) => this.drivers.get(name)!);
  }

  get(name: string): Driver {
    const driver = this.drivers.get(name);
    if (!driver) {
      if (this.pending.has(name)) throw notLoaded(name);
      throw new FaultlineError('E_INPUT', `unknown driver "${name}"`, { hint: this.suggest(name, this.driverNames()) });
    }
    return driver;
  }

  /** Every registered driver's name, loaded or not, in registration order. */
  driverNames(): string[] {
    return [...this.order];
  }

  has(name: string): boolean {
    return this.drivers.has(name) || this.pending.has(name);
  }

  resolveProbe(ref: string): ResolvedEntry<ProbeDefinition> {
    return this.resolve(ref, 'probe');
  }

  resolveAction(ref: string): ResolvedEntry<ActionDefinition> {
    return this.resolve(ref, 'action');
  }

  resolveUndo(driverName: string, op: string): UndoDefinition {
    const driver = this.get(driverName);
    // Own properties only: "constructor" or "toString" must not reach the object's prototype.
    const undo = Object.hasOwn(driver.undos, op) ? driver.undos[op] : undefined;
    if (!undo) throw new FaultlineError('E_LEDGER', `driver "${driverName}" has no undo operation "${op}"`);
    return undo;
  }

  /** Every `driver.entry` name of a kind, for hints and the catalog. */
  names(kind: 'probe' | 'action'): string[] {
    this.assertComplete('listing the probes and actions');
    return this.entryNames(kind);
  }

  /** The entries of the loaded drivers, and the names of those not loaded yet (for a hint). */
  private entryNames(kind: 'probe' | 'action'): string[] {
    const names: string[] = [...this.pending.keys()];
    for (const driver of this.order.flatMap((name) => this.drivers.get(name) ?? [])) {
      const entries = kind === 'probe' ? driver.probes : driver.actions;
      const fallback = kind === 'probe' ? driver.defaultProbe : driver.defaultAction;
      if (fallback) names.push(driver.name);
      for (const entry of Object.keys(entries)) names.push(`${driver.name}.${entry}`);
    }
    return names;
  }

  private resolve<K extends 'probe' | 'action'>(
    ref: string,
    kind: K,
  ): ResolvedEntry<K extends 'probe' ? ProbeDefinition : ActionDefinition> {
    const dot = ref.indexOf('.');
    const driverName = dot === -1 ? ref : ref.slice(0, dot);
    if (this.pending.has(driverName)) throw notLoaded(driverName);
    const driver = this.drivers.get(driverName);
    const entryName = dot === -1 ? (kind === 'probe' ? driver?.defaultProbe : driver?.defaultAction) : ref.slice(dot + 1);
    const entries = driver ? (kind === 'probe' ? driver.probes : driver.actions) : undefined;
    // Own properties only: `probe: http.constructor` must not reach the object's prototype.
    const entry = entryName === undefined || !entries || !Object.hasOwn(entries, entryName) ? undefined : entries[entryName];
    if (!driver || !entry) {
      throw new FaultlineError('E_INPUT', `unknown ${kind} "${ref}"`, { hint: this.suggest(ref, this.entryNames(kind)) });
    }
    return { driver, ref: `${driver.name}.${entryName}`, entry: entry as never };
  }

  private add(driver: Driver): void {
    if (this.drivers.has(driver.name)) throw new FaultlineError('E_INTERNAL', `driver "${driver.name}" is registered twice`);
    this.drivers.set(driver.name, driver);
    if (!this.order.includes(driver.name)) this.order.push(driver.name);
  }

  private async loadOne(name: string): Promise<void> {
    const loader = this.pending.get(name);
    if (!loader) return;
    const driver = await loader();
    // Two load() calls may race for one driver: the first to finish registers it.
    if (!this.pending.has(name)) return;
    this.pending.delete(name);
    if (driver.name !== name) throw new FaultlineError('E_INTERNAL', `the loader of driver "${name}" gave driver "${driver.name}"`);
    this.add(driver);
  }

  /** A list read from a partly loaded registry would silently miss drivers: a bug, said so. */
  private assertComplete(what: string): void {
    if (this.pending.size > 0) {
      throw new FaultlineError('E_INTERNAL', `${what} before every driver was loaded (not loaded: ${[...this.pending.keys()].join(', ')})`, {
        hint: 'this is a bug in faultline: call registry.loadAll() first',
      });
    }
  }

  private suggest(name: string, known: string[]): string {
    if (known.length === 0) return 'no driver is registered that offers one';
    const close = closestName(name, known);
    return close ? `did you mean ${close}? Known: ${known.join(', ')}` : `known: ${known.join(', ')}`;
  }
}

function notLoaded(name: string): FaultlineError {
  return new FaultlineError('E_INTERNAL', `driver "${name}" was used before it was loaded`, {
    hint: 'this is a bug in faultline: the experiment\'s drivers are loaded (registry.load) before it is checked or run',
  });
}
