// For the docker driver's tests: containers and networks, uniquely named, labelled with TEST_LABELS
// and removed (forced) by cleanUp() in afterAll whatever state a test left them in; and calls into
// the driver as the engine makes them, with undos run from JSON without targets or DOCKER_HOST, as
// `faultline recover` runs them.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll } from 'vitest';
import { requireDocker, TEST_LABELS, type DockerSettings } from './testenv.js';
import type { DriverContext, Output, PreparedAction, UndoSpec } from '../../src/drivers/types.js';
import { testDriverContext } from './driver-context.js';
import { dockerDriver } from '../../src/drivers/docker/index.js';
import { targetSettings } from '../../src/drivers/docker/select.js';

export function uniqueName(prefix: string): string {
  return `faultline-test-${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A healthcheck for the httpd the test service runs; busybox wget crashes with -T, so `timeout` bounds it. */
export const HTTPD_HEALTHCHECK = {
  Test: ['CMD-SHELL', 'timeout 2 wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1'],
  Interval: 500_000_000,
  Timeout: 2_000_000_000,
  Retries: 1,
};

/** A small web service: busybox httpd on 8080, serving "ok". */
export const HTTPD_COMMAND = ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'];

export class TestContainers {
  private readonly containers = new Set<string>();
  private readonly networks = new Set<string>();

  constructor(private readonly client: Docker) {}

  async run(options: Docker.ContainerCreateOptions & { name: string }): Promise<Docker.Container> {
    const container = await this.client.createContainer({
      ...options,
      Labels: { ...TEST_LABELS, ...options.Labels },
    });
    this.containers.add(container.id);
    await container.start();
    return container;
  }

  async network(name: string): Promise<Docker.Network> {
    const network = await this.client.createNetwork({ Name: name, Labels: { ...TEST_LABELS } });
    this.networks.add(network.id);
    return network;
  }

  /** Waits (bounded) until the container's health check says healthy. */
  async waitHealthy(container: Docker.Container, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const info = await container.inspect();
      if (info.State.Health?.Status === 'healthy') return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`container ${container.id.slice(0, 12)} not healthy within ${timeoutMs} ms`);
  }

  async cleanUp(): Promise<void> {
    for (const id of this.containers) await this.client.getContainer(id).remove({ force: true }).catch(() => undefined);
    for (const id of this.networks) await this.client.getNetwork(id).remove().catch(() => undefined);
    this.containers.clear();
    this.networks.clear();
  }
}

export function dockerContext(dockerHost: string, overrides: Partial<DriverContext> & { settings?: Record<string, unknown> } = {}): DriverContext<any, any> & { logs: string[] } {
  const logs: string[] = [];
  const { settings, ...rest } = overrides;
  return {
    ...testDriverContext({ env: { DOCKER_HOST: dockerHost }, log: (line) => logs.push(line), ...rest }, dockerDriver),
    target: settings ? targetSettings.parse(settings) : undefined,
    logs,
  };
}

export async function prepareAction(name: keyof typeof dockerDriver.actions, raw: Record<string, unknown>, ctx: DriverContext): Promise<PreparedAction> {
  const definition = dockerDriver.actions[name];
  return definition.prepare(definition.args.parse(raw) as never, ctx);
}

export async function applyAction(
  name: keyof typeof dockerDriver.actions,
  raw: Record<string, unknown>,
  ctx: DriverContext,
): Promise<{ prepared: PreparedAction; output: Output }> {
  const definition = dockerDriver.actions[name];
  const args = definition.args.parse(raw) as never;
  const prepared = await definition.prepare(args, ctx);
  const output = await definition.apply(args, prepared, ctx);
  return { prepared, output };
}

/** Runs an undo as recover does: from JSON, in a context without targets or DOCKER_HOST. */
export async function runUndo(undo: UndoSpec | null, logs: string[] = []): Promise<string[]> {
  if (!undo) throw new Error('this fault has no undo');
  const definition = dockerDriver.undos[undo.op as keyof typeof dockerDriver.undos];
  const args = definition.args.parse(JSON.parse(JSON.stringify(undo.args))) as never;
  await definition.run(args, testDriverContext({ env: {}, target: undefined, log: (line) => logs.push(line) }, dockerDriver));
  return logs;
}

export async function runProbe(name: keyof typeof dockerDriver.probes, raw: Record<string, unknown>, ctx: DriverContext): Promise<Output> {
  const definition = dockerDriver.probes[name];
  return definition.run(definition.args.parse(raw) as never, ctx);
}

/** The engine and a TestContainers for a test file: set up in beforeAll, everything removed in afterAll. */
export function useDockerFixture(): { docker: DockerSettings; containers: TestContainers } {
  const fixture = {} as { docker: DockerSettings; containers: TestContainers };
  beforeAll(async () => {
    fixture.docker = await requireDocker();
    fixture.containers = new TestContainers(fixture.docker.client);
  });
  afterAll(async () => {
    await fixture.containers?.cleanUp();
  });
  return fixture;
}
