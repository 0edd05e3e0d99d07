// The docker driver against the test environment's real engine: selection, each action and its
// undo (run from JSON without targets, as recover runs it), the probes, and the errors.
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaultlineError } from '../../core/errors.js';
import { applyAction, dockerContext, HTTPD_COMMAND, HTTPD_HEALTHCHECK, prepareAction, runProbe, runUndo, uniqueName, useDockerFixture } from '../../../test/support/docker.js';
import { requireDocker } from '../../../test/support/testenv.js';
import { execIn } from './exec.js';
import { dockerDriver } from './index.js';

const fixture = useDockerFixture();

async function sleeper(name: string, options: Partial<Docker.ContainerCreateOptions> = {}): Promise<Docker.Container> {
  return fixture.containers.run({ name, Image: fixture.docker.busyboxImage, Cmd: ['sleep', '3600'], StopSignal: 'SIGKILL', ...options });
}

async function state(container: Docker.Container): Promise<Docker.ContainerInspectInfo['State']> {
  return (await container.inspect()).State;
}

async function execOutput(container: Docker.Container, cmd: string[]): Promise<{ exitCode: number | null; output: string }> {
  const result = await execIn(fixture.docker.client, fixture.docker.dockerHost, { id: container.id, name: container.id }, cmd, { timeoutMs: 10_000 });
  return { exitCode: result.exitCode, output: result.stdout + result.stderr };
}

async function expectFaultlineError(promise: Promise<unknown>, code: string, message: RegExp): Promise<FaultlineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FaultlineError);
  expect((error as FaultlineError).code).toBe(code);
  expect((error as FaultlineError).message).toMatch(message);
  return error as FaultlineError;
}

describe('docker driver: connection and preflight', () => {
  it('preflight passes against the engine and refuses an unreachable one before any fault', async (t) => {
    const { dockerHost } = await requireDocker(t);
    await dockerDriver.preflight!(dockerContext(dockerHost));
    const missing = dockerContext(dockerHost, { settings: { socketPath: '/nonexistent/docker.sock' } });
    const error = await expectFaultlineError(dockerDriver.preflight!(missing), 'E_PREFLIGHT', /Docker engine at unix:\/\/\/nonexistent\/docker.sock is unreachable \(ENOENT\)/);
    expect(error.hint).toMatch(/dockerd/);
  });

  it('takes the engine from targets.docker before DOCKER_HOST', async (t) => {
    const { dockerHost } = await requireDocker(t);
    const ctx = dockerContext('unix:///nonexistent/docker.sock', { settings: { host: dockerHost } });
    await dockerDriver.preflight!(ctx);
  });
});

