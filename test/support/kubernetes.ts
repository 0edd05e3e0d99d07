// Fixtures for tests against the test cluster: a namespace of their own (random suffix, TEST_LABELS,
// deleted afterwards), Deployments, bare pods and PodDisruptionBudgets, and bounded waits.
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, NetworkingV1Api, PolicyV1Api, type V1Pod } from '@kubernetes/client-node';
import type { KubernetesSettings } from './testenv.js';
import { TEST_LABELS } from './testenv.js';
import { eventually } from './cli.js';

export function kubeClients(settings: KubernetesSettings) {
  return {
    core: settings.kubeConfig.makeApiClient(CoreV1Api),
    apps: settings.kubeConfig.makeApiClient(AppsV1Api),
    policy: settings.kubeConfig.makeApiClient(PolicyV1Api),
    networking: settings.kubeConfig.makeApiClient(NetworkingV1Api),
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function createNamespace(settings: KubernetesSettings, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kubeClients(settings).core.createNamespace({ body: { metadata: { name, labels: { ...TEST_LABELS } } } });
  // Pods are refused until the namespace's default service account exists.
  await eventually(`the default service account in ${name}`, async () => {
    const accounts = await kubeClients(settings).core.listNamespacedServiceAccount({ namespace: name });
    return accounts.items.some((a) => a.metadata?.name === 'default') ? true : undefined;
  });
  return name;
}

export async function deleteNamespace(settings: KubernetesSettings | undefined, name: string | undefined): Promise<void> {
  if (!settings || !name) return;
  await kubeClients(settings).core.deleteNamespace({ name }).catch(() => {});
}

export async function createDeployment(
  settings: KubernetesSettings,
  namespace: string,
  name: string,
  replicas: number,
  options: { nodeName?: string } = {},
): Promise<void> {
  const labels = { ...TEST_LABELS, app: name };
  await kubeClients(settings).apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels },
          spec: {
            containers: [{ name: 'app', image: 'faultline-test/app:1' }],
            ...(options.nodeName ? { nodeSelector: { 'kubernetes.io/hostname': options.nodeName } } : {}),
            // kwok keeps a deleted pod until the grace period ends; a short one keeps the tests quick.
            terminationGracePeriodSeconds: 1,
          },
        },
      },
    },
  });
}

export async function createBarePod(settings: KubernetesSettings, namespace: string, name: string, labels: Record<string, string>): Promise<void> {
  await kubeClients(settings).core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { ...TEST_LABELS, ...labels } },
      spec: { containers: [{ name: 'app', image: 'faultline-test/app:1' }], terminationGracePeriodSeconds: 1 },
    },
  });
}

export function isReady(pod: V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    pod.status?.phase === 'Running' &&
    !!pod.status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')
  );
}

export async function readyPods(settings: KubernetesSettings, namespace: string, labelSelector: string): Promise<V1Pod[]> {
  const pods = await kubeClients(settings).core.listNamespacedPod({ namespace, labelSelector });
  return pods.items.filter(isReady);
}

export async function waitForReadyPods(settings: KubernetesSettings, namespace: string, labelSelector: string, count: number, timeoutMs = 60_000): Promise<V1Pod[]> {
  return eventually(`${count} ready pods (${labelSelector}) in ${namespace}`, async () => {
    const pods = await readyPods(settings, namespace, labelSelector);
    return pods.length === count ? pods : undefined;
  }, timeoutMs);
}

/** The kubernetes target settings an experiment in a test gives: this cluster, this namespace. */
export function testTarget(settings: KubernetesSettings, namespace: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { kubeconfig: settings.kubeconfigPath, contexts: [settings.context], namespaces: [namespace], ...extra };
}

export interface AuditEvent {
  verb?: string;
  userAgent?: string;
  user?: { username?: string };
  requestURI?: string;
  requestReceivedTimestamp?: string;
  objectRef?: { namespace?: string; resource?: string; name?: string };
}

/** Requests other than get, list and watch in the apiserver's audit log since `sinceIso` that `match` picks. */
export async function mutatingAuditEvents(auditLogPath: string, sinceIso: string, match: (event: AuditEvent) => boolean): Promise<AuditEvent[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(auditLogPath, 'utf8');
  const since = Date.parse(sinceIso);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((event) => Date.parse(event.requestReceivedTimestamp ?? '') >= since && !['get', 'list', 'watch'].includes(event.verb ?? '') && match(event));
}
