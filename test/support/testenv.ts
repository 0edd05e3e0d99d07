// What a test calls to get a real server from the test environment: requireToxiproxy(ctx),
// requireDocker(ctx), requireKubernetes(ctx). When the server is missing the test is skipped
// with the reason, except under CI=true, where it fails: CI must never pass by skipping.
import { KubeConfig } from '@kubernetes/client-node';
import Docker from 'dockerode';
import type { TestContext } from 'vitest';
import { loadTestEnv, TEST_LABEL_KEY, TEST_LABEL_VALUE } from '../../testenv/index.js';
import { dockerEngineVersion } from '../../testenv/docker.js';
import { toxiproxyVersion } from '../../testenv/toxiproxy.js';
import { kubernetesStatus } from '../../testenv/kubernetes.js';
import { kubernetesNodeStatus } from '../../testenv/kubernetes-node.js';

/** Labels for everything a test creates; `npm run testenv -- down` removes what carries them. */
export const TEST_LABELS: Readonly<Record<string, string>> = Object.freeze({ [TEST_LABEL_KEY]: TEST_LABEL_VALUE });

export interface ToxiproxySettings {
  url: string;
  version: string;
}

export interface DockerSettings {
  dockerHost: string;
  version: string;
  busyboxImage: string;
  nodeImage: string;
  /** A dockerode client for this engine. */
  client: Docker;
}

export interface KubernetesSettings {
  kubeconfigPath: string;
  context: string;
  server: string;
  auditLogPath: string;
  version: string;
  /** Loaded from kubeconfigPath with the faultline-test context selected. */
  kubeConfig: KubeConfig;
}

/** The real node beside the kwok ones: kubelet, containerd and NetworkPolicy enforced by kube-router. */
export interface RealNodeSettings extends KubernetesSettings {
  node: string;
  /** `key=value`: its nodeSelector; the node is tainted with the same key (NoSchedule). */
  label: string;
  /** Local images its containerd holds (pods use imagePullPolicy: Never). */
  busyboxImage: string;
  nodeImage: string;
}

type Found<T> = { ok: true; settings: T } | { ok: false; reason: string };

function settingsFile(): Record<string, string> {
  // Only the file `up` wrote, never an ambient KUBECONFIG or DOCKER_HOST: a chaos test must not
  // land on a developer's real cluster because their shell happened to point at it.
  return loadTestEnv();
}

const HOW_TO_START = 'start it with `npm run testenv -- up` (or unset FAULTLINE_TESTENV)';

async function lookUpToxiproxy(): Promise<Found<ToxiproxySettings>> {
  const url = settingsFile().TOXIPROXY_URL;
  if (!url) return { ok: false, reason: `Toxiproxy is not in .testenv/env; ${HOW_TO_START}` };
  const version = await toxiproxyVersion(url);
  return version ? { ok: true, settings: { url, version } } : { ok: false, reason: `Toxiproxy does not answer on ${url}; ${HOW_TO_START}` };
}

async function lookUpDocker(): Promise<Found<DockerSettings>> {
  const settings = settingsFile();
  const dockerHost = settings.DOCKER_HOST;
  const busyboxImage = settings.FAULTLINE_TEST_BUSYBOX_IMAGE;
  const nodeImage = settings.FAULTLINE_TEST_NODE_IMAGE;
  if (!dockerHost || !busyboxImage || !nodeImage) return { ok: false, reason: `Docker is not in .testenv/env; ${HOW_TO_START}` };
  const version = await dockerEngineVersion(dockerHost);
  if (!version) return { ok: false, reason: `no Docker engine answers on ${dockerHost}; ${HOW_TO_START}` };
  const client = dockerHost.startsWith('unix://')
    ? new Docker({ socketPath: dockerHost.slice('unix://'.length) })
    : new Docker({ host: new URL(dockerHost.replace(/^tcp:/, 'http:')).hostname, port: Number(new URL(dockerHost.replace(/^tcp:/, 'http:')).port) });
  return { ok: true, settings: { dockerHost, version, busyboxImage, nodeImage, client } };
}

