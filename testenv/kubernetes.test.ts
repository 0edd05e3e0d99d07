// The test cluster behaves as a cluster for faultline's purposes: a Deployment's pods are
// scheduled and become Ready, a deleted pod is replaced, evictions respect a
// PodDisruptionBudget, and NetworkPolicies can be created. Talks to the API only, no kubectl.
import { AppsV1Api, CoreV1Api, NetworkingV1Api, PolicyV1Api, type V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireKubernetes, TEST_LABELS, type KubernetesSettings } from '../test/support/testenv.js';

const namespace = `faultline-testenv-${process.pid}`;
const appLabels = { app: 'web' };
let cluster: KubernetesSettings | undefined;

function clients(settings: KubernetesSettings) {
  return {
    core: settings.kubeConfig.makeApiClient(CoreV1Api),
    apps: settings.kubeConfig.makeApiClient(AppsV1Api),
    policy: settings.kubeConfig.makeApiClient(PolicyV1Api),
    networking: settings.kubeConfig.makeApiClient(NetworkingV1Api),
  };
}

function isReady(pod: V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    pod.status?.phase === 'Running' &&
    !!pod.status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')
  );
}

async function readyPods(settings: KubernetesSettings): Promise<V1Pod[]> {
  const pods = await clients(settings).core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
  return pods.items.filter(isReady);
}

/** Polls until `check` holds, at most `timeoutMs` (and so a bounded number of times). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < timeoutMs / 250 && Date.now() < deadline; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function statusCodeOf(error: unknown): number | undefined {
  return (error as { code?: number }).code;
}

describe('the test cluster', () => {
  beforeAll(async () => {
    try {
      cluster = await requireKubernetes();
    } catch (error) {
      if (process.env.CI === 'true' || process.env.CI === '1') throw error;
      return; // Each test skips with the reason through requireKubernetes(ctx).
    }
    await clients(cluster).core.createNamespace({ body: { metadata: { name: namespace, labels: { ...TEST_LABELS } } } });
  });

  afterAll(async () => {
    if (cluster) await clients(cluster).core.deleteNamespace({ name: namespace }).catch(() => {});
  });

  it('runs a Deployment of 3 replicas as 3 Ready pods on the fake nodes', async (ctx) => {
    const settings = await requireKubernetes(ctx);
    await clients(settings).apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web', labels: { ...TEST_LABELS, ...appLabels } },
        spec: {
          replicas: 3,
          selector: { matchLabels: appLabels },
          template: {
            metadata: { labels: { ...TEST_LABELS, ...appLabels } },
            spec: { containers: [{ name: 'web', image: 'faultline-test/web:1' }] },
          },
        },
      },
    });
    const pods = await eventually('3 Ready pods', async () => {
      const ready = await readyPods(settings);
      return ready.length === 3 ? ready : undefined;
    });
    expect(pods.every((pod) => pod.spec?.nodeName?.startsWith('faultline-node-'))).toBe(true);
  });

  it('replaces a deleted pod through its ReplicaSet', async (ctx) => {
    const settings = await requireKubernetes(ctx);
    const before = await readyPods(settings);
    expect(before).toHaveLength(3);
    const victim = before[0]!.metadata!.name!;
    await clients(settings).core.deleteNamespacedPod({ name: victim, namespace });
    const after = await eventually('a replacement pod', async () => {
      const ready = await readyPods(settings);
      return ready.length === 3 && !ready.some((pod) => pod.metadata?.name === victim) ? ready : undefined;
    });
    expect(after.map((pod) => pod.metadata?.name)).not.toContain(victim);
  });

  it('lets an eviction through only while the PodDisruptionBudget allows it', async (ctx) => {
    const settings = await requireKubernetes(ctx);
    const { policy, core } = clients(settings);
    const evict = (name: string) => core.createNamespacedPodEviction({ name, namespace, body: { metadata: { name, namespace } } });
    const createBudget = (name: string, spec: { maxUnavailable?: number; minAvailable?: number }) =>
      policy.createNamespacedPodDisruptionBudget({
        namespace,
        body: { metadata: { name, labels: { ...TEST_LABELS } }, spec: { ...spec, selector: { matchLabels: appLabels } } },
      });
    // The disruption controller, not the API server, works out how many disruptions are allowed.
    const budgetObserved = (name: string, allowed: number) =>
      eventually(`the disruption controller to allow ${allowed} disruptions under ${name}`, async () => {
        const budget = await policy.readNamespacedPodDisruptionBudget({ name, namespace });
        const observed = budget.status?.observedGeneration === budget.metadata?.generation;
        return observed && budget.status?.currentHealthy === 3 && budget.status.disruptionsAllowed === allowed ? true : undefined;
      });

    await eventually('3 Ready pods', async () => ((await readyPods(settings)).length === 3 ? true : undefined));
    await createBudget('allow-one', { maxUnavailable: 1 });
    await budgetObserved('allow-one', 1);
    const [allowed] = await readyPods(settings);
    await evict(allowed!.metadata!.name!);
    await policy.deleteNamespacedPodDisruptionBudget({ name: 'allow-one', namespace });

    await eventually('3 Ready pods again', async () => ((await readyPods(settings)).length === 3 ? true : undefined));
    await createBudget('allow-none', { minAvailable: 3 });
    await budgetObserved('allow-none', 0);
    const [protectedPod] = await readyPods(settings);
    const refused = await evict(protectedPod!.metadata!.name!).then(
      () => undefined,
      (error: unknown) => statusCodeOf(error),
    );
    expect(refused).toBe(429);
    expect((await readyPods(settings)).map((pod) => pod.metadata?.name)).toContain(protectedPod!.metadata!.name);
  });

  it('accepts a NetworkPolicy', async (ctx) => {
    const settings = await requireKubernetes(ctx);
    const created = await clients(settings).networking.createNamespacedNetworkPolicy({
      namespace,
      body: {
        metadata: { name: 'deny-all-ingress', labels: { ...TEST_LABELS } },
        spec: { podSelector: { matchLabels: appLabels }, policyTypes: ['Ingress'] },
      },
    });
    expect(created.metadata?.uid).toBeTruthy();
  });

  it('records writes by the faultline-admin identity in the audit log', async (ctx) => {
    const settings = await requireKubernetes(ctx);
    const name = `audited-${Date.now()}`;
    await clients(settings).core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { ...TEST_LABELS } } } });
    const entry = await eventually('the audit entry for the ConfigMap', async () =>
      readFileSync(settings.auditLogPath, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { verb: string; user: { username: string }; objectRef?: { resource?: string; name?: string } })
        .find((event) => event.verb === 'create' && event.objectRef?.resource === 'configmaps' && event.objectRef.name === name),
    );
    expect(entry.user.username).toBe('faultline-admin');
  });
});
