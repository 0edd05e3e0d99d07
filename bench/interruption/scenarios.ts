// Real systems to interrupt faultline against, one per driver: each sets up its victim (a process, a
// Toxiproxy proxy, a Docker container), writes an experiment that applies several faults to it, and
// checks the real server for anything still applied. Shared by bench/guardian.bench.ts (kill -9 → undone)
// and bench/torture.ts (the interruption campaign).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';

export type DriverName = 'process' | 'toxiproxy' | 'docker';

export interface Servers {
  toxiproxyUrl?: string;
  dockerHost?: string;
  busyboxImage?: string;
}

export interface Scenario {
  driver: DriverName;
  /** The experiment file, written in `dir`. */
  file: string;
  /** What is still applied on the real server, in words; empty when clean. */
  leftovers(): Promise<string[]>;
  /** Removes the victim, whatever state it is in. */
  dispose(): Promise<void>;
}

/** Timings of the method: `holdMs` is how long the faults stay (long for the kill -9 benchmark). */
export interface ScenarioOptions {
  dir: string;
  holdMs: number;
  /** Setup and teardown steps, so interrupts can land there too. */
  withSteps: boolean;
  /** Toxiproxy listen port (a fixed range per engineer). */
  port: number;
}

const steps = (withSteps: boolean) =>
  withSteps
    ? ['setup:', '  - action: command.run', '    with: { run: [sleep, "0.3"] }', 'teardown:', '  - action: command.run', '    with: { run: [sleep, "0.3"] }']
    : [];

