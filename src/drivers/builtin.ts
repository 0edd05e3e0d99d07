// The drivers faultline ships with, in one list: adding a driver means adding it here, nowhere else.
import { commandDriver } from './command/index.js';
import { dockerDriver } from './docker/index.js';
import { faultproxyDriver } from './faultproxy/index.js';
import { httpDriver } from './http/index.js';
import { kubernetesDriver } from './kubernetes/index.js';
import { processDriver } from './process/index.js';
import { prometheusDriver } from './prometheus/index.js';
import { DriverRegistry } from './registry.js';
import { tcpDriver } from './tcp/index.js';
import { toxiproxyDriver } from './toxiproxy/index.js';
import type { Driver } from './types.js';

export function builtinDrivers(): Driver[] {
  return [httpDriver, tcpDriver, commandDriver, processDriver, dockerDriver, toxiproxyDriver, faultproxyDriver, kubernetesDriver, prometheusDriver];
}

export function createDefaultRegistry(): DriverRegistry {
  return new DriverRegistry(builtinDrivers());
}
