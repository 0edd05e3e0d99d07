// The `kubernetes` driver: pod kill, scale, cordon, drain, network partition and disk fill through the
// Kubernetes API (@kubernetes/client-node), with probes for readiness and the time to recover. Every
// call is preceded by the allow-list checks in connection.ts; every undo carries its own connection.
import { defineDriver } from '../contract.js';
import { connect, kubeError, kubernetesSession, readTarget, targetSettings, type KubernetesContext, type KubernetesTarget } from './connection.js';
import { kubernetesOptions } from './options.js';
import { fillDisk, removeFile } from './fill-disk.js';
import { cordon, drain, uncordon } from './nodes.js';
import { deleteNetworkPolicy, partition } from './partition.js';
import { podKill } from './pod-kill.js';
import { condition, pods, readyReplicas, recovery } from './probes.js';
import { scale, scaleBack } from './scale.js';

/** True for an allow-list entry that names one namespace rather than a pattern. */
function isLiteralName(entry: string): boolean {
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(entry);
}

/**
 * Before any fault: the allow-lists hold, the API answers, the credentials are accepted (discovery
 * needs an authenticated user), and the user may list pods in each namespace the allow-list names.
 */
async function preflight(ctx: KubernetesContext): Promise<void> {
  const cluster = await connect(ctx);
  await cluster.coreApi.getAPIVersions().catch((error: unknown) => {
    throw kubeError(error, 'reaching the API server', cluster);
  });
  for (const namespace of readTarget(ctx).namespaces.filter(isLiteralName)) {
    await cluster.core.listNamespacedPod({ namespace, limit: 1 }).catch((error: unknown) => {
      throw kubeError(error, `listing pods in namespace ${namespace}`, cluster);
    });
  }
  ctx.log(`context ${cluster.context} at ${cluster.server}`);
}

export const kubernetesDriver = defineDriver({
  name: 'kubernetes',
  description: 'Kubernetes through its API: kill pods, scale workloads, cordon and drain nodes, partition pods with a NetworkPolicy, fill a disk; probes for readiness and time to recover.',
  target: targetSettings,
  options: kubernetesOptions,
  session: kubernetesSession,
  preflight,
  defaultProbe: 'pods',
  actions: { 'pod-kill': podKill, scale, cordon, drain, partition, 'fill-disk': fillDisk },
  probes: { 'ready-replicas': readyReplicas, pods, condition, recovery },
  undos: { 'scale-back': scaleBack, uncordon, 'delete-network-policy': deleteNetworkPolicy, 'remove-file': removeFile },
});