describe('docker driver: target selection', () => {
  const group = uniqueName('group');
  const names: string[] = [];
  beforeAll(async () => {
    for (const [index, service] of ['web', 'web', 'web', 'db'].entries()) {
      const name = `${group}-${service}-${index}`;
      names.push(name);
      await sleeper(name, {
        Labels: { 'faultline.test.group': group, 'com.docker.compose.project': group, 'com.docker.compose.service': service },
        ...(service === 'web' ? { Healthcheck: { Test: ['CMD', 'true'], Interval: 500_000_000, Retries: 1 } } : {}),
      });
    }
    const stopped = await fixture.containers.run({ name: `${group}-stopped`, Image: fixture.docker.busyboxImage, Cmd: ['true'], Labels: { 'faultline.test.group': group } });
    await stopped.wait();
  });

  const targetsOf = async (args: Record<string, unknown>, overrides: Parameters<typeof dockerContext>[1] = {}) =>
    (await prepareAction('pause', args, dockerContext(fixture.docker.dockerHost, overrides))).targets.map((t) => t.replace(/^container (\S+) .*$/, '$1'));

  it('matches by name, id, name pattern, labels and compose project/service', async (t) => {
    await requireDocker(t);
    expect(await targetsOf({ container: names[0] })).toEqual([names[0]]);
    const id = (await fixture.docker.client.getContainer(names[1]!).inspect()).Id;
    expect(await targetsOf({ container: id.slice(0, 12) })).toEqual([names[1]]);
    expect(await targetsOf({ namePattern: `${group}-web-.*`, mode: 'all' })).toEqual(names.slice(0, 3));
    // Whole-name match: a pattern for part of a name matches nothing.
    await expectFaultlineError(targetsOf({ namePattern: 'web' }), 'E_PREFLIGHT', /no running container matches name \/web\//);
    expect(await targetsOf({ labels: { 'faultline.test.group': group }, mode: 'all' })).toEqual([...names].sort());
    expect(await targetsOf({ compose: { project: group, service: 'db' } })).toEqual([names[3]]);
    expect(await targetsOf({ compose: { project: group }, mode: 'all', exclude: [`.*-db-.*`, names[0]!] })).toEqual([names[1], names[2]]);
  });

  it('draws one, a count or a percent with the seed, the same each time for the same seed', async (t) => {
    await requireDocker(t);
    const web = { compose: { project: group, service: 'web' } };
    const picks = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const first = await targetsOf({ ...web, mode: 'one' }, { seed });
      expect(first).toHaveLength(1);
      expect(await targetsOf({ ...web, mode: 'one' }, { seed })).toEqual(first);
      picks.add(first[0]!);
    }
    // Twelve seeds over three containers: the draw is not stuck on one.
    expect(picks.size).toBeGreaterThan(1);
    expect(await targetsOf({ ...web, mode: { count: 2 } }, { seed: 7 })).toHaveLength(2);
    expect(await targetsOf({ ...web, mode: { percent: 50 } }, { seed: 7 })).toHaveLength(2);
    expect(await targetsOf({ ...web, mode: 'all' })).toEqual(names.slice(0, 3));
  });

  it('refuses a selector that matches nothing, unless allowEmpty; says which matches are stopped', async (t) => {
    await requireDocker(t);
    const error = await expectFaultlineError(targetsOf({ container: `${group}-stopped` }), 'E_PREFLIGHT', /no running container matches container/);
    expect(error.hint).toMatch(/1 match but are not running: .*-stopped \(exited\)/);
    expect(await targetsOf({ container: `${group}-nothing`, allowEmpty: true })).toEqual([]);
    const pause = dockerDriver.actions.pause;
    const args = pause.args.parse({ container: `${group}-nothing`, allowEmpty: true });
    const ctx = dockerContext(fixture.docker.dockerHost);
    const prepared = await pause.prepare(args, ctx);
    expect(await pause.apply(args, prepared, ctx)).toMatchObject({ containers: [], note: expect.stringMatching(/nothing was touched/) });
  });

  it('refuses containers outside the allow-list in targets.docker', async (t) => {
    await requireDocker(t);
    const web = { compose: { project: group, service: 'web' }, mode: 'all' };
    expect(await targetsOf(web, { settings: { containers: [`${group}-web-.*`] } })).toHaveLength(3);
    expect(await targetsOf(web, { settings: { labels: { 'faultline.test.group': group } } })).toHaveLength(3);
    await expectFaultlineError(targetsOf(web, { settings: { containers: [names[0]!] } }), 'E_PREFLIGHT', /may not be touched: its name is not in targets.docker.containers/);
    await expectFaultlineError(targetsOf(web, { settings: { labels: { tier: 'x' } } }), 'E_PREFLIGHT', /lacks the label\(s\) targets.docker.labels requires: tier=x/);
  });

  it('refuses a fault that would leave fewer healthy containers than minHealthy', async (t) => {
    await requireDocker(t);
    const web = { compose: { project: group, service: 'web' } };
    for (const name of names.slice(0, 3)) await fixture.containers.waitHealthy(fixture.docker.client.getContainer(name));
    expect(await targetsOf({ ...web, mode: 'one', minHealthy: 2 })).toHaveLength(1);
    await expectFaultlineError(targetsOf({ ...web, mode: { count: 2 }, minHealthy: 2 }), 'E_PREFLIGHT', /would leave 1 healthy containers .* \(3 now, 2 hit\), below the minimum of 2/);
  });

  it('healthy-count counts the healthy among a selector', async (t) => {
    await requireDocker(t);
    const output = await runProbe('healthy-count', { labels: { 'faultline.test.group': group } }, dockerContext(fixture.docker.dockerHost));
    expect(output).toMatchObject({ healthy: 4, total: 5, running: 4 });
    expect(output.unhealthyNames).toEqual([`${group}-stopped`]);
  });

  it('prepare makes no change: the container is untouched after planning every action', async (t) => {
    await requireDocker(t);
    const target = fixture.docker.client.getContainer(names[3]!);
    const before = await target.inspect();
    const ctx = dockerContext(fixture.docker.dockerHost);
    const args = { container: names[3] };
    await prepareAction('kill', args, ctx);
    await prepareAction('stop', args, ctx);
    await prepareAction('pause', args, ctx);
    await prepareAction('restart', args, ctx);
    await prepareAction('limit', { ...args, cpus: 0.5, memory: '64MiB' }, ctx);
    await prepareAction('fill-disk', { ...args, path: '/tmp', size: '1MiB' }, ctx);
    await prepareAction('exec', { ...args, command: 'touch /tmp/x', undo: 'rm /tmp/x' }, ctx);
    const after = await target.inspect();
    expect(after.State).toEqual(before.State);
    expect(after.HostConfig).toEqual(before.HostConfig);
    expect((await execOutput(target, ['ls', '/tmp'])).output.trim()).toBe('');
  });
});

