// The explicit map from driver name to driver. No import side effects: a driver exists here or nowhere.
import { FaultlineError } from '../core/errors.js';
import { closestName } from '../core/closest-name.js';
import type { ActionDefinition, Driver, ProbeDefinition, UndoDefinition } from './types.js';

export interface ResolvedEntry<T> {
  driver: Driver;
  /** Canonical `driver.entry` name. */
  ref: string;
  entry: T;
}

export class DriverRegistry {
  private readonly drivers = new Map<string, Driver>();

  constructor(drivers: Driver[]) {
    for (const driver of drivers) {
      if (this.drivers.has(driver.name)) throw new FaultlineError('E_INTERNAL', `driver "${driver.name}" is registered twice`);
      this.drivers.set(driver.name, driver);
    }
  }

  list(): Driver[] {
    return [...this.drivers.values()];
  }

  get(name: string): Driver {
    const driver = this.drivers.get(name);
    if (!driver) {
      throw new FaultlineError('E_INPUT', `unknown driver "${name}"`, { hint: this.suggest(name, [...this.drivers.keys()]) });
    }
    return driver;
  }

  has(name: string): boolean {
    return this.drivers.has(name);
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
    const names: string[] = [];
    for (const driver of this.drivers.values()) {
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
    const driver = this.drivers.get(driverName);
    const entryName = dot === -1 ? (kind === 'probe' ? driver?.defaultProbe : driver?.defaultAction) : ref.slice(dot + 1);
    const entries = driver ? (kind === 'probe' ? driver.probes : driver.actions) : undefined;
    // Own properties only: `probe: http.constructor` must not reach the object's prototype.
    const entry = entryName === undefined || !entries || !Object.hasOwn(entries, entryName) ? undefined : entries[entryName];
    if (!driver || !entry) {
      throw new FaultlineError('E_INPUT', `unknown ${kind} "${ref}"`, { hint: this.suggest(ref, this.names(kind)) });
    }
    return { driver, ref: `${driver.name}.${entryName}`, entry: entry as never };
  }

  private suggest(name: string, known: string[]): string {
    if (known.length === 0) return 'no driver is registered that offers one';
    const close = closestName(name, known);
    return close ? `did you mean ${close}? Known: ${known.join(', ')}` : `known: ${known.join(', ')}`;
  }
}
