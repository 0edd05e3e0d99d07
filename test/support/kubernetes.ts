// Fixtures for tests against the test cluster: a namespace of their own (random suffix, TEST_LABELS,
// deleted afterwards), Deployments, bare pods and PodDisruptionBudgets, and bounded waits.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { AppsV1Api, CoreV1Api, Exec, NetworkingV1Api, PolicyV1Api, type V1Container, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import type { KubernetesSettings, RealNodeSettings } from './testenv.js';
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

/**
 * A pod spec for the real node: its nodeSelector and toleration, and real containers from the local
 * images (never pulled). `preferOnly` lets the pods go elsewhere too (a drain's replacements).
 */
export function realNodeSpec(node: RealNodeSettings, containers: V1Container[], options: { preferOnly?: boolean } = {}): Partial<V1PodSpec> {
  const [key, value] = node.label.split('=') as [string, string];
  return {
    containers: containers.map((container) => ({ imagePullPolicy: 'Never', ...container })),
    tolerations: [{ key, operator: 'Exists', effect: 'NoSchedule' }],
    ...(options.preferOnly
      ? { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key, operator: 'In', values: [value] }] } }] } } }
      : { nodeSelector: { [key]: value } }),
  };
}

/** busybox httpd on port 8080, serving /index.html ("ok from <pod>"), ready once it answers. */
export function httpdContainer(node: RealNodeSettings, extra: Partial<V1Container> = {}): V1Container {
  return {
    name: 'app',
    image: node.busyboxImage,
    command: ['sh', '-c', 'mkdir -p /www && echo "ok from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www'],
    ports: [{ containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/index.html', port: 8080 as never }, periodSeconds: 1 },
    ...extra,
  };
}

/** Runs `sh -c command` in the pod's container `app` through the apiserver and kubelet (a real node only); resolves with its output. */
export async function execInPod(settings: KubernetesSettings, namespace: string, pod: string, command: string, container = 'app'): Promise<string> {
  let output = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exec ${command} in ${namespace}/${pod}: no answer in 20 s`)), 20_000);
    new Exec(settings.kubeConfig)
      .exec(namespace, pod, container, ['sh', '-c', command], sink, sink, null, false, () => {
        clearTimeout(timer);
        resolve();
      })
      .catch((error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
  });
  return output;
}

export async function createService(settings: KubernetesSettings, namespace: string, name: string, selector: Record<string, string>): Promise<string> {
  const service = await kubeClients(settings).core.createNamespacedService({
    namespace,
    body: { metadata: { name, labels: { ...TEST_LABELS } }, spec: { selector, ports: [{ port: 80, targetPort: 8080 as never }] } },
  });
  return service.spec!.clusterIP!;
}

export async function createDeployment(
  settings: KubernetesSettings,
  namespace: string,
  name: string,
  replicas: number,
  options: { nodeName?: string; spec?: Partial<V1PodSpec> } = {},
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
            ...options.spec,
          },
        },
      },
    },
  });
}

export async function createBarePod(settings: KubernetesSettings, namespace: string, name: string, labels: Record<string, string>, spec: Partial<V1PodSpec> = {}): Promise<void> {
  await kubeClients(settings).core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { ...TEST_LABELS, ...labels } },
      spec: { containers: [{ name: 'app', image: 'faultline-test/app:1' }], terminationGracePeriodSeconds: 1, ...spec },
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
