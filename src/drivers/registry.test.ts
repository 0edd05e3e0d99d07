import { describe, expect, it } from 'vitest';
import { FaultlineError } from '../core/errors.js';
import { BUILTIN_DRIVER_NAMES, createDefaultRegistry, createLazyRegistry } from './builtin.js';
import { DriverRegistry } from './registry.js';

function hintOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof FaultlineError) return error.hint;
    throw error;
  }
  throw new Error('expected an error');
}

const registry = await createDefaultRegistry();

describe('DriverRegistry', () => {

  it('suggests the closest name for a typo', () => {
    expect(hintOf(() => registry.resolveAction('process.stpo'))).toMatch(/^did you mean process\.stop\?/);
    expect(hintOf(() => registry.resolveProbe('htp'))).toMatch(/^did you mean http/);
  });

  it('lists what exists when nothing is close', () => {
    expect(hintOf(() => registry.resolveAction('zzzzzz.qqqq'))).toMatch(/^known: .*process\.stop/);
  });

  it('says so when no driver offers that kind at all', () => {
    expect(hintOf(() => new DriverRegistry([]).resolveProbe('http'))).toBe('no driver is registered that offers one');
  });

  it.each(['http.constructor', 'http.__proto__', 'http.toString', 'process.hasOwnProperty'])('finds no entry named %s on the prototype', (ref) => {
    expect(() => registry.resolveProbe(ref)).toThrow(FaultlineError);
    expect(() => registry.resolveAction(ref)).toThrow(FaultlineError);
  });

  it('finds no undo named after a prototype property', () => {
    const [first] = registry.list();
    expect(() => registry.resolveUndo(first!.name, 'constructor')).toThrow(/has no undo operation/);
  });

  it('refuses a driver registered twice', () => {
    const [first] = registry.list();
    expect(() => new DriverRegistry([first!, first!])).toThrow(/registered twice/);
  });
});

describe('a lazy registry', () => {
  it('loads only the drivers it is asked for', async () => {
    const lazy = createLazyRegistry();
    await lazy.load(['http', 'process']);
    expect(lazy.partial).toBe(true);
    expect(lazy.resolveProbe('http').ref).toBe('http.request');
    expect(lazy.resolveAction('process.stop').entry.reversible).toBe(true);
    // Known but not loaded: a bug in the caller, said so, never "unknown driver".
    expect(() => lazy.get('docker')).toThrow(/used before it was loaded/);
    expect(() => lazy.resolveAction('docker.kill')).toThrow(/used before it was loaded/);
    expect(() => lazy.list()).toThrow(/before every driver was loaded/);
    expect(lazy.has('docker')).toBe(true);
  });

  it('loads every driver when asked for one that does not exist, so hints can list them all', async () => {
    const lazy = createLazyRegistry();
    await lazy.load(['http', 'dokcer']);
    expect(lazy.partial).toBe(false);
    expect(hintOf(() => lazy.get('dokcer'))).toMatch(/^did you mean docker\?/);
  });

  it('lists the drivers in their registered order whatever order they loaded in', async () => {
    const lazy = createLazyRegistry();
    await lazy.load(['prometheus']);
    await lazy.loadAll();
    expect(lazy.list().map((driver) => driver.name)).toEqual(BUILTIN_DRIVER_NAMES);
    expect(registry.list().map((driver) => driver.name)).toEqual(BUILTIN_DRIVER_NAMES);
  });
});
