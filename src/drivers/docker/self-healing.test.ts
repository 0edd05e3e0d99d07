// The self-healing pair against the real engine: the same service, with and without a restart
// policy, crashed the same way. One is running and healthy again and the probe measures how soon;
// the other stays down and the probe says so. A kill through the Engine API shows Docker's rule
// that such a kill is a deliberate stop, which restart policies leave alone.
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { applyAction, dockerContext, HTTPD_COMMAND, HTTPD_HEALTHCHECK, runProbe, uniqueName, useDockerFixture } from '../../../test/support/docker.js';
import { requireDocker } from '../../../test/support/testenv.js';

const fixture = useDockerFixture();

async function service(name: string, restartPolicy: Docker.HostRestartPolicy | undefined): Promise<Docker.Container> {
  const container = await fixture.containers.run({
    name,
    Image: fixture.docker.busyboxImage,
    Cmd: HTTPD_COMMAND,
    Healthcheck: HTTPD_HEALTHCHECK,
    ...(restartPolicy ? { HostConfig: { RestartPolicy: restartPolicy } } : {}),
  });
  await fixture.containers.waitHealthy(container);
  return container;
}

async function crashAndWatch(name: string, within: string) {
  const ctx = dockerContext(fixture.docker.dockerHost);
  const { output } = await applyAction('kill', { container: name, method: 'crash' }, ctx);
  expect(output).toMatchObject({ died: true, method: 'crash' });
  return runProbe('recovery', { container: output.ids as string[], since: output.killedAt, within }, ctx);
}

describe('self-healing pair', () => {
  it('with a restart policy the crashed service is healthy again, measured; without one it stays down', async (t) => {
    await requireDocker(t);
    const healing = uniqueName('healing');
    const fragile = uniqueName('fragile');
    await service(healing, { Name: 'on-failure' });
    await service(fragile, undefined);

    const [healed, stayedDown] = await Promise.all([crashAndWatch(healing, '10s'), crashAndWatch(fragile, '10s')]);

    expect(healed).toMatchObject({ recovered: true, died: true, restartCount: 1 });
    expect(healed.recoveryMs).toBeGreaterThan(0);
    expect(healed.recoveryMs).toBeLessThan(10_000);
    expect((healed.containers as { running: boolean; health: string }[])[0]).toMatchObject({ running: true, health: 'healthy', requiredHealthy: true });

    expect(stayedDown).toMatchObject({ recovered: false, recoveryMs: null, died: true, restartCount: 0 });
    expect((stayedDown.containers as { running: boolean }[])[0]).toMatchObject({ running: false, startedAt: null });
    process.stderr.write(`self-healing pair: with on-failure recovered in ${healed.recoveryMs} ms (die → healthy); without a policy: recovered=${stayedDown.recovered}\n`);
  }, 60_000);

  it('a kill through the Engine API is a deliberate stop: the restart policy leaves it down, and the probe says why', async (t) => {
    await requireDocker(t);
    const name = uniqueName('engine-kill');
    await service(name, { Name: 'always' });
    const ctx = dockerContext(fixture.docker.dockerHost);
    const { output } = await applyAction('kill', { container: name }, ctx);
    const result = await runProbe('recovery', { container: name, since: output.killedAt, within: '3s' }, ctx);
    expect(result).toMatchObject({ recovered: false, died: true });
    expect((result.containers as { note: string }[])[0]!.note).toMatch(/through the Engine API.*method: crash/);
  }, 30_000);

  it('recovery without a death since `since` is not a recovery', async (t) => {
    await requireDocker(t);
    const name = uniqueName('never-killed');
    await service(name, { Name: 'always' });
    const result = await runProbe('recovery', { container: name, since: new Date().toISOString(), within: '1s' }, dockerContext(fixture.docker.dockerHost));
    expect(result).toMatchObject({ recovered: false, died: false, recoveryMs: null });
  }, 30_000);
});
