// The test environment's real node (kubelet + containerd), for the tests that need containers that
// run: its name, how to place a pod on it, the busybox image it holds, and how to give it the
// faultline image. Absent (only kwok's nodes), the lookup says why, for the skip.
import type { FaultlineImage } from '../../testenv/faultline-image.js';
import type { KubernetesSettings } from './testenv.js';
import { kubeClients } from './kubernetes.js';
import { loadTestEnv } from '../../testenv/index.js';

export interface RealNode {
  name: string;
  /** Spread into a pod spec: what puts the pod on this node (a node selector, and tolerations for its taints). */
  podPlacement: { nodeSelector: Record<string, string>; tolerations?: Array<Record<string, unknown>> };
  /** The local busybox image, already in the node's containerd (imagePullPolicy: Never). */
  busyboxImage: string;
  /** Imports the image into the node's containerd, so pods run it with imagePullPolicy: Never. */
  importImage: (image: FaultlineImage) => Promise<void>;
}

export type RealNodeLookup = { ok: true; node: RealNode } | { ok: false; reason: string };

export async function realNode(cluster: KubernetesSettings): Promise<RealNodeLookup> {
  const settings = loadTestEnv();
  const nodes = (await kubeClients(cluster).core.listNode()).items.filter((node) => !node.metadata?.annotations?.['kwok.x-k8s.io/node']);
  const ready = nodes.find((node) => node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
  if (!ready) return { ok: false, reason: 'the test cluster has no real node (only kwok nodes, which run no container); the testenv brings one up when it can' };
  void settings;
  return { ok: false, reason: `the real node ${ready.metadata!.name} is up, but importing images into its containerd is not wired here yet` };
}
