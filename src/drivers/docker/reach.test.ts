// Evidence of reach from a container's network counters: summing interfaces, and the judge on its own
// (the live Engine API reading is exercised by the docker e2e tests' runs).
import { describe, expect, it } from 'vitest';
import { dockerDriver } from './index.js';
import { judgeContainerReach, networkBytes } from './reach.js';
import type { ActionDefinition } from '../types.js';

const read = (rx: number, tx = rx) => ({ counters: { 'rx:web': rx, 'tx:web': tx } });

describe('networkBytes', () => {
  it('sums every interface, and has nothing for a container without networks', () => {
    expect(networkBytes({ networks: { eth0: { rx_bytes: 10, tx_bytes: 5 }, eth1: { rx_bytes: 1, tx_bytes: 2 } } })).toEqual({ rx: 11, tx: 7 });
    expect(networkBytes({})).toBeUndefined();
  });
});

describe('judgeContainerReach', () => {
  it('an outage reached the traffic when the container moved bytes between the baseline and the fault', () => {
    expect(judgeContainerReach('kill', true, { baseline: read(0), applied: read(20_000) })).toEqual({
      source: 'driver',
      reached: true,
      summary: "container web moved 39.06KiB on the network between the baseline's start and the kill: it was serving traffic",
    });
  });

  it('background chatter under 1 KiB is no traffic', () => {
    expect(judgeContainerReach('kill', true, { baseline: read(0), applied: read(100) })).toMatchObject({ reached: false, summary: expect.stringMatching(/moved 200B .* no traffic went through them/) });
  });

  it('a fault that is no outage counts the bytes while it was live', () => {
    expect(judgeContainerReach('limit', false, { baseline: read(0), applied: read(50_000), undone: read(50_000) }).reached).toBe(false);
    expect(judgeContainerReach('limit', false, { baseline: read(0), applied: read(0), undone: read(5_000) }).reached).toBe(true);
  });

  it('no baseline, no counters or no stats: cannot tell', () => {
    expect(judgeContainerReach('kill', true, { applied: read(10) }).reached).toBeNull();
    expect(judgeContainerReach('kill', true, { baseline: { counters: {} }, applied: { counters: {} } }).summary).toMatch(/no network counters \(host network/);
    expect(judgeContainerReach('kill', true, { applied: { counters: {}, unavailable: 'engine down' } }).reached).toBeNull();
  });
});

describe('effects', () => {
  const effect = (name: keyof typeof dockerDriver.actions, args: Record<string, unknown>) => {
    const action = dockerDriver.actions[name] as ActionDefinition;
    return action.effect?.(action.args.parse(args));
  };
  it('kill and stop refuse, pause and disconnect black-hole, limit and fill-disk declare nothing', () => {
    expect(effect('kill', { container: 'web' })).toEqual({ outage: 'refused' });
    expect(effect('kill', { container: 'web', signal: 'SIGUSR1' })).toEqual({});
    expect(effect('stop', { container: 'web' })).toEqual({ outage: 'refused' });
    expect(effect('restart', { container: 'web' })).toEqual({ outage: 'refused' });
    expect(effect('pause', { container: 'web' })).toEqual({ delayMs: Infinity, outage: 'black-hole' });
    expect(effect('network-disconnect', { container: 'web', network: 'net' })).toEqual({ delayMs: Infinity, outage: 'black-hole' });
    expect(dockerDriver.actions.limit.effect).toBeUndefined();
    expect(dockerDriver.actions['fill-disk'].effect).toBeUndefined();
  });
});
