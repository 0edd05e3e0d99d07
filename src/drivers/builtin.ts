// The drivers faultline ships with, in one list: adding a driver means adding it here, nowhere else.
// Each is a loader, so a command loads only the drivers its experiment names (each driver's module holds
// its schemas; its client library loads later still, at its first call).
import { DriverRegistry, type DriverLoader } from './registry.js';
import type { Driver } from './types.js';

const BUILTIN_DRIVERS: ReadonlyMap<string, DriverLoader> = new Map<string, DriverLoader>([
  ['http', async () => (await import('./http/index.js')).httpDriver],
  ['tcp', async () => (await import('./tcp/index.js')).tcpDriver],
  ['command', async () => (await import('./command/index.js')).commandDriver],
  ['process', async () => (await import('./process/index.js')).processDriver],
  ['docker', async () => (await import('./docker/index.js')).dockerDriver],
  ['toxiproxy', async () => (await import('./toxiproxy/index.js')).toxiproxyDriver],
  ['faultproxy', async () => (await import('./faultproxy/index.js')).faultproxyDriver],
  ['kubernetes', async () => (await import('./kubernetes/index.js')).kubernetesDriver],
  ['prometheus', async () => (await import('./prometheus/index.js')).prometheusDriver],
]);

/** The built-in drivers' names, in the order `faultline drivers` lists them. */
export const BUILTIN_DRIVER_NAMES: readonly string[] = [...BUILTIN_DRIVERS.keys()];

/** Every built-in driver, loaded. */
export async function builtinDrivers(): Promise<Driver[]> {
  return Promise.all([...BUILTIN_DRIVERS.values()].map((load) => load()));
}

/** A registry with every built-in driver loaded (recover, the guardian, `faultline drivers`). */
export async function createDefaultRegistry(): Promise<DriverRegistry> {
  const registry = createLazyRegistry();
  await registry.loadAll();
  return registry;
}

/** A registry that loads each built-in driver when asked to (`registry.load(names)`). */
export function createLazyRegistry(): DriverRegistry {
  return new DriverRegistry([], BUILTIN_DRIVERS);
}
