// The test environment as a library: up, status and down for Toxiproxy, Docker, the
// Kubernetes control plane and the Chromium the HTML report tests drive, shared by `npm run testenv` and the vitest global setup.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTestEnv, writeTestEnv, type TestEnvSettings } from './envfile.js';
import { envFilePath, stateDir } from './layout.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import { isAlive, sleep } from './processes.js';
import { downToxiproxy, toxiproxyUrl, toxiproxyVersion, upToxiproxy, TOXIPROXY_VERSION } from './toxiproxy.js';
import { downDocker, findDockerEngine, upDocker } from './docker.js';
import { upImages } from './images.js';
import { ensureJunitSchema } from './junit-schema.js';
import { ensureHaproxy } from './haproxy.js';
import { caddyVersion, ensureCaddy, findCaddy, CADDY_VERSION } from './caddy.js';
import { ensureNginx } from './nginx.js';
import { chromiumVersion, ensureChromium, findChromium } from './chromium.js';
import { ensurePrometheus } from './prometheus.js';
import { downKubernetes, kubernetesStatus, upKubernetes, KUBE_CONTEXT, KUBERNETES_VERSION, KWOK_VERSION } from './kubernetes.js';
import { downKubernetesNode, kubernetesNodeStatus, upKubernetesNode, KUBE_ROUTER_VERSION, POD_CIDR, REAL_NODE_NAME } from './kubernetes-node.js';

export { loadTestEnv, type TestEnvSettings } from './envfile.js';
export { NotBuiltError, TestEnvError } from './errors.js';
export { TEST_LABEL_KEY, TEST_LABEL_VALUE } from './layout.js';

export const COMPONENTS = ['toxiproxy', 'docker', 'kubernetes', 'kubernetes-node', 'chromium'] as const;
export type Component = (typeof COMPONENTS)[number];

export const PINNED_VERSIONS = {
  toxiproxy: `v${TOXIPROXY_VERSION}`,
  kubernetes: `v${KUBERNETES_VERSION}`,
  kwok: `v${KWOK_VERSION}`,
  'kube-router': `v${KUBE_ROUTER_VERSION}`,
  caddy: `v${CADDY_VERSION}`,
} as const;

/**
 * Which parts to bring up, from FAULTLINE_TESTENV: unset or "all" for everything, "none" for
 * nothing, or a comma-separated list such as "toxiproxy,docker".
 */
export function selectedComponents(value: string | undefined): Component[] {
  const text = (value ?? 'all').trim().toLowerCase();
  if (text === '' || text === 'all') return [...COMPONENTS];
  if (text === 'none') return [];
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(COMPONENTS as readonly string[]).includes(name));
  if (unknown.length) {
    throw new TestEnvError(`FAULTLINE_TESTENV names unknown parts: ${unknown.join(', ')}; known: ${COMPONENTS.join(', ')}, or all, none`);
  }
  return COMPONENTS.filter((name) => names.includes(name));
}

/** How an `up` runs: where it reports progress, and whether it may build and install. */
export interface UpContext {
  log: (line: string) => void;
  env: NodeJS.ProcessEnv;
  allowBuilds: boolean;
}

export interface UpOptions {
  components?: Component[];
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** false: fail with NotBuiltError instead of running a long build or an install. Default true. */
  allowBuilds?: boolean;
  /** How long to wait for another `up` of this checkout to finish. Default 90 minutes (a cold build). */
  lockWaitMs?: number;
}

/**
 * Only one `up` at a time per checkout: a second one (vitest's global setup while a developer
 * runs `up`, say) waits for the first, then finds everything running.
 */
async function withUpLock<T>(env: NodeJS.ProcessEnv, log: (line: string) => void, waitLimitMs: number, work: () => Promise<T>): Promise<T> {
  const lock = join(stateDir(env), 'up.lock');
  mkdirSync(stateDir(env), { recursive: true });
  const deadline = Date.now() + waitLimitMs;
  let announced = false;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(lock, 'utf8').trim());
      if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
        rmSync(lock, { force: true }); // Left by an `up` that died.
        continue;
      }
      if (Date.now() > deadline || attempt > waitLimitMs / 1_000) {
        throw new TestEnvError(`another testenv up (pid ${holder}) still holds ${lock} after ${Math.round(waitLimitMs / 1_000)} s`);
      }
      if (!announced) log(`waiting for another testenv up (pid ${holder}) to finish`);
      announced = true;
      await sleep(1_000);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