describe('docker driver: lifecycle faults', () => {
  it('kill: the container dies, killedAt is the engine\'s die time, and nothing is there to undo', async (t) => {
    await requireDocker(t);
    const name = uniqueName('kill');
    await sleeper(name);
    const before = Date.now();
    const { prepared, output } = await applyAction('kill', { container: name }, dockerContext(fixture.docker.dockerHost));
    expect(prepared.undo).toBeNull();
    expect(output).toMatchObject({ signal: 'SIGKILL', method: 'engine', died: true, names: [name] });
    expect(Date.parse(output.killedAt as string)).toBeGreaterThanOrEqual(before - 1);
    expect((output.containers as { exitCode: number }[])[0]!.exitCode).toBe(137);
    expect((await state(fixture.docker.client.getContainer(name))).Running).toBe(false);
  });

  it('kill with a signal the process ignores is not an error, and says it did not die', async (t) => {
    await requireDocker(t);
    const name = uniqueName('kill-usr1');
    await fixture.containers.run({ name, Image: fixture.docker.busyboxImage, Cmd: ['sh', '-c', 'trap "" USR1; while true; do sleep 1; done'] });
    const { output } = await applyAction('kill', { container: name, signal: 'USR1', waitForExit: '1s' }, dockerContext(fixture.docker.dockerHost));
    expect(output).toMatchObject({ signal: 'SIGUSR1', died: false });
    expect((await state(fixture.docker.client.getContainer(name))).Running).toBe(true);
  });

  it('stop: stopped, then started again by the undo; the undo is idempotent', async (t) => {
    await requireDocker(t);
    const name = uniqueName('stop');
    const container = await sleeper(name);
    const { prepared, output } = await applyAction('stop', { container: name, timeout: '1s' }, dockerContext(fixture.docker.dockerHost));
    expect(output.stoppedAt).toEqual(expect.any(String));
    expect((await state(container)).Running).toBe(false);
    expect(prepared.undo).toMatchObject({ driver: 'docker', op: 'start', args: { docker: fixture.docker.dockerHost, containers: [{ name }] } });
    await runUndo(prepared.undo);
    expect((await state(container)).Running).toBe(true);
    expect(await runUndo(prepared.undo)).toEqual([expect.stringMatching(/is already running/)]);
  });

  it('pause: frozen, unpaused by the undo; pausedAt is the engine\'s pause time', async (t) => {
    await requireDocker(t);
    const name = uniqueName('pause');
    const container = await sleeper(name);
    const before = Date.now();
    const { prepared, output } = await applyAction('pause', { container: name }, dockerContext(fixture.docker.dockerHost));
    expect((await state(container)).Paused).toBe(true);
    expect(Date.parse(output.pausedAt as string)).toBeGreaterThanOrEqual(before - 1);
    expect(await runProbe('running', { container: name }, dockerContext(fixture.docker.dockerHost))).toMatchObject({ running: false, status: 'paused' });
    await runUndo(prepared.undo);
    expect((await state(container)).Paused).toBe(false);
    expect(await runProbe('running', { container: name }, dockerContext(fixture.docker.dockerHost))).toMatchObject({ running: true, status: 'running' });
    expect(await runUndo(prepared.undo)).toEqual([expect.stringMatching(/is not paused/)]);
  });

  it('restart: started again, recorded with no undo', async (t) => {
    await requireDocker(t);
    const name = uniqueName('restart');
    const container = await sleeper(name);
    const startedBefore = (await state(container)).StartedAt;
    const { prepared, output } = await applyAction('restart', { container: name, timeout: '1s' }, dockerContext(fixture.docker.dockerHost));
    expect(prepared.undo).toBeNull();
    expect(output.restartedAt).toEqual(expect.any(String));
    const after = await state(container);
    expect(after.Running).toBe(true);
    expect(after.StartedAt).not.toBe(startedBefore);
  });

  it('an undo whose container vanished succeeds and says why nothing was done', async (t) => {
    await requireDocker(t);
    const name = uniqueName('vanish');
    const container = await sleeper(name);
    const { prepared } = await applyAction('pause', { container: name }, dockerContext(fixture.docker.dockerHost));
    await container.remove({ force: true });
    expect(await runUndo(prepared.undo)).toEqual([expect.stringMatching(new RegExp(`container ${name} \\(\\w{12}\\) no longer exists \\(removed before the undo\\); nothing to unpause`))]);
  });

  it('a container that vanished between prepare and apply fails the fault', async (t) => {
    await requireDocker(t);
    const name = uniqueName('gone');
    const container = await sleeper(name);
    const ctx = dockerContext(fixture.docker.dockerHost);
    const args = dockerDriver.actions.pause.args.parse({ container: name });
    const prepared = await dockerDriver.actions.pause.prepare(args, ctx);
    await container.remove({ force: true });
    await expectFaultlineError(dockerDriver.actions.pause.apply(args, prepared, ctx), 'E_DRIVER', /vanished before it could be paused/);
  });

  it('recheck before the instant: true while the container runs (apply then uses the feed it opened), false once it stopped or is gone', async (t) => {
    await requireDocker(t);
    const name = uniqueName('recheck');
    const container = await sleeper(name);
    const pause = dockerDriver.actions.pause;
    const args = pause.args.parse({ container: name });
    const readied = new AbortController();
    const ctx = dockerContext(fixture.docker.dockerHost, { signal: readied.signal });
    const prepared = await pause.prepare(args, ctx);
    expect(await pause.recheck!(args, prepared, ctx)).toBe(true);
    const output = await pause.apply(args, prepared, ctx);
    readied.abort();
    // Confirmed by the engine's pause event, read from the feed the recheck opened.
    expect(output.pausedAtMs).toEqual(expect.any(Number));
    expect((await state(container)).Paused).toBe(true);
    await runUndo(prepared.undo);

    const again = await pause.prepare(args, dockerContext(fixture.docker.dockerHost));
    await container.stop({ t: 0 });
    expect(await pause.recheck!(args, again, dockerContext(fixture.docker.dockerHost))).toBe(false);
    await container.remove({ force: true });
    expect(await pause.recheck!(args, again, dockerContext(fixture.docker.dockerHost))).toBe(false);
  });
});

