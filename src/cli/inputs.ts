// What several commands read from their arguments alike: experiment paths (folders expanded),
// variables (--var, --var-file), --seed and the drivers' flags. Kept apart from the run command so
// `validate` and `plan` load none of the engine.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { builtinDriverOptions } from '../drivers/options.js';
import type { DriverOption, DriverOptionValues } from '../drivers/types.js';
import { FaultlineError } from '../core/errors.js';
import { findExperimentFiles, parseVarAssignments, readVarFile } from '../experiment/load.js';
import { isMapping } from '../core/mapping.js';

/** The values given for the drivers' own options (driver name → key → value); each driver gets only its own. */
export function driverOptionsFrom(
  flags: Record<string, unknown>,
  declared: ReadonlyMap<string, readonly DriverOption[]> = builtinDriverOptions,
): Map<string, DriverOptionValues> {
  const values = new Map<string, DriverOptionValues>();
  for (const [driver, options] of declared) {
    const given: Record<string, string | boolean> = {};
    for (const { key } of options) {
      const value = flags[key];
      if (typeof value === 'string' || typeof value === 'boolean') given[key] = value;
    }
    if (Object.keys(given).length > 0) values.set(driver, given);
  }
  return values;
}

/** Files named on the command line, with folders expanded to the experiments they hold. */
export async function expandExperimentPaths(paths: string[], cwd: string): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    const info = await stat(absolute).catch(() => undefined);
    if (info?.isDirectory()) {
      const found = await findExperimentFiles(absolute);
      if (found.length === 0) throw new FaultlineError('E_INPUT', `${path}: no experiment files (*.yaml, *.yml, *.json) in this folder`);
      files.push(...found);
    } else {
      files.push(absolute);
    }
  }
  return files;
}

export async function collectVars(flags: { var?: string[]; varFile?: string[] }, cwd: string): Promise<Record<string, unknown>> {
  let vars: Record<string, unknown> = {};
  for (const file of flags.varFile ?? []) vars = deepMerge(vars, await readVarFile(resolve(cwd, file)));
  return deepMerge(vars, parseVarAssignments(flags.var ?? []));
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] =
      isMapping(current) && isMapping(value) ? deepMerge(current, value) : value;
  }
  return merged;
}


/** `--seed`: a non-negative integer, so a random selection can be replayed. */
export function parseSeedFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 2 ** 31 - 1) {
    throw new FaultlineError('E_INPUT', `--seed: expected a whole number from 0 to ${2 ** 31 - 1}, got "${value}"`, {
      hint: 'use the seed a journal or plan printed to hit the same targets again',
    });
  }
  return Number(value);
}