export interface UpResult {
  settings: TestEnvSettings;
  envFile: string;
  seconds: number;
}

/** Brings the selected parts up (reusing what answers) and writes .testenv/env. */
export async function up(options: UpOptions = {}): Promise<UpResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const components = options.components ?? selectedComponents(env.FAULTLINE_TESTENV);
  const context: UpContext = { log, env, allowBuilds: options.allowBuilds ?? true };
  const started = Date.now();
  return withUpLock(env, log, options.lockWaitMs ?? 90 * 60_000, async () => {
    // Settings of parts not brought up this time are kept: requireX() checks they still answer.
    const settings: TestEnvSettings = { ...loadTestEnv(env) };
    if (components.includes('toxiproxy')) {
      const toxiproxy = await upToxiproxy(context);
      Object.assign(settings, { TOXIPROXY_URL: toxiproxy.url, TOXIPROXY_VERSION: toxiproxy.version });
      // The nginx-behind-Toxiproxy tests need it; a local run without it skips them rather than losing Toxiproxy.
      try {
        settings.NGINX_BINARY = await ensureNginx(context);
      } catch (error) {
        if (!(error instanceof NotBuiltError)) throw error;
        log(`nginx left out: ${error.message}`);
      }
      // The prometheus driver's tests start their own Prometheus from this binary; same rule as nginx.
      try {
        settings.PROMETHEUS_BINARY = await ensurePrometheus(context);
      } catch (error) {
        if (!(error instanceof NotBuiltError)) throw error;
        log(`prometheus left out: ${error.message}`);
      }
      // The acceptance suite puts HAProxy behind Toxiproxy too; without it those cases skip locally.
      try {
        settings.HAPROXY_BINARY = await ensureHaproxy(context);
      } catch (error) {
        if (!(error instanceof NotBuiltError)) throw error;
        log(`haproxy left out: ${error.message}`);
      }
      // A third front for the acceptance suite, built from its Go module; same rule as nginx.
      try {
        settings.CADDY_BINARY = await ensureCaddy(context);
      } catch (error) {
        if (!(error instanceof NotBuiltError)) throw error;
        log(`caddy left out: ${error.message}`);
      }
    }
    if (components.includes('docker')) {
      const docker = await upDocker(context);
      const images = await upImages(docker.dockerHost, context);
      Object.assign(settings, {
        DOCKER_HOST: docker.dockerHost,
        DOCKER_VERSION: docker.version,
        FAULTLINE_TEST_BUSYBOX_IMAGE: images.busybox,
        FAULTLINE_TEST_NODE_IMAGE: images.node,
      });
    }
    if (components.includes('kubernetes')) {
      const kubernetes = await upKubernetes(context);
      Object.assign(settings, {
        KUBECONFIG: kubernetes.kubeconfig,
        KUBE_CONTEXT: kubernetes.context,
        KUBE_SERVER: kubernetes.server,
        KUBE_AUDIT_LOG: kubernetes.auditLog,
        KUBE_VERSION: kubernetes.version,
        KUBE_NODES: kubernetes.nodes.join(','),
      });
    }
    // The real node beside the kwok ones; it needs the cluster and the Docker test images (from this
    // run or an earlier one), so it can be brought up on its own: FAULTLINE_TESTENV=kubernetes-node.
    if (components.includes('kubernetes-node')) {
      const { DOCKER_HOST, FAULTLINE_TEST_BUSYBOX_IMAGE, FAULTLINE_TEST_NODE_IMAGE, KUBECONFIG } = settings;
      if (!DOCKER_HOST || !FAULTLINE_TEST_BUSYBOX_IMAGE || !FAULTLINE_TEST_NODE_IMAGE || !KUBECONFIG) {
        throw new TestEnvError('the real Kubernetes node needs docker (its test images) and kubernetes up first');
      }
      const node = await upKubernetesNode(context, { dockerHost: DOCKER_HOST, busyboxImage: FAULTLINE_TEST_BUSYBOX_IMAGE, nodeImage: FAULTLINE_TEST_NODE_IMAGE });
      Object.assign(settings, { KUBE_REAL_NODE: node.node, KUBE_REAL_NODE_LABEL: node.label, KUBE_REAL_NODE_CONTAINERD: node.containerdAddress, KUBE_REAL_NODE_POD_CIDR: node.podCidr });
    }
    if (components.includes('chromium')) settings.CHROMIUM_BINARY = await ensureChromium(context);
    // Not a server but a file: the schema the JUnit report is validated against. Its tests skip
    // without it locally and fetch it themselves under CI, so a failure here only leaves it out.
    if (context.allowBuilds) {
      await ensureJunitSchema(log, env).catch((error: unknown) => log(`JUnit schema left out: ${error instanceof Error ? error.message : String(error)}`));
    }
    settings.FAULTLINE_TESTENV_COMPONENTS = [
      ...new Set([...(settings.FAULTLINE_TESTENV_COMPONENTS ?? '').split(',').filter(Boolean), ...components]),
    ].join(',');
    const envFile = writeTestEnv(settings, env);
    return { settings, envFile, seconds: (Date.now() - started) / 1_000 };
  });
}