async function lookUpKubernetes(): Promise<Found<KubernetesSettings>> {
  const settings = settingsFile();
  const kubeconfigPath = settings.KUBECONFIG;
  const context = settings.KUBE_CONTEXT;
  if (!kubeconfigPath || !context || !settings.KUBE_AUDIT_LOG || !settings.KUBE_SERVER) {
    return { ok: false, reason: `Kubernetes is not in .testenv/env; ${HOW_TO_START}` };
  }
  const health = await kubernetesStatus();
  if (!health.healthy || !health.version) return { ok: false, reason: `the test cluster is not healthy (${health.problems.join('; ')}); ${HOW_TO_START}` };
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  kubeConfig.setCurrentContext(context);
  return {
    ok: true,
    settings: { kubeconfigPath, context, server: settings.KUBE_SERVER, auditLogPath: settings.KUBE_AUDIT_LOG, version: health.version, kubeConfig },
  };
}

async function lookUpRealNode(): Promise<Found<RealNodeSettings>> {
  const cluster = await lookUpKubernetes();
  if (!cluster.ok) return cluster;
  const settings = settingsFile();
  const { KUBE_REAL_NODE: node, KUBE_REAL_NODE_LABEL: label, FAULTLINE_TEST_BUSYBOX_IMAGE: busyboxImage, FAULTLINE_TEST_NODE_IMAGE: nodeImage } = settings;
  if (!node || !label || !busyboxImage || !nodeImage) return { ok: false, reason: `the real Kubernetes node is not in .testenv/env; ${HOW_TO_START}` };
  const health = await kubernetesNodeStatus();
  if (!health.healthy) return { ok: false, reason: `the real Kubernetes node is not healthy (${health.problems.join('; ')}); ${HOW_TO_START}` };
  return { ok: true, settings: { ...cluster.settings, node, label, busyboxImage, nodeImage } };
}

// One health check per server per test file: the servers do not come and go within a run.
const lookups = new Map<string, Promise<Found<unknown>>>();
function once<T>(name: string, lookUp: () => Promise<Found<T>>): Promise<Found<T>> {
  if (!lookups.has(name)) lookups.set(name, lookUp());
  return lookups.get(name) as Promise<Found<T>>;
}

export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

async function requireServer<T>(name: string, lookUp: () => Promise<Found<T>>, ctx: TestContext | undefined): Promise<T> {
  const found = await once(name, lookUp);
  if (found.ok) return found.settings;
  const message = `${name} is needed by this test: ${found.reason}`;
  if (isCI() || !ctx) throw new Error(message);
  process.stderr.write(`skipped "${ctx.task.name}": ${message}\n`);
  ctx.skip(message);
  throw new Error('unreachable: ctx.skip() throws');
}

/**
 * Connection settings for the test Toxiproxy. Pass the test context so a missing server skips
 * the test (or fails it under CI=true); without a context a missing server always throws.
 */
export function requireToxiproxy(ctx?: TestContext): Promise<ToxiproxySettings> {
  return requireServer('Toxiproxy', lookUpToxiproxy, ctx);
}

/** The test Docker engine, a client for it and the local test image names; see requireToxiproxy. */
export function requireDocker(ctx?: TestContext): Promise<DockerSettings> {
  return requireServer('Docker', lookUpDocker, ctx);
}

/** The test cluster with its real node (pods run containers there); see requireToxiproxy. */
export function requireRealNode(ctx?: TestContext): Promise<RealNodeSettings> {
  return requireServer('The real Kubernetes node', lookUpRealNode, ctx);
}

/** The test cluster's kubeconfig, context and audit log; see requireToxiproxy. */
export function requireKubernetes(ctx?: TestContext): Promise<KubernetesSettings> {
  return requireServer('Kubernetes', lookUpKubernetes, ctx);
}
