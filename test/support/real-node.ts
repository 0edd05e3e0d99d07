// The test environment's real node (kubelet + containerd, testenv/kubernetes-node.ts), for the tests
// that need containers that run: its name, what places a pod on it (its label and its taint), the
// busybox image its containerd holds, and how to give it the faultline image. Absent (only kwok's
// nodes), the lookup says why, for the skip.
import { importFaultlineImageToDocker, staleFaultlineTags, type FaultlineImage } from '../../testenv/faultline-image.js';
import { runCommand } from '../../testenv/processes.js';
import { importImages } from '../../testenv/kubernetes-node.js';
import { loadTestEnv } from '../../testenv/index.js';
import { kubernetesNodeStatus } from '../../testenv/kubernetes-node.js';

export interface RealNode {
  name: string;
  /** Spread into a pod spec: the node's label as a selector, and the toleration of its taint. */
  podPlacement: { nodeSelector: Record<string, string>; tolerations: Array<Record<string, string>> };
  /** The local busybox image, already in the node's containerd (imagePullPolicy: Never). */
  busyboxImage: string;
  /** Imports the image into the node's containerd (through the test Docker engine, as the test images go), and drops the stale ones. */
  importImage: (image: FaultlineImage) => Promise<void>;
}

export type RealNodeLookup = { ok: true; node: RealNode } | { ok: false; reason: string };

export async function realNode(): Promise<RealNodeLookup> {
  const settings = loadTestEnv();
  const { KUBE_REAL_NODE: name, KUBE_REAL_NODE_LABEL: label, KUBE_REAL_NODE_CONTAINERD: containerd, DOCKER_HOST: dockerHost, FAULTLINE_TEST_BUSYBOX_IMAGE: busyboxImage } = settings;
  if (!name || !label || !dockerHost || !busyboxImage) {
    return { ok: false, reason: 'the test environment has no real node (only kwok nodes, which run no container); `npm run testenv -- up` brings one up' };
  }
  const status = await kubernetesNodeStatus();
  if (!status.healthy) return { ok: false, reason: `the real node ${name} is not healthy: ${status.problems.join('; ')}` };
  const [key, value] = label.split('=') as [string, string];
  return {
    ok: true,
    node: {
      name,
      podPlacement: { nodeSelector: { [key]: value }, tolerations: [{ key, operator: 'Equal', value, effect: 'NoSchedule' }] },
      busyboxImage,
      importImage: async (image) => {
        const context = { log: () => {}, env: process.env, allowBuilds: true };
        await importFaultlineImageToDocker(image, dockerHost, context);
        await importImages([image.tag], dockerHost, process.env);
        if (containerd) {
          const ctr = (args: string[]) => runCommand('ctr', ['--address', containerd, '--namespace', 'k8s.io', 'images', ...args]);
          const stale = staleFaultlineTags((await ctr(['ls', '-q'])).stdout.split('\n').filter(Boolean), process.env);
          if (stale.length > 0) await ctr(['rm', ...stale]);
        }
      },
    },
  };
}
