// Evidence of reach from a container's network counters: summing interfaces, and the judge on its own
// then a real engine: a container a client calls against a bystander.
import { describe, expect, it } from 'vitest';
import { dockerContext, HTTPD_COMMAND, uniqueName, useDockerFixture } from '../../../test/support/docker.js';
import { execIn } from './exec.js';
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

describe('reach on a real engine', () => {
  const fixture = useDockerFixture();

  it('the container a client calls moved bytes before the kill; a bystander on the same network moved only chatter', async () => {
    const networkName = uniqueName('reach-net');
    await fixture.containers.network(networkName);
    const [serverName, bystanderName, clientName] = [uniqueName('reach-server'), uniqueName('reach-bystander'), uniqueName('reach-client')];
    for (const name of [serverName, bystanderName]) {
      await fixture.containers.run({ name, Image: fixture.docker.busyboxImage, Cmd: HTTPD_COMMAND, HostConfig: { NetworkMode: networkName } });
    }
    const client = await fixture.containers.run({ name: clientName, Image: fixture.docker.busyboxImage, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: networkName }, StopSignal: 'SIGKILL' });
    const ctx = dockerContext(fixture.docker.dockerHost);
    const kill = dockerDriver.actions.kill as ActionDefinition;
    const judged: Record<string, ReturnType<NonNullable<ActionDefinition['judgeReach']>>> = {};
    const prepared = await Promise.all([serverName, bystanderName].map((name) => kill.prepare(kill.args.parse({ container: name }), ctx)));
    const baselines = await Promise.all(prepared.map((p) => kill.readReach!({}, p, ctx)));
    const calls = await execIn(fixture.docker.client, fixture.docker.dockerHost, { id: client.id, name: clientName }, ['sh', '-c', `for i in $(seq 1 20); do wget -q -O /dev/null http://${serverName}:8080/ || exit 1; done`], { timeoutMs: 20_000 });
    expect(calls.exitCode).toBe(0);
    const applied = await Promise.all(prepared.map((p) => kill.readReach!({}, p, ctx)));
    for (const [i, name] of [serverName, bystanderName].entries()) judged[name] = kill.judgeReach!(kill.args.parse({ container: name }), { baseline: baselines[i]!, applied: applied[i]! });
    expect(judged[serverName]).toMatchObject({ reached: true, summary: expect.stringMatching(new RegExp(`^container ${serverName} moved .*KiB on the network between the baseline's start and the kill`)) });
    expect(judged[bystanderName]).toMatchObject({ reached: false });
  }, 60_000);
});
