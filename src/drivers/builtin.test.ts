import { describe, expect, it } from 'vitest';
import { createDefaultRegistry } from './builtin.js';

const registry = await createDefaultRegistry();

describe('default registry', () => {

  it('resolves bare driver names to their default probe and action', () => {
    expect(registry.resolveProbe('http').ref).toBe('http.request');
    expect(registry.resolveProbe('tcp').ref).toBe('tcp.connect');
    expect(registry.resolveProbe('command').ref).toBe('command.run');
    expect(registry.resolveAction('command').ref).toBe('command.run');
    expect(registry.resolveProbe('process').ref).toBe('process.running');
    expect(registry.resolveAction('process.stop').entry.reversible).toBe(true);
  });

  it('has an undo for every reversible action', () => {
    for (const driver of registry.list()) {
      for (const [name, action] of Object.entries(driver.actions)) {
        if (action.reversible) expect(Object.keys(driver.undos), `${driver.name}.${name}`).not.toHaveLength(0);
      }
    }
    expect(() => registry.resolveUndo('process', 'continue')).not.toThrow();
  });

  it('documents every probe output field', () => {
    for (const driver of registry.list()) {
      for (const probe of Object.values(driver.probes)) {
        for (const field of Object.keys(probe.defaultExpect ?? {})) expect(probe.outputs).toHaveProperty(field);
      }
    }
  });
});
