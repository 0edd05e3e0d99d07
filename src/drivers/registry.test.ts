import { describe, expect, it } from 'vitest';
import { FaultlineError } from '../core/errors.js';
import { createDefaultRegistry } from './builtin.js';
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

describe('DriverRegistry', () => {
  const registry = createDefaultRegistry();

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
