// Measures the kubernetes driver on the test cluster: the time to recover after one pod of a
// 3-replica Deployment is killed (median of several runs, by the recovery probe's watch), and the
// time to select and kill 10% of a 1,000-pod namespace (prepare + apply of pod-kill).
//
//   FAULTLINE_TESTENV_STATE=/work/main/.testenv npx tsx bench/kubernetes.ts [runs]
//
// Everything it makes lives in namespaces with a random suffix, deleted at the end.
import { kubernetesDriver } from '../src/drivers/kubernetes/index.js';
import type { ActionDefinition, DriverContext, Output, ProbeDefinition } from '../src/drivers/types.js';
import { testDriverContext } from '../test/support/driver-context.js';
import { eventually } from '../test/support/cli.js';
import { createDeployment, createNamespace, deleteNamespace, kubeClients, testTarget, waitForReadyPods } from '../test/support/kubernetes.js';
import { requireKubernetes } from '../test/support/testenv.js';

const runs = Number(process.argv[2] ?? 7);
const cluster = await requireKubernetes();
const kill = kubernetesDriver.actions['pod-kill'] as ActionDefinition;
const recovery = kubernetesDriver.probes.recovery as ProbeDefinition;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function timeToRecover(): Promise<void> {
  const namespace = await createNamespace(cluster, 'faultline-bench-recover');
  try {
    await createDeployment(cluster, namespace, 'web', 3);
    const ctx: DriverContext = testDriverContext({ target: testTarget(cluster, namespace), seed: 1 });
    const times: number[] = [];
    const failed: string[] = [];
    const fromKill: number[] = [];
    for (let i = 0; i < runs; i++) {
      await waitForReadyPods(cluster, namespace, 'app=web', 3);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the Deployment's status settles
      const watching = recovery.run(recovery.args.parse({ namespace, kind: 'Deployment', name: 'web', within: '30s' }), ctx);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const args = kill.args.parse({ namespace, labelSelector: 'app=web', mode: 'one' });
      const { killedAt } = (await kill.apply(args, await kill.prepare(args, { ...ctx, seed: i }), ctx)) as { killedAt: number };
      const from = Date.now() - 35_000;
      const result = (await watching) as Output & { recovered: boolean; recoveryMs: number | null };
      if (result.recovered && result.recoveryMs !== null) {
        times.push(result.recoveryMs);
        fromKill.push(Date.parse(String(result.recoveredAt)) - killedAt);
        continue;
      }
      // The fake nodes of the test environment can fall NotReady, taking every pod's readiness with them.
      const events = await kubeClients(cluster).core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'reason=NodeNotReady' });
      const flapped = events.items.some((e) => Date.parse(String(e.lastTimestamp ?? e.eventTime ?? 0)) >= from - 1000);
      failed.push(`run ${i + 1}: ${JSON.stringify(result)}${flapped ? ' (nodes went NotReady meanwhile)' : ''}`);
      // kwok does not make a pod Ready again once the node controller has marked it NotReady: start afresh.
      await kubeClients(cluster).core.deleteCollectionNamespacedPod({ namespace, labelSelector: 'app=web' });
      await waitForReadyPods(cluster, namespace, 'app=web', 3, 120_000);
    }
    console.log(`time to recover, 3-replica Deployment, one pod killed (grace 1s): median ${median(times)} ms over ${times.length} runs; all: ${times.join(', ')} ms`);
    console.log(`  from the delete call to the count back: median ${median(fromKill)} ms; all: ${fromKill.join(', ')} ms`);
    for (const line of failed) console.log(`not recovered: ${line}`);
  } finally {
    await deleteNamespace(cluster, namespace);
  }
}

async function killTenPercent(): Promise<void> {
  const namespace = await createNamespace(cluster, 'faultline-bench-1000');
  try {
    await createDeployment(cluster, namespace, 'big', 1000);
    // Three fake nodes hold 110 pods each, so most of the 1,000 stay Pending; pod-kill selects every
    // pod the selector matches, whatever its phase, so the namespace is what matters here.
    const phases = await eventually(
      '1,000 pods',
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const list = await kubeClients(cluster).core.listNamespacedPod({ namespace, labelSelector: 'app=big' });
        if (list.items.length < 1000) return undefined;
        const counts: Record<string, number> = {};
        for (const pod of list.items) counts[pod.status?.phase ?? '?'] = (counts[pod.status?.phase ?? '?'] ?? 0) + 1;
        return counts;
      },
      600_000,
    );
    console.log(`1,000 pods made: ${JSON.stringify(phases)}`);
    const ctx: DriverContext = testDriverContext({ target: testTarget(cluster, namespace), seed: 42 });
    const args = kill.args.parse({ namespace, labelSelector: 'app=big', mode: { percent: 10 } });
    const started = performance.now();
    const prepared = await kill.prepare(args, ctx);
    const selected = performance.now();
    const output = await kill.apply(args, prepared, ctx);
    const done = performance.now();
    console.log(
      `pod-kill percent 10 of a 1,000-pod namespace: selected ${prepared.targets.length} in ${Math.round(selected - started)} ms, killed ${(output.killed as string[]).length} in ${Math.round(done - selected)} ms; total ${Math.round(done - started)} ms`,
    );
  } finally {
    await deleteNamespace(cluster, namespace);
  }
}

if (process.argv[3] !== 'skip-recovery') await timeToRecover();
await killTenPercent();
