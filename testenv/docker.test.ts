// The test environment's Docker engine runs the locally built images: a Node container answers
// on a port published on 127.0.0.1, and busybox containers on a test network reach each other
// until one is disconnected.
import { afterAll, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { requireDocker, TEST_LABELS } from '../test/support/testenv.js';

const created: { containers: Docker.Container[]; networks: Docker.Network[] } = { containers: [], networks: [] };

afterAll(async () => {
  for (const container of created.containers) await container.remove({ force: true }).catch(() => {});
  for (const network of created.networks) await network.remove().catch(() => {});
});

async function runContainer(docker: Docker, options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  const container = await docker.createContainer({ ...options, Labels: { ...TEST_LABELS } });
  created.containers.push(container);
  await container.start();
  return container;
}

/** Runs a short command to completion in a new container and returns its exit code and output. */
async function runToCompletion(docker: Docker, image: string, cmd: string[], network: string): Promise<{ code: number; output: string }> {
  // A TTY makes the logs plain text rather than Docker's multiplexed stdout/stderr frames.
  const container = await runContainer(docker, { Image: image, Cmd: cmd, Tty: true, HostConfig: { NetworkMode: network } });
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  const logs = await container.logs({ stdout: true, stderr: true });
  return { code: StatusCode, output: logs.toString() };
}

it('runs the local Node image with a port published on 127.0.0.1', async (ctx) => {
  const { client, nodeImage } = await requireDocker(ctx);
  const server = 'require("http").createServer((req, res) => res.end("hello from the node image")).listen(8080)';
  const container = await runContainer(client, {
    Image: nodeImage,
    Cmd: ['node', '-e', server],
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  const info = await container.inspect();
  const binding = info.NetworkSettings.Ports['8080/tcp']?.[0];
  expect(binding?.HostIp).toBe('127.0.0.1');

  let body = '';
  for (let attempt = 0; attempt < 50 && body === ''; attempt++) {
    body = await fetch(`http://127.0.0.1:${binding!.HostPort}/`, { signal: AbortSignal.timeout(1_000) })
      .then((response) => response.text())
      .catch(() => '');
    if (body === '') await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(body).toBe('hello from the node image');
});

it('lets two containers on a test network talk, and stops them when one is disconnected', async (ctx) => {
  const { client, busyboxImage } = await requireDocker(ctx);
  const network = await client.createNetwork({ Name: `faultline-testenv-${process.pid}`, Labels: { ...TEST_LABELS } });
  created.networks.push(network);
  const networkName = `faultline-testenv-${process.pid}`;
  const serverName = `faultline-testenv-web-${process.pid}`;
  await runContainer(client, {
    Image: busyboxImage,
    name: serverName,
    Cmd: ['sh', '-c', 'mkdir -p /www && echo reachable > /www/index.html && exec httpd -f -p 8080 -h /www'],
    HostConfig: { NetworkMode: networkName },
  });
  // busybox 1.35's static wget crashes with -T; `timeout` bounds the call instead.
  const fetchPage = ['timeout', '5', 'wget', '-q', '-O', '-', `http://${serverName}:8080/index.html`];
  let reached = { code: -1, output: '' };
  // Bounded in count and in time: each attempt is a container run, which a busy engine makes slow.
  const deadline = Date.now() + 60_000;
  for (let attempt = 0; attempt < 20 && reached.code !== 0 && Date.now() < deadline; attempt++) {
    reached = await runToCompletion(client, busyboxImage, fetchPage, networkName);
  }
  expect(reached.output.trim()).toBe('reachable');

  await network.disconnect({ Container: serverName, Force: true });
  const cutOff = await runToCompletion(client, busyboxImage, fetchPage, networkName);
  expect(cutOff.code).not.toBe(0);
}, 150_000);
