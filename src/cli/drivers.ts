// `faultline drivers`: the catalog of every action and probe with its arguments, read from their schemas.
import { z } from 'zod';
import type { DriverRegistry } from '../drivers/registry.js';
import type { Driver } from '../drivers/types.js';
import { FaultlineError } from '../core/errors.js';
import { colorsFor } from './colors.js';
import { writeLine, type CliIo } from './io.js';

interface ArgumentDoc {
  name: string;
  type: string;
  required: boolean;
  description?: string;
}

function describeType(schema: Record<string, unknown>): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const variants = (schema.anyOf ?? schema.oneOf) as Record<string, unknown>[] | undefined;
  if (variants) return variants.map(describeType).join(' | ');
  if (schema.type === 'array') return `${describeType((schema.items ?? {}) as Record<string, unknown>)}[]`;
  return typeof schema.type === 'string' ? schema.type : 'any';
}

export function describeArguments(schema: z.ZodType): ArgumentDoc[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const properties = (json.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    type: describeType(property),
    required: required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

export function driverCatalog(driver: Driver) {
  const entries = (kind: 'action' | 'probe', map: Driver['actions'] | Driver['probes']) =>
    Object.entries(map).map(([name, entry]) => ({
      kind,
      ref: `${driver.name}.${name}`,
      description: entry.description,
      arguments: describeArguments(entry.args),
      ...('outputs' in entry ? { outputs: entry.outputs } : {}),
      ...('reversible' in entry ? { reversible: entry.reversible } : {}),
    }));
  return { name: driver.name, description: driver.description, actions: entries('action', driver.actions), probes: entries('probe', driver.probes) };
}

export function driversCommand(name: string | undefined, flags: { json?: boolean }, io: CliIo, registry: DriverRegistry): number {
  const drivers = name ? [registry.get(name)] : registry.list();
  if (name && drivers.length === 0) throw new FaultlineError('E_INPUT', `unknown driver ${name}`);
  const catalog = drivers.map(driverCatalog);
  if (flags.json) {
    writeLine(io.stdout, JSON.stringify(catalog, null, 2));
    return 0;
  }
  const c = colorsFor(io.stdout, io.env);
  for (const driver of catalog) {
    writeLine(io.stdout, `${c.bold(driver.name)} — ${driver.description}`);
    for (const entry of [...driver.actions, ...driver.probes]) {
      const tag = entry.kind === 'action' ? (entry.reversible ? 'fault' : 'action') : 'probe';
      writeLine(io.stdout, `  ${c.cyan(entry.ref)} ${c.dim(`(${tag})`)} ${entry.description}`);
      for (const arg of entry.arguments) {
        writeLine(io.stdout, `      ${arg.name}${arg.required ? '' : '?'}: ${arg.type}${arg.description ? c.dim(` — ${arg.description}`) : ''}`);
      }
      if (entry.outputs) writeLine(io.stdout, c.dim(`      outputs: ${Object.keys(entry.outputs).join(', ')}`));
    }
    writeLine(io.stdout);
  }
  return 0;
}
