// faultline running in the cluster, on the test environment's real node (kubelet + containerd): the
// Job `faultline kubernetes manifest` prints runs the pod-kill experiment against a Deployment of
// real containers and its journal is read back from the pod's last log line; the same Job aimed at a
// namespace outside its Role is refused by the API server and ends as a preflight error (exit 4);
// with --output-claim the reports and the ledger are on the volume after the pod; and the CronJob on an every-minute schedule, whose runs outlast the minute, never runs two at once
// (the minute that finds a run active is held back until it ends). The faultline image is the one
// testenv/faultline-image.ts builds, imported into the node's containerd.
//
// Two adaptations to the test environment, made on the printed objects and nowhere else: the pod
// is pinned to the real node (kwok's nodes run no container), and it uses the host's network with
// the API server's loopback address, since the test API server listens on 127.0.0.1 only.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, KubernetesObjectApi, type CoreV1Event, type KubernetesObject, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/core/exit-codes.js';
import type { Journal } from '../src/engine/journal.js';
import type { FaultlineImage } from '../testenv/faultline-image.js';
import { eventually } from './support/cli.js';
import { applyServerSide, faultlineImage, objectOf, printManifest } from './support/incluster.js';
import { createDeployment, createNamespace, deleteNamespace, httpdContainer, kubeClients, realNodeSpec, waitForReadyPods } from './support/kubernetes.js';
import { importFaultlineImageIntoNode } from './support/real-node.js';
import { isCI, requireRealNode, TEST_LABELS, type RealNodeSettings } from './support/testenv.js';

let node: RealNodeSettings | undefined;
let skipReason = '';
let image: FaultlineImage;
let dir: string;
let granted: string | undefined;
let other: string | undefined;
const clusterObjects: KubernetesObject[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-incluster-'));
  try {
    node = await requireRealNode();
  } catch (error) {
    if (isCI()) throw error;
    skipReason = (error as Error).message;
    return;
  }
  image = await faultlineImage();
  await importFaultlineImageIntoNode(image);
  granted = await createNamespace(node, 'faultline-incluster');
  other = await createNamespace(node, 'faultline-incluster-other');
  // Two replicas of busybox's httpd on the real node: real containers a pod-kill really kills.
  const web = { spec: realNodeSpec(node, [httpdContainer(node)]) };
  await Promise.all([createDeployment(node, granted, 'web', 2, web), createDeployment(node, other, 'web', 2, web)]);
  await Promise.all([waitForReadyPods(node, granted, 'app=web', 2, 120_000), waitForReadyPods(node, other, 'app=web', 2, 120_000)]);
}, 900_000);

