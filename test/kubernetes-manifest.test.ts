// `faultline kubernetes manifest` against the test cluster: the printed objects apply (server-side);
// the ServiceAccount may do what the experiment needs in its namespace and nothing else
// (SubjectAccessReviews); and faultline itself, run with that ServiceAccount's token, passes the
// pod-kill experiment in the granted namespace and is refused, as a preflight error, in another one.
// The run below is the CLI in this process, holding the Job's identity and exactly its rules; the Job
// itself runs on the real node in test/kubernetes-incluster.e2e.test.ts.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api, KubernetesObjectApi, RbacAuthorizationV1Api, type KubernetesObject, type V1ResourceAttributes } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../src/cli/main.js';
import { ExitCode } from '../src/core/exit-codes.js';
import type { Journal } from '../src/engine/journal.js';
import { REPO_ROOT } from './support/cli.js';
import { captureIo as captureIoIn } from './support/io.js';
import { applyServerSide, printManifest } from './support/incluster.js';
import { createDeployment, createNamespace, deleteNamespace, kubeClients, waitForReadyPods } from './support/kubernetes.js';
import { isCI, requireKubernetes, type KubernetesSettings } from './support/testenv.js';

let settings: KubernetesSettings | undefined;
let granted: string | undefined;
let other: string | undefined;
let dir: string;
const clusterObjects: KubernetesObject[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-manifest-'));
  try {
    settings = await requireKubernetes();
  } catch (error) {
    if (isCI()) throw error;
    return;
  }
  granted = await createNamespace(settings, 'faultline-manifest');
  other = await createNamespace(settings, 'faultline-manifest-other');
  await Promise.all([createDeployment(settings, granted, 'web', 2), createDeployment(settings, other, 'web', 2)]);
  await Promise.all([waitForReadyPods(settings, granted, 'app=web', 2), waitForReadyPods(settings, other, 'app=web', 2)]);
}, 120_000);

afterAll(async () => {
  if (settings) {
    const objects = KubernetesObjectApi.makeApiClient(settings.kubeConfig);
    for (const object of clusterObjects) await objects.delete(object).catch(() => {});
  }
  await deleteNamespace(settings, granted);
  await deleteNamespace(settings, other);
});

// The run below reads KUBECONFIG and HOME from the io's env, as the CLI does from the process's.
const captureIo = (env: Record<string, string | undefined> = {}) => captureIoIn(REPO_ROOT, { ...process.env, ...env });

