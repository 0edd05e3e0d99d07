// The faultline image on the test environment's real node (testenv/kubernetes-node.ts): imported
// into its containerd the way the test images are (through the test Docker engine and
// importImages), the stale ones dropped.
import { importFaultlineImageToDocker, staleFaultlineTags, type FaultlineImage } from '../../testenv/faultline-image.js';
import { loadTestEnv } from '../../testenv/index.js';
import { importImages } from '../../testenv/kubernetes-node.js';
import { runCommand } from '../../testenv/processes.js';

export async function importFaultlineImageIntoNode(image: FaultlineImage): Promise<void> {
  const { DOCKER_HOST: dockerHost, KUBE_REAL_NODE_CONTAINERD: containerd } = loadTestEnv();
  if (!dockerHost || !containerd) throw new Error('the real node needs DOCKER_HOST and KUBE_REAL_NODE_CONTAINERD in .testenv/env');
  await importFaultlineImageToDocker(image, dockerHost, { log: () => {}, env: process.env, allowBuilds: true });
  await importImages([image.tag], dockerHost, process.env);
  const ctr = (args: string[]) => runCommand('ctr', ['--address', containerd, '--namespace', 'k8s.io', 'images', ...args]);
  const stale = staleFaultlineTags((await ctr(['ls', '-q'])).stdout.split('\n').filter(Boolean), process.env);
  if (stale.length > 0) await ctr(['rm', ...stale]);
}
