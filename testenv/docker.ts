// The Docker engine for the tests: the one answering on DOCKER_HOST or the default socket,
// else Debian's docker.io installed and a dockerd started by us on a socket under .testenv/.
import { request } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, logPath, stateDir, TEST_LABEL_KEY, TEST_LABEL_VALUE } from './layout.js';
import { hasProgram, runCommand, runLoggedStep, runningDaemonPid, startDaemon, stopDaemon, waitFor } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

const DAEMON = 'dockerd';
const DEFAULT_SOCKET = 'unix:///var/run/docker.sock';

export interface DockerResult {
  dockerHost: string;
  version: string;
  startedByUs: boolean;
}

/** The socket our own dockerd listens on. Unix socket paths are limited to 107 bytes. */
export function ownDockerHost(env: NodeJS.ProcessEnv = process.env): string {
  const socket = join(stateDir(env), 'docker', 'docker.sock');
  if (socket.length > 100) {
    throw new TestEnvError(`the dockerd socket path ${socket} is too long for a unix socket; set FAULTLINE_TESTENV_STATE to a shorter folder`);
  }
  return `unix://${socket}`;
}

/** GET on the Docker API at `dockerHost` (unix:// or tcp://), parsed as JSON. */
export function dockerApiGet(dockerHost: string, path: string, timeoutMs = 3_000): Promise<unknown> {
  const target = dockerHost.startsWith('unix://')
    ? { socketPath: dockerHost.slice('unix://'.length) }
    : (() => {
        const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
        return { host: url.hostname, port: Number(url.port || 2375) };
      })();
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if ((res.statusCode ?? 500) >= 400) return reject(new Error(`${path}: HTTP ${res.statusCode}: ${text.trim()}`));
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve(text);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The engine version at `dockerHost`, or undefined if no engine answers there. */
export async function dockerEngineVersion(dockerHost: string): Promise<string | undefined> {
  if (dockerHost.startsWith('unix://') && !existsSync(dockerHost.slice('unix://'.length))) return undefined;
  try {
    const version = (await dockerApiGet(dockerHost, '/version')) as { Version?: string };
    return version.Version;
  } catch {
    return undefined;
  }
}

async function ensureDockerdInstalled({ log, env, allowBuilds }: UpContext): Promise<void> {
  if ((await hasProgram('dockerd')) && (await hasProgram('docker'))) return;
  if (!allowBuilds) throw new NotBuiltError("Debian's docker.io (dockerd)");
  const logFile = logPath('docker-install', env);
  log(`installing Debian's docker.io (log: ${logFile})`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  await runLoggedStep('apt-get update', 'apt-get', ['update'], { logFile, env: aptEnv, timeoutMs: 5 * 60_000 });
  await runLoggedStep('apt-get install docker.io', 'apt-get', ['install', '-y', 'docker.io'], {
    logFile,
    env: aptEnv,
    timeoutMs: 10 * 60_000,
  });
}

async function startOwnDockerd(context: UpContext): Promise<DockerResult> {
  const { log, env } = context;
  await ensureDockerdInstalled(context);
  const dockerHost = ownDockerHost(env);
  const runDir = join(stateDir(env), 'docker');
  mkdirSync(runDir, { recursive: true });
  // Images live in the per-user cache so a new `up` (or a new clone) finds them imported already.
  const dataRoot = join(cacheDir(env), 'docker-data-root');
  mkdirSync(dataRoot, { recursive: true });
  const { pid, logFile } = startDaemon(
    {
      name: DAEMON,
      program: 'dockerd',
      args: [
        '--host',
        dockerHost,
        '--data-root',
        dataRoot,
        '--exec-root',
        join(runDir, 'exec'),
        '--pidfile',
        join(runDir, 'dockerd.pid'),
        // Containers only talk to each other and to ports published on 127.0.0.1: no NAT to the outside.
        '--ip-masq=false',
        '--ip',
        '127.0.0.1',
      ],
    },
    env,
  );
  const version = await waitFor(`dockerd to answer on ${dockerHost}`, () => dockerEngineVersion(dockerHost), {
    timeoutMs: 60_000,
    intervalMs: 500,
    logFile,
    stillAlive: () => runningDaemonPid(DAEMON, env) === pid,
  });
  log(`dockerd ${version} started on ${dockerHost} (log: ${logFile})`);
  return { dockerHost, version, startedByUs: true };
}

/** Candidate engines in order of preference: DOCKER_HOST, the default socket, ours. */
function candidateDockerHosts(env: NodeJS.ProcessEnv): string[] {
  return [...new Set([env.DOCKER_HOST, DEFAULT_SOCKET, ownDockerHost(env)].filter((host): host is string => !!host))];
}

export async function findDockerEngine(env: NodeJS.ProcessEnv = process.env): Promise<DockerResult | undefined> {
  for (const dockerHost of candidateDockerHosts(env)) {
    const version = await dockerEngineVersion(dockerHost);
    if (version) return { dockerHost, version, startedByUs: dockerHost === ownDockerHost(env) && runningDaemonPid(DAEMON, env) !== undefined };
  }
  return undefined;
}

export async function upDocker(context: UpContext): Promise<DockerResult> {
  return (await findDockerEngine(context.env)) ?? startOwnDockerd(context);
}

/** Removes containers, networks and volumes labelled faultline.test=true from `dockerHost`. */
export async function removeTestDockerObjects(dockerHost: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dockerEnv = { ...env, DOCKER_HOST: dockerHost };
  const label = `label=${TEST_LABEL_KEY}=${TEST_LABEL_VALUE}`;
  const removed: string[] = [];
  const list = async (kind: string, args: string[]): Promise<string[]> => {
    const result = await runCommand('docker', [...args, '--filter', label, '-q'], { env: dockerEnv });
    if (result.code !== 0) throw new TestEnvError(`docker ${kind} ls failed: ${result.stderr.trim()}`);
    return result.stdout.split('\n').filter(Boolean);
  };
  const containers = await list('container', ['ps', '-a']);
  if (containers.length) await runCommand('docker', ['rm', '-f', '-v', ...containers], { env: dockerEnv });
  removed.push(...containers.map((id) => `container ${id}`));
  const networks = await list('network', ['network', 'ls']);
  if (networks.length) await runCommand('docker', ['network', 'rm', ...networks], { env: dockerEnv });
  removed.push(...networks.map((id) => `network ${id}`));
  const volumes = await list('volume', ['volume', 'ls']);
  if (volumes.length) await runCommand('docker', ['volume', 'rm', '-f', ...volumes], { env: dockerEnv });
  removed.push(...volumes.map((id) => `volume ${id}`));
  return removed;
}

export async function downDocker(env: NodeJS.ProcessEnv = process.env): Promise<{ removed: string[]; stopped: boolean }> {
  const engine = await findDockerEngine(env);
  const removed = engine ? await removeTestDockerObjects(engine.dockerHost, env) : [];
  const stopped = await stopDaemon(DAEMON, 30_000, env);
  return { removed, stopped };
}