describe('docker driver: network partition', () => {
  it('disconnects a container from a network and reconnects it with the same aliases', async (t) => {
    await requireDocker(t);
    const networkName = uniqueName('net');
    const network = await fixture.containers.network(networkName);
    const serverName = uniqueName('server');
    const clientName = uniqueName('client');
    const server = await fixture.containers.run({
      name: serverName,
      Image: fixture.docker.busyboxImage,
      Cmd: HTTPD_COMMAND,
      NetworkingConfig: { EndpointsConfig: { [networkName]: { Aliases: ['api', 'api-v1'] } } },
      HostConfig: { NetworkMode: networkName },
    });
    const client = await fixture.containers.run({ name: clientName, Image: fixture.docker.busyboxImage, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: networkName }, StopSignal: 'SIGKILL' });
    const reaches = async (host: string) => (await execOutput(client, ['timeout', '2', 'wget', '-q', '-O', '-', `http://${host}:8080/`])).exitCode === 0;
    const aliasesBefore = (await server.inspect()).NetworkSettings.Networks[networkName]!.Aliases;
    expect(await reaches('api')).toBe(true);

    const { prepared, output } = await applyAction('network-disconnect', { container: serverName, network: networkName }, dockerContext(fixture.docker.dockerHost));
    expect(output).toMatchObject({ network: networkName, names: [serverName] });
    expect(prepared.undo?.args).toMatchObject({ network: { id: network.id, name: networkName }, endpoints: [{ aliases: ['api', 'api-v1'] }] });
    expect((await server.inspect()).NetworkSettings.Networks[networkName]).toBeUndefined();
    expect(await reaches('api')).toBe(false);
    expect(await reaches(serverName)).toBe(false);

    await runUndo(prepared.undo);
    expect((await server.inspect()).NetworkSettings.Networks[networkName]!.Aliases).toEqual(aliasesBefore);
    expect(await reaches('api')).toBe(true);
    expect(await reaches('api-v1')).toBe(true);
    expect(await runUndo(prepared.undo)).toEqual([expect.stringMatching(/is already on/)]);
  });

  it('refuses a container that is not on the network, and a network that does not exist', async (t) => {
    await requireDocker(t);
    const name = uniqueName('lonely');
    await sleeper(name);
    const other = uniqueName('other-net');
    await fixture.containers.network(other);
    const ctx = dockerContext(fixture.docker.dockerHost);
    await expectFaultlineError(prepareAction('network-disconnect', { container: name, network: other }, ctx), 'E_PREFLIGHT', /is not connected to network .* \(it is on: bridge\)/);
    await expectFaultlineError(prepareAction('network-disconnect', { container: name, network: uniqueName('none') }, ctx), 'E_PREFLIGHT', /there is no Docker network/);
  });
});