export async function processScenario(options: ScenarioOptions): Promise<Scenario> {
  const victim: ChildProcess = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
  victim.unref();
  const pid = victim.pid!;
  const file = join(options.dir, 'process.yaml');
  const half = Math.round(options.holdMs / 2);
  await writeFile(
    file,
    [
      'version: 1',
      'title: torture (process)',
      ...steps(options.withSteps),
      'method:',
      '  - name: freeze',
      '    fault: process.stop',
      `    with: { pid: ${pid} }`,
      `    duration: ${options.holdMs}ms`,
      '  - name: freeze again',
      '    fault: process.stop',
      `    with: { pid: ${pid} }`,
      `    at: ${half}ms`,
      `    duration: ${half}ms`,
    ].join('\n'),
  );
  return {
    driver: 'process',
    file,
    async leftovers() {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      return /State:\s*T/.test(status) ? [`process ${pid} stopped`] : [];
    },
    async dispose() {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

async function toxiproxyCall(url: string, path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
}

export async function toxiproxyScenario(options: ScenarioOptions, servers: Servers): Promise<Scenario> {
  const url = servers.toxiproxyUrl!;
  const proxy = `faultline-torture-${randomBytes(3).toString('hex')}`;
  const file = join(options.dir, 'toxiproxy.yaml');
  const half = Math.round(options.holdMs / 2);
  await writeFile(
    file,
    [
      'version: 1',
      'title: torture (toxiproxy)',
      'targets:',
      '  toxiproxy:',
      `    url: "${url}"`,
      `    proxies: [{ name: ${proxy}, listen: "127.0.0.1:${options.port}", upstream: "127.0.0.1:9" }]`,
      ...steps(options.withSteps),
      'method:',
      '  - name: latency',
      '    fault: toxiproxy.latency',
      `    with: { proxy: ${proxy}, latency: 1s }`,
      `    duration: ${options.holdMs}ms`,
      '  - name: bandwidth',
      '    fault: toxiproxy.bandwidth',
      `    with: { proxy: ${proxy}, rate: 1 }`,
      `    at: ${half}ms`,
      `    duration: ${half}ms`,
    ].join('\n'),
  );
  return {
    driver: 'toxiproxy',
    file,
    async leftovers() {
      const response = await toxiproxyCall(url, `/proxies/${proxy}`);
      if (response.status === 404) return [];
      const body = (await response.json()) as { toxics?: { name: string }[]; enabled?: boolean };
      const found = (body.toxics ?? []).map((t) => `toxic ${t.name} on ${proxy}`);
      // The proxy itself was created by the run (a provision): it must be gone too.
      return [...found, `proxy ${proxy} created by the run`];
    },
    async dispose() {
      await toxiproxyCall(url, `/proxies/${proxy}`, { method: 'DELETE' }).catch(() => undefined);
    },
  };
}

export async function dockerScenario(options: ScenarioOptions, servers: Servers): Promise<Scenario> {
  const client = new Docker({ socketPath: servers.dockerHost!.replace(/^unix:\/\//, '') });
  const name = `faultline-torture-${randomBytes(3).toString('hex')}`;
  const network = await client.createNetwork({ Name: name, Labels: { 'faultline.test': 'true' } });
  const container = await client.createContainer({ name, Image: servers.busyboxImage!, Cmd: ['sleep', '3600'], Labels: { 'faultline.test': 'true' }, HostConfig: { NetworkMode: name } });
  await container.start();
  const file = join(options.dir, 'docker.yaml');
  const third = Math.round(options.holdMs / 3);
  await writeFile(
    file,
    [
      'version: 1',
      'title: torture (docker)',
      ...steps(options.withSteps),
      'method:',
      // Limits and the disconnect select running containers: they come first; the pause ends before them.
      '  - name: limit',
      '    fault: docker.limit',
      `    with: { container: ${name}, cpus: 0.1, memory: 32MiB }`,
      `    duration: ${options.holdMs}ms`,
      '  - name: disconnect',
      '    fault: docker.network-disconnect',
      `    with: { container: ${name}, network: ${name} }`,
      `    duration: ${options.holdMs}ms`,
      '  - name: pause',
      '    fault: docker.pause',
      `    with: { container: ${name} }`,
      `    at: ${third}ms`,
      `    duration: ${third}ms`,
    ].join('\n'),
  );
  return {
    driver: 'docker',
    file,
    async leftovers() {
      const info = await container.inspect();
      const found: string[] = [];
      if (info.State.Paused) found.push(`container ${name} paused`);
      if (!info.State.Running) found.push(`container ${name} not running`);
      // The driver lifts a memory limit by setting a huge one (0 means "no change" to the engine), and a CPU quota with -1.
      const memory = info.HostConfig.Memory ?? 0;
      if (memory > 0 && memory < 2 ** 50) found.push(`container ${name} memory-limited (${memory})`);
      if ((info.HostConfig.CpuQuota ?? 0) > 0 || (info.HostConfig.NanoCpus ?? 0) > 0) found.push(`container ${name} cpu-limited`);
      if (!info.NetworkSettings.Networks?.[name]) found.push(`container ${name} disconnected from ${name}`);
      return found;
    },
    async dispose() {
      await container.remove({ force: true }).catch(() => undefined);
      await network.remove().catch(() => undefined);
    },
  };
}

/** The drivers whose server answers, with the settings for them (from the test environment's env file). */
export async function availableServers(): Promise<{ servers: Servers; drivers: DriverName[] }> {
  const state = process.env.FAULTLINE_TESTENV_STATE;
  const text = state ? await readFile(join(state, 'env'), 'utf8').catch(() => '') : '';
  const settings = Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!.replace(/^'(.*)'$/, '$1')]),
  );
  const servers: Servers = {
    toxiproxyUrl: settings.TOXIPROXY_URL ?? process.env.TOXIPROXY_URL,
    dockerHost: settings.DOCKER_HOST ?? process.env.DOCKER_HOST,
    busyboxImage: settings.FAULTLINE_TEST_BUSYBOX_IMAGE,
  };
  const drivers: DriverName[] = ['process'];
  if (servers.toxiproxyUrl && (await toxiproxyCall(servers.toxiproxyUrl, '/version').then((r) => r.ok, () => false))) drivers.push('toxiproxy');
  if (servers.dockerHost?.startsWith('unix://') && servers.busyboxImage) {
    const client = new Docker({ socketPath: servers.dockerHost.replace(/^unix:\/\//, '') });
    if (await client.ping().then(() => true, () => false)) drivers.push('docker');
  }
  return { servers, drivers };
}

export function createScenario(driver: DriverName, options: ScenarioOptions, servers: Servers): Promise<Scenario> {
  if (driver === 'process') return processScenario(options);
  if (driver === 'toxiproxy') return toxiproxyScenario(options, servers);
  return dockerScenario(options, servers);
}

/** The CLI as a user runs it. */
export const CLI = join(import.meta.dirname, '..', '..', 'bin', 'faultline.js');

export interface CliRun {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

export function startRun(args: string[], env: NodeJS.ProcessEnv, cwd: string): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env, NO_COLOR: '1', CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => output };
}

/** Polls until `check` is true or `timeoutMs` passed; returns whether it became true. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i <= timeoutMs / everyMs && Date.now() < deadline; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return check();
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
