import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from './closest-name.js';

describe('closestName', () => {
  it('measures edits', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('suggests a near name', () => expect(closestName('hypothessis', ['method', 'hypothesis'])).toBe('hypothesis'));
  it('suggests a dotted driver entry', () => expect(closestName('toxiproxy.latncy', ['toxiproxy.latency', 'toxiproxy.down'])).toBe('toxiproxy.latency'));
  it('stays quiet when nothing is close', () => expect(closestName('banana', ['method', 'hypothesis'])).toBeUndefined());
});