export interface ComponentStatus {
  /** A part `up` brings up, or a binary it builds for the tests (caddy), never "wanted" on its own. */
  component: Component | 'caddy';
  healthy: boolean;
  version?: string;
  detail: string;
}

export async function status(env: NodeJS.ProcessEnv = process.env): Promise<ComponentStatus[]> {
  const settings = loadTestEnv(env);
  const results: ComponentStatus[] = [];

  const url = settings.TOXIPROXY_URL ?? toxiproxyUrl(env);
  const toxiproxy = await toxiproxyVersion(url);
  results.push({ component: 'toxiproxy', healthy: !!toxiproxy, version: toxiproxy, detail: toxiproxy ? url : `nothing answers on ${url}` });

  const docker = await findDockerEngine(settings.DOCKER_HOST ? { ...env, DOCKER_HOST: settings.DOCKER_HOST } : env);
  results.push({
    component: 'docker',
    healthy: !!docker,
    version: docker?.version,
    detail: docker ? docker.dockerHost : 'no Docker engine answers on DOCKER_HOST, /var/run/docker.sock or .testenv/docker',
  });

  const kubernetes = await kubernetesStatus(env);
  results.push({
    component: 'kubernetes',
    healthy: kubernetes.healthy,
    version: kubernetes.version,
    detail: kubernetes.healthy
      ? `context ${KUBE_CONTEXT}, etcd ${kubernetes.etcdVersion}, ${kubernetes.readyNodes} Ready nodes (kwok v${KWOK_VERSION})`
      : kubernetes.problems.join('; '),
  });
  const node = await kubernetesNodeStatus(env);
  results.push({
    component: 'kubernetes-node',
    healthy: node.healthy,
    version: node.kubeletVersion,
    detail: node.healthy
      ? `${REAL_NODE_NAME} Ready (${node.runtime}, pods ${POD_CIDR}, kube-router v${KUBE_ROUTER_VERSION} NetworkPolicy), label faultline.dev/real-node=true`
      : node.problems.join('; '),
  });
  const chromium = await findChromium(env);
  const chromiumAt = chromium ? await chromiumVersion(chromium) : undefined;
  const caddy = findCaddy(env);
  const caddyAt = caddy ? await caddyVersion(caddy) : undefined;
  results.push({ component: 'caddy', healthy: !!caddyAt, version: caddyAt, detail: caddy ? `${caddy} (built from its Go module, for the acceptance suite)` : `not built; \`npm run testenv -- up\` builds caddy v${CADDY_VERSION}` });
  results.push({ component: 'chromium', healthy: !!chromium, version: chromiumAt, detail: chromium ? `${chromium} (Debian's package, for the HTML report tests)` : 'not installed; `npm run testenv -- up` installs it with apt-get' });
  return results;
}

export interface DownResult {
  stopped: string[];
  removed: string[];
}

/** Stops what `up` started, removes faultline.test=true Docker objects, forgets .testenv/env. */
export async function down(env: NodeJS.ProcessEnv = process.env): Promise<DownResult> {
  const stopped: string[] = [];
  const removed: string[] = [];
  const settings = loadTestEnv(env);
  // Under the up lock: an `up` (a test run's global setup) that met a half-removed node would start it on what is left.
  stopped.push(...(await withUpLock(env, () => {}, 5 * 60_000, () => downKubernetesNode(env))));
  stopped.push(...(await downKubernetes(env)));
  const docker = await downDocker(settings.DOCKER_HOST ? { ...env, DOCKER_HOST: settings.DOCKER_HOST } : env);
  removed.push(...docker.removed);
  if (docker.stopped) stopped.push('dockerd');
  if (await downToxiproxy(env)) stopped.push('toxiproxy');
  rmSync(envFilePath(env), { force: true });
  return { stopped, removed };
}
