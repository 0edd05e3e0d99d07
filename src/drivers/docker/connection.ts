// Which Docker engine the driver talks to, and how its failures read: the host comes from
// `targets.docker`, else DOCKER_HOST, else the default socket, and is written into every undo so
// `faultline recover` reaches the same engine from a new process without the experiment.
import type Docker from 'dockerode';
import type { EventFeed } from './events.js';
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
/** Bound on a ping: an engine that does not answer a ping within this is unreachable. */
const PING_TIMEOUT_MS = 5_000;

export const connectionShape = {
  host: z
    .string()
    .regex(/^(unix|tcp|http):\/\/./, 'expected unix:///path/to/docker.sock, tcp://host:port or http://host:port')
    .optional()
    .meta({ description: 'The engine, as DOCKER_HOST writes it: unix:///var/run/docker.sock or tcp://127.0.0.1:2375. Default: DOCKER_HOST, else the default socket.' }),
  socketPath: z.string().min(1).optional().meta({ description: 'Path of the engine\'s unix socket; the same as host: unix://<path>.' }),
};

/** The connection an undo carries: always resolved to one host string. */
export const undoConnectionSchema = z.string().regex(/^(unix|tcp|http):\/\/./);

/** The engine to use: targets.docker.host or socketPath, else DOCKER_HOST, else the default socket. */
export function resolveDockerHost(settings: { host?: string | undefined; socketPath?: string | undefined } | undefined, env: Readonly<Record<string, string | undefined>>): string {
  if (settings?.host && settings.socketPath) {
    throw new FaultlineError('E_INPUT', 'targets.docker: give host or socketPath, not both');
  }
  if (settings?.host) return settings.host;
  if (settings?.socketPath) return `unix://${settings.socketPath}`;
  const fromEnv = env.DOCKER_HOST?.trim();
  if (!fromEnv) return DEFAULT_DOCKER_HOST;
  if (/^(unix|tcp|http):\/\/./.test(fromEnv)) return fromEnv;
  throw new FaultlineError('E_INPUT', `DOCKER_HOST=${fromEnv} is not supported by the docker driver`, {
    hint: 'use unix:///path/to/docker.sock or tcp://host:port (plain HTTP); ssh:// and TLS engines are not supported yet',
  });
}

/**
 * What the docker driver keeps for one run: a client per engine, so the steps reuse their connections;
 * and the event feeds a recheck opened before a fault's instant, by the prepared selection they watch,
 * for its apply to take (closed with the recheck's signal if it never does).
 */
export interface DockerSession {
  clients: Map<string, Docker>;
  readied: WeakMap<object, EventFeed>;
}

/**
 * A dockerode client for a host, kept in the run's session (a new one without a session). Every option
 * is given explicitly: docker-modem merges its own defaults from the process's DOCKER_HOST, which must
 * not override the engine the experiment named.
 */
export async function dockerClient(dockerHost: string, session: DockerSession | undefined): Promise<Docker> {
  let client = session?.clients.get(dockerHost);
  if (!client) {
    // Imported at the first call: validate, plan of other drivers and --help need no Docker client.
    const { default: Docker } = await import('dockerode');
    if (dockerHost.startsWith('unix://')) {
      client = new Docker({ socketPath: dockerHost.slice('unix://'.length), host: undefined, port: undefined, protocol: 'http' } as Docker.DockerOptions);
    } else {
      const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
      client = new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http', socketPath: undefined } as Docker.DockerOptions);
    }
    session?.clients.set(dockerHost, client);
  }
  return client;
}

/** The shape of the errors docker-modem rejects with. */
interface ModemError {
  statusCode?: number;
  code?: string;
  reason?: string;
  json?: { message?: string } | string | null;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'ENOTFOUND', 'EPIPE']);

export function isUnreachable(error: unknown): boolean {
  return UNREACHABLE.has((error as ModemError)?.code ?? '');
}

export function statusOf(error: unknown): number | undefined {
  return (error as ModemError)?.statusCode;
}

/** True for the engine's "no such container / network" answer. */
export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/** The engine's own message for a failed call, without docker-modem's "(HTTP code 409) ..." wrapping. */
export function engineMessage(error: unknown): string {
  const e = error as ModemError;
  if (e?.json && typeof e.json === 'object' && e.json.message) return e.json.message;
  if (typeof e?.json === 'string' && e.json.trim()) return e.json.trim();
  return error instanceof Error ? error.message : String(error);
}

export function unreachableError(dockerHost: string, error: unknown): FaultlineError {
  const code = (error as ModemError)?.code;
  return new FaultlineError('E_PREFLIGHT', `the Docker engine at ${dockerHost} is unreachable (${code ?? engineMessage(error)})`, {
    hint:
      code === 'EACCES'
        ? 'permission denied on the socket: run as a member of the docker group'
        : 'is dockerd running? Point DOCKER_HOST or targets.docker.host at a running engine',
    cause: error,
  });
}

/** Turns an engine failure into a FaultlineError that says what was being done. */
export function dockerError(dockerHost: string, what: string, error: unknown): FaultlineError {
  if (error instanceof FaultlineError) return error;
  if (isUnreachable(error)) return unreachableError(dockerHost, error);
  return new FaultlineError('E_DRIVER', `${what}: ${engineMessage(error)}`, { cause: error });
}

/** Calls the engine, turning its failures into FaultlineErrors. */
export async function engineCall<T>(dockerHost: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw dockerError(dockerHost, what, error);
  }
}

/** Checks the engine answers; the driver's preflight, run before any fault. */
export async function pingEngine(dockerHost: string, session: DockerSession | undefined, signal?: AbortSignal): Promise<string> {
  const docker = await dockerClient(dockerHost, session);
  const timeout = AbortSignal.timeout(PING_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    // dockerode takes an abortSignal here; @types/dockerode types version() without options.
    const version = await (docker.version as unknown as (options: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>).call(docker, { abortSignal: combined });
    return version.Version;
  } catch (error) {
    if (timeout.aborted) throw unreachableError(dockerHost, Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' }));
    throw unreachableError(dockerHost, error);
  }
}