afterAll(async () => {
  // Cluster-scoped objects (a ClusterRole, should an experiment here need one) do not go with the namespaces.
  if (node) for (const object of clusterObjects) await KubernetesObjectApi.makeApiClient(node.kubeConfig).delete(object).catch(() => {});
  await deleteNamespace(node, granted);
  await deleteNamespace(node, other);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const skipUnlessNode = (ctx: { skip: (reason?: string) => never }) => {
  if (!node) {
    process.stderr.write(`skipped: ${skipReason || 'no real node'}\n`);
    ctx.skip(skipReason || 'no real node');
  }
};

/** The printed pod template, placed on the real node and given the API server's address this test environment has. */
function adaptPodTemplate(template: { spec: any }): void {
  const server = new URL(node!.server);
  const { nodeSelector, tolerations } = realNodeSpec(node!, []);
  Object.assign(template.spec, { nodeSelector, tolerations, hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' });
  for (const container of template.spec.containers) {
    // Set in the container, these win over the ones the kubelet derives from the kubernetes Service.
    container.env.push({ name: 'KUBERNETES_SERVICE_HOST', value: server.hostname }, { name: 'KUBERNETES_SERVICE_PORT', value: server.port });
    container.imagePullPolicy = 'Never';
  }
}

const batch = () => node!.kubeConfig.makeApiClient(BatchV1Api);

async function finishedJob(namespace: string, name: string, timeoutMs: number): Promise<V1Job> {
  return eventually(`the Job ${namespace}/${name} to finish`, async () => {
    const job = await batch().readNamespacedJob({ namespace, name });
    const done = job.status?.conditions?.find((condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True');
    return done ? job : undefined;
  }, timeoutMs, 1_000);
}

async function podsOf(namespace: string, selector: string): Promise<V1Pod[]> {
  return (await kubeClients(node!).core.listNamespacedPod({ namespace, labelSelector: selector })).items;
}

const logOf = (namespace: string, pod: V1Pod) => kubeClients(node!).core.readNamespacedPodLog({ namespace, name: pod.metadata!.name!, container: 'faultline' });

/** The journal the pod printed as its last log line. */
const journalIn = (log: string) => JSON.parse(log.trimEnd().split('\n').at(-1)!) as Journal;

describe('faultline in the cluster, on the real node', () => {
  it('the generated Job runs pod-kill against a Deployment of real containers; its journal is the last log line', async (ctx) => {
    skipUnlessNode(ctx);
    const vars = ['--var', 'k8s.context=inClusterContext', '--var', `k8s.namespace=${granted}`, '--var', 'k8s.replicas=2'];
    const objects = await printManifest(['experiments/k8s-pod-kill.yaml', ...vars, '--name', 'chaos-job', '--image', image.tag]);
    const job = objectOf(objects, 'Job');
    adaptPodTemplate(job.spec.template);
    const before = new Set((await podsOf(granted!, 'app=web')).map((pod) => `${granted}/${pod.metadata!.name}`));
    await applyServerSide(node!, objects, clusterObjects);

    const finished = await finishedJob(granted!, 'chaos-job', 240_000);
    const [pod] = await podsOf(granted!, 'app.kubernetes.io/instance=chaos-job');
    const log = await logOf(granted!, pod!);
    expect(finished.status?.succeeded, log).toBe(1);
    expect(pod!.spec!.nodeName).toBe(node!.node);
    expect(pod!.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(ExitCode.passed);
    expect(pod!.status?.containerStatuses?.[0]?.state?.terminated?.message).toMatch(/^faultline exit 0\n/);
    const journal = journalIn(log);
    expect(journal.status).toBe('passed');
    expect(journal.verdicts.map((verdict) => `${verdict.name}:${verdict.result}`)).toEqual(['self-healing:pass']);
    expect(journal.faults).toHaveLength(1);
    // A real container was killed: the pod the journal names was one from before and is gone; the Deployment is whole again.
    const killed = /^pod (\S+)/.exec(journal.faults[0]!.targets.join())?.[1];
    expect([...before.values()]).toContain(killed);
    const after = await waitForReadyPods(node!, granted!, 'app=web', 2, 60_000);
    expect(after.map((p) => `${granted}/${p.metadata!.name}`)).not.toContain(killed);
  }, 600_000);

  it('the same Job aimed at a namespace outside its Role is refused by the API server: a preflight error, exit 4', async (ctx) => {
    skipUnlessNode(ctx);
    const vars = ['--var', 'k8s.context=inClusterContext', '--var', `k8s.replicas=2`];
    const args = ['experiments/k8s-pod-kill.yaml', ...vars, '--name', 'chaos-refused', '--namespace', granted!, '--image', image.tag];
    // Everything as printed for the granted namespace (the Role there), but the Job as printed for the other one.
    const objects = await printManifest([...args, '--var', `k8s.namespace=${granted}`]);
    const aimed = objectOf(await printManifest([...args, '--var', `k8s.namespace=${other}`]), 'Job');
    expect(aimed.metadata?.namespace).toBe(granted);
    adaptPodTemplate(aimed.spec.template);
    await applyServerSide(node!, [...objects.filter((object) => object.kind !== 'Job'), aimed], clusterObjects);

    const finished = await finishedJob(granted!, 'chaos-refused', 240_000);
    const [pod] = await podsOf(granted!, 'app.kubernetes.io/instance=chaos-refused');
    const log = await logOf(granted!, pod!);
    expect(finished.status?.failed, log).toBe(1);
    const terminated = pod!.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.exitCode).toBe(ExitCode.runError);
    // The termination message (kubectl describe pod) says it too, without reading the log.
    process.stderr.write(`termination message of the refused run: ${JSON.stringify(terminated?.message)}\n`);
    expect(terminated?.message).toMatch(new RegExp(`^faultline exit 4\\n.*forbidden \\(HTTP 403\\)`, 's'));
    expect(log).toMatch(new RegExp(`preflight.*listing pods in namespace ${other}: forbidden \\(HTTP 403\\)`, 's'));
    const journal = journalIn(log);
    expect(journal.status).toBe('failed');
    expect(journal.faults).toEqual([]);
    // Nothing was killed there.
    await waitForReadyPods(node!, other!, 'app=web', 2, 5_000);
  }, 600_000);

  it('with --output-claim the reports land on the claim and outlive the pod, beside the shared ledger; the last log line is their path', async (ctx) => {
    skipUnlessNode(ctx);
    // A hostPath volume stands in for the user's storage (the test cluster has no provisioner); it is
    // open to the pod's uid, which fsGroup would see to on a real volume.
    const hostDir = await mkdtemp(join(dir, 'claim-'));
    await chmod(hostDir, 0o777);
    const volume = `faultline-claim-${granted}`;
    const persistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: volume, labels: { ...TEST_LABELS } },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: hostDir, type: 'Directory' }, storageClassName: '', persistentVolumeReclaimPolicy: 'Retain' },
    };
    const claim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'reports', namespace: granted, labels: { ...TEST_LABELS } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', volumeName: volume },
    };
    await applyServerSide(node!, [persistentVolume, claim] as KubernetesObject[], clusterObjects);
    const file = join(dir, 'quick.yaml');
    await writeFile(file, SLOW_EXPERIMENT.replace('sleep 70', 'sleep 1'));
    const objects = await printManifest([file, '--name', 'chaos-claim', '--namespace', granted!, '--image', image.tag, '--output-claim', 'reports']);
    adaptPodTemplate(objectOf(objects, 'Job').spec.template);
    await applyServerSide(node!, objects, clusterObjects);

    const finished = await finishedJob(granted!, 'chaos-claim', 240_000);
    const [pod] = await podsOf(granted!, 'app.kubernetes.io/instance=chaos-claim');
    const log = await logOf(granted!, pod!);
    expect(finished.status?.succeeded, log).toBe(1);
    const podName = pod!.metadata!.name!;
    expect(log.trimEnd().split('\n').at(-1)).toBe(`faultline journal: /var/lib/faultline/${podName}/journal.json`);
    // On the volume, where the pod left them: the journal, JUnit and Markdown of this run, and the ledger every run shares.
    const journal = JSON.parse(await readFile(join(hostDir, podName, 'journal.json'), 'utf8')) as Journal;
    expect(journal.status).toBe('passed');
    expect(await readFile(join(hostDir, podName, 'junit.xml'), 'utf8')).toContain('<testsuite');
    expect(await readFile(join(hostDir, podName, 'summary.md'), 'utf8')).toContain('PASSED');
    expect(existsSync(join(hostDir, 'ledger'))).toBe(true);
  }, 600_000);

  it('the CronJob (every minute, runs of 70 s) never runs two at once: the minute that finds a run active waits for it to end', async (ctx) => {
    skipUnlessNode(ctx);
    const file = join(dir, 'slow.yaml');
    await writeFile(file, SLOW_EXPERIMENT);
    const objects = await printManifest([file, '--name', 'chaos-cron', '--namespace', granted!, '--image', image.tag, '--schedule', '* * * * *']);
    const cron = objectOf(objects, 'CronJob');
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    adaptPodTemplate(cron.spec.jobTemplate.spec.template);
    await applyServerSide(node!, objects, clusterObjects);

    // Two finished runs: the first starts within a minute; the next minute finds it active, so the second starts when it ends.
    const runs = await eventually('two finished runs of the CronJob', async () => {
      const pods = (await podsOf(granted!, 'app.kubernetes.io/instance=chaos-cron')).filter((pod) => pod.status?.containerStatuses?.[0]?.state?.terminated);
      return pods.length >= 2 ? pods : undefined;
    }, 330_000, 2_000);
    // No third run while the evidence is read.
    await batch().patchNamespacedCronJob({ namespace: granted!, name: 'chaos-cron', body: [{ op: 'replace', path: '/spec/suspend', value: true }] });

    // Every run of the CronJob, from the containers' own start and end times: none overlaps another.
    const all = (await podsOf(granted!, 'app.kubernetes.io/instance=chaos-cron')).map((pod) => {
      const state = pod.status?.containerStatuses?.[0]?.state;
      const started = state?.terminated?.startedAt ?? state?.running?.startedAt;
      return { name: pod.metadata!.name!, start: new Date(started!).getTime(), end: state?.terminated ? new Date(state.terminated.finishedAt!).getTime() : Infinity };
    });
    expect(all.length).toBeGreaterThanOrEqual(2);
    all.sort((a, b) => a.start - b.start);
    for (let i = 1; i < all.length; i++) expect(all[i]!.start, `${all[i]!.name} started before ${all[i - 1]!.name} ended`).toBeGreaterThanOrEqual(all[i - 1]!.end);
    process.stderr.write(`CronJob runs: ${all.map((run) => `${run.name} ${new Date(run.start).toISOString()}..${new Date(run.end).toISOString()}`).join(', ')}\n`);
    for (const pod of runs) {
      const log = await logOf(granted!, pod);
      // Longer than a line of the container runtime's log (16 KiB): the kubelet joins the parts again.
      expect(log.trimEnd().split('\n').at(-1)!.length).toBeGreaterThan(16_384);
      expect(journalIn(log).status).toBe('passed');
    }
    // And Forbid was put to the test: the controller saw a scheduled minute with a run active and held it back.
    const events = (await kubeClients(node!).core.listNamespacedEvent({ namespace: granted!, fieldSelector: 'involvedObject.name=chaos-cron' })).items;
    expect(events.map((event: CoreV1Event) => event.reason)).toContain('JobAlreadyActive');
  }, 600_000);
});

// A run that outlasts the schedule's minute, so the next scheduled time always finds it active.
// Its description makes the journal longer than one line of the container runtime's log.
const SLOW_EXPERIMENT = `version: 1
title: A scheduled run that outlasts the schedule's minute
description: "${Array.from({ length: 3000 }, (_, i) => `word${i}`).join(' ')}"
hypothesis:
  title: the runner answers
  probes:
    - name: a command runs
      probe: command.run
      with: { run: "true" }
      expect: { exitCode: 0 }
method:
  - id: hold
    name: hold the run past the next scheduled minute
    action: command.run
    with: { run: "sleep 70", timeout: 2m }
    timeout: 2m
`;