describe('docker driver: resource squeeze', () => {
  const cgroup = async (container: Docker.Container) =>
    (await execOutput(container, ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us'])).output
      .trim()
      .split(/\s+/);

  it('limit: CPU and memory are limited, and the undo gives an unlimited container its cgroup limits back', async (t) => {
    await requireDocker(t);
    const name = uniqueName('limit');
    const container = await sleeper(name);
    const cgroupBefore = await cgroup(container);
    const { prepared, output } = await applyAction('limit', { container: name, cpus: 0.5, memory: '64MiB' }, dockerContext(fixture.docker.dockerHost));
    expect(output).toMatchObject({ cpus: 0.5, memoryBytes: 64 * 1024 * 1024 });
    const limited = (await container.inspect()).HostConfig;
    expect(limited).toMatchObject({ Memory: 67108864, MemorySwap: 67108864, CpuQuota: 50000, CpuPeriod: 100000 });
    expect(await cgroup(container)).toEqual(['67108864', '50000', '100000']);
    await runUndo(prepared.undo);
    expect(await cgroup(container)).toEqual(cgroupBefore);
    await runUndo(prepared.undo);
    expect(await cgroup(container)).toEqual(cgroupBefore);
  });

  it('limit: a container with limits of its own gets exactly those back', async (t) => {
    await requireDocker(t);
    const name = uniqueName('limited');
    const container = await sleeper(name, { HostConfig: { NanoCpus: 1_500_000_000, Memory: 256 * 1024 * 1024, MemorySwap: 512 * 1024 * 1024 } });
    const before = (await container.inspect()).HostConfig;
    const { prepared } = await applyAction('limit', { container: name, cpus: 0.25, memory: '32MiB' }, dockerContext(fixture.docker.dockerHost));
    expect((await container.inspect()).HostConfig).toMatchObject({ NanoCpus: 250_000_000, Memory: 32 * 1024 * 1024 });
    await runUndo(prepared.undo);
    const after = (await container.inspect()).HostConfig;
    expect({ NanoCpus: after.NanoCpus, Memory: after.Memory, MemorySwap: after.MemorySwap, CpuQuota: after.CpuQuota }).toEqual({
      NanoCpus: before.NanoCpus,
      Memory: before.Memory,
      MemorySwap: before.MemorySwap,
      CpuQuota: before.CpuQuota,
    });
  });

  it('fill-disk: the service notices (its health check fails), and the undo removes the file', async (t) => {
    await requireDocker(t);
    const name = uniqueName('disk');
    // Healthy while /data has more than 2 MiB free.
    const container = await fixture.containers.run({
      name,
      Image: fixture.docker.busyboxImage,
      Cmd: ['sleep', '3600'],
      StopSignal: 'SIGKILL',
      HostConfig: { Tmpfs: { '/data': 'size=8m' } },
      Healthcheck: { Test: ['CMD-SHELL', 'test "$(df -Pk /data | awk \'NR==2 {print $4}\')" -gt 2048'], Interval: 300_000_000, Retries: 1 },
    });
    await fixture.containers.waitHealthy(container);
    const ctx = dockerContext(fixture.docker.dockerHost);
    const { prepared, output } = await applyAction('fill-disk', { container: name, path: '/data', percent: 100 }, ctx);
    const file = output.file as string;
    expect(file).toMatch(/^\/data\/faultline-fill-test-[0-9a-f]{6}$/);
    const [fill] = output.fills as { writtenBytes: number; freeBeforeBytes: number; freeAfterBytes: number; filesystemBytes: number }[];
    expect(fill!.filesystemBytes).toBe(8 * 1024 * 1024);
    expect(fill!.freeAfterBytes).toBeLessThan(64 * 1024);
    expect(fill!.writtenBytes).toBeGreaterThan(7 * 1024 * 1024);
    const unhealthy = Date.now() + 10_000;
    while ((await runProbe('health', { container: name }, ctx)).health !== 'unhealthy' && Date.now() < unhealthy) await new Promise((r) => setTimeout(r, 100));
    expect(await runProbe('health', { container: name }, ctx)).toMatchObject({ healthy: false, health: 'unhealthy', running: true });

    expect(await runUndo(prepared.undo)).toEqual([expect.stringMatching(new RegExp(`removed ${file} from container ${name}`))]);
    expect((await execOutput(container, ['ls', '/data'])).output.trim()).toBe('');
    await fixture.containers.waitHealthy(container);
    expect(await runUndo(prepared.undo)).toEqual([expect.stringMatching(/is not in .*nothing to remove/)]);
  });

  it('fill-disk: a size writes that many bytes', async (t) => {
    await requireDocker(t);
    const name = uniqueName('disk-size');
    const container = await sleeper(name, { HostConfig: { Tmpfs: { '/scratch': 'size=16m' } } });
    const { prepared, output } = await applyAction('fill-disk', { container: name, path: '/scratch', size: '3MiB' }, dockerContext(fixture.docker.dockerHost));
    const [fill] = output.fills as { writtenBytes: number; freeBeforeBytes: number; freeAfterBytes: number }[];
    expect(fill!.writtenBytes).toBe(3 * 1024 * 1024);
    expect(fill!.freeBeforeBytes - fill!.freeAfterBytes).toBe(3 * 1024 * 1024);
    await runUndo(prepared.undo);
    expect((await execOutput(container, ['ls', '/scratch'])).output.trim()).toBe('');
  });

  it('fill-disk undo on a stopped container that no longer holds the file succeeds; one that holds it fails with a hint', async (t) => {
    await requireDocker(t);
    const name = uniqueName('disk-stopped');
    const container = await sleeper(name);
    const { prepared } = await applyAction('fill-disk', { container: name, path: '/tmp', size: '1MiB' }, dockerContext(fixture.docker.dockerHost));
    await container.stop({ t: 0 });
    const error = await runUndo(prepared.undo).then(
      () => undefined,
      (e: unknown) => e as FaultlineError,
    );
    expect(error?.message).toMatch(/is exited and still holds \/tmp\/faultline-fill-/);
    expect(error?.hint).toMatch(/faultline recover/);
    await container.start();
    await runUndo(prepared.undo);
    await container.stop({ t: 0 });
    expect(await runUndo(prepared.undo)).toEqual([expect.stringMatching(/is exited and holds no .*nothing to remove/)]);
  });
});

describe('docker driver: exec', () => {
  it('runs a fault command and its undo command', async (t) => {
    await requireDocker(t);
    const name = uniqueName('exec');
    const container = await sleeper(name);
    const { prepared, output } = await applyAction('exec', { container: name, command: 'echo broken > /tmp/flag && echo done', undo: ['rm', '/tmp/flag'] }, dockerContext(fixture.docker.dockerHost));
    expect(output.results).toEqual([expect.objectContaining({ exitCode: 0, stdout: 'done\n' })]);
    expect((await execOutput(container, ['cat', '/tmp/flag'])).output).toContain('broken');
    await runUndo(prepared.undo);
    expect((await execOutput(container, ['ls', '/tmp'])).output.trim()).toBe('');
  });

  it('a failing command fails the fault; without an undo command there is no undo', async (t) => {
    await requireDocker(t);
    const name = uniqueName('exec-fail');
    await sleeper(name);
    const ctx = dockerContext(fixture.docker.dockerHost);
    expect((await prepareAction('exec', { container: name, command: 'true' }, ctx)).undo).toBeNull();
    await expectFaultlineError(applyAction('exec', { container: name, command: 'echo nope >&2; exit 3' }, ctx), 'E_DRIVER', /exited with 3: nope/);
  });
});

describe('docker driver: probes', () => {
  it('running, health and restarts report a container, and a missing one without throwing', async (t) => {
    await requireDocker(t);
    const name = uniqueName('probe');
    const container = await fixture.containers.run({ name, Image: fixture.docker.busyboxImage, Cmd: HTTPD_COMMAND, Healthcheck: HTTPD_HEALTHCHECK });
    await fixture.containers.waitHealthy(container);
    const ctx = dockerContext(fixture.docker.dockerHost);
    expect(await runProbe('running', { container: name }, ctx)).toMatchObject({ running: true, exists: true, status: 'running', restartCount: 0 });
    expect(await runProbe('health', { container: name }, ctx)).toMatchObject({ healthy: true, health: 'healthy', failingStreak: 0 });
    const since = Date.now();
    await container.restart({ t: 0 });
    expect(await runProbe('restarts', { container: name, since }, ctx)).toMatchObject({ restartsSince: 1, diesSince: 1, running: true });
    const missing = uniqueName('missing');
    expect(await runProbe('running', { container: missing }, ctx)).toMatchObject({ running: false, exists: false });
    expect(await runProbe('health', { container: missing }, ctx)).toMatchObject({ healthy: false, exists: false });
  });
});