/** Whether the API server's authorizer lets the ServiceAccount do this (groups as a real token carries). */
async function allowed(cluster: KubernetesSettings, namespace: string, account: string, attributes: V1ResourceAttributes): Promise<boolean> {
  const review = await cluster.kubeConfig.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      spec: {
        user: `system:serviceaccount:${namespace}:${account}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        resourceAttributes: attributes,
      },
    },
  });
  return review.status?.allowed === true;
}

/** A kubeconfig holding a token of the ServiceAccount, its context named as in a pod. */
async function serviceAccountKubeconfig(cluster: KubernetesSettings, namespace: string, account: string): Promise<string> {
  const token = await kubeClients(cluster).core.createNamespacedServiceAccountToken({ name: account, namespace, body: { spec: { audiences: [], expirationSeconds: 600 } } });
  const current = cluster.kubeConfig.getCurrentCluster()!;
  const ca = current.caData ? { 'certificate-authority-data': current.caData } : current.caFile ? { 'certificate-authority': current.caFile } : { 'insecure-skip-tls-verify': true };
  const file = join(dir, `${account}.kubeconfig`);
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'in-cluster', cluster: { server: current.server, ...ca } }],
      users: [{ name: account, user: { token: token.status!.token } }],
      contexts: [{ name: 'inClusterContext', context: { cluster: 'in-cluster', user: account } }],
      'current-context': 'inClusterContext',
    }),
  );
  return file;
}

describe('faultline kubernetes manifest in the test cluster', () => {
  it('pod-kill: applies, grants its verbs only in its namespace, and faultline as the ServiceAccount passes there and is refused elsewhere', async (ctx) => {
    if (!settings) return ctx.skip();
    const vars = ['--var', 'k8s.context=inClusterContext', '--var', `k8s.namespace=${granted}`, '--var', 'k8s.replicas=2'];
    const objects = await printManifest(['experiments/k8s-pod-kill.yaml', ...vars, '--name', 'chaos-pod-kill']);
    await applyServerSide(settings, objects, clusterObjects);

    const rbac = settings.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const role = await rbac.readNamespacedRole({ namespace: granted!, name: 'chaos-pod-kill' });
    expect(role.rules?.map((rule) => `${rule.resources!.join()}:${rule.verbs.join()}`)).toEqual(['pods:delete,list,watch']);

    const can = (namespace: string, verb: string, resource: string, extra: Partial<V1ResourceAttributes> = {}) =>
      allowed(settings!, granted!, 'chaos-pod-kill', { namespace, verb, resource, ...extra });
    for (const verb of ['list', 'delete', 'watch']) {
      expect(await can(granted!, verb, 'pods'), `pods ${verb} in ${granted}`).toBe(true);
      expect(await can(other!, verb, 'pods'), `pods ${verb} in ${other}`).toBe(false);
    }
    expect(await can(granted!, 'get', 'secrets')).toBe(false);
    expect(await can(granted!, 'create', 'pods')).toBe(false);
    expect(await can(granted!, 'create', 'pods', { subresource: 'exec' })).toBe(false);
    expect(await can(granted!, 'update', 'deployments', { group: 'apps', subresource: 'scale' })).toBe(false);
    expect(await can('', 'patch', 'nodes')).toBe(false);

    // faultline with the Job's identity: the experiment passes in the granted namespace...
    const kubeconfig = await serviceAccountKubeconfig(settings, granted!, 'chaos-pod-kill');
    const journalPath = join(dir, 'granted.json');
    const run = captureIo({ KUBECONFIG: kubeconfig });
    const code = await main(
      ['node', 'faultline', 'run', 'experiments/k8s-pod-kill.yaml', ...vars, '--context', 'inClusterContext', '--journal', journalPath, '--ledger-dir', join(dir, 'ledger')],
      run.io,
    );
    expect(code, run.out.stdout + run.out.stderr).toBe(ExitCode.passed);
    const journal = JSON.parse(await readFile(journalPath, 'utf8')) as Journal;
    expect(journal.status).toBe('passed');

    // ...and aimed at a namespace outside its Role, the API server refuses and faultline says so before any fault.
    const refused = captureIo({ KUBECONFIG: kubeconfig });
    const refusedCode = await main(
      ['node', 'faultline', 'run', 'experiments/k8s-pod-kill.yaml', ...vars, '--var', `k8s.namespace=${other}`, '--context', 'inClusterContext', '--ledger-dir', join(dir, 'ledger-other')],
      refused.io,
    );
    expect(refusedCode).toBe(ExitCode.runError);
    expect(refused.out.stdout + refused.out.stderr).toMatch(new RegExp(`listing pods in namespace ${other}: forbidden \\(HTTP 403\\)`));
    // Nothing was killed there.
    await waitForReadyPods(settings, other!, 'app=web', 2, 5_000);
  }, 120_000);

  it('drain on a schedule: a CronJob that forbids overlap, nodes in a ClusterRole, evictions only in the granted namespace', async (ctx) => {
    if (!settings) return ctx.skip();
    const objects = await printManifest([
      'experiments/k8s-drain.yaml',
      '--var',
      'k8s.context=inClusterContext',
      '--var',
      `k8s.namespace=${granted}`,
      '--name',
      'chaos-drain',
      '--schedule',
      '0 3 * * *',
    ]);
    await applyServerSide(settings, objects, clusterObjects);

    const cron = await settings.kubeConfig.makeApiClient((await import('@kubernetes/client-node')).BatchV1Api).readNamespacedCronJob({ namespace: granted!, name: 'chaos-drain' });
    expect(cron.spec?.schedule).toBe('0 3 * * *');
    expect(cron.spec?.concurrencyPolicy).toBe('Forbid');
    expect(cron.spec?.jobTemplate.spec?.template.spec?.serviceAccountName).toBe('chaos-drain');

    const can = (namespace: string, verb: string, resource: string, extra: Partial<V1ResourceAttributes> = {}) =>
      allowed(settings!, granted!, 'chaos-drain', { namespace, verb, resource, ...extra });
    expect(await can('', 'patch', 'nodes')).toBe(true);
    expect(await can('', 'list', 'pods')).toBe(true);
    expect(await can(granted!, 'create', 'pods', { subresource: 'eviction' })).toBe(true);
    expect(await can(other!, 'create', 'pods', { subresource: 'eviction' })).toBe(false);
    expect(await can('', 'delete', 'nodes')).toBe(false);
    expect(await can(granted!, 'delete', 'pods')).toBe(false);
    expect(await can(granted!, 'get', 'secrets')).toBe(false);
  }, 60_000);
});
