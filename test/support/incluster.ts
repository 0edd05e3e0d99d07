// For the tests that run faultline in the cluster: the manifest as the CLI prints it, applied
// server-side, and the faultline image built and imported where a test runs it.
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { main } from '../../src/cli/main.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { buildFaultlineImage, type FaultlineImage } from '../../testenv/faultline-image.js';
import { REPO_ROOT } from './cli.js';
import { captureIo } from './io.js';
import type { KubernetesSettings } from './testenv.js';

/** `faultline kubernetes manifest <args>` as the CLI prints it, parsed back into objects. */
export async function printManifest(args: string[]): Promise<KubernetesObject[]> {
  const { io, out } = captureIo(REPO_ROOT, process.env);
  const code = await main(['node', 'faultline', 'kubernetes', 'manifest', ...args], io);
  expect(out.stderr).toBe('');
  expect(code).toBe(ExitCode.passed);
  return parseAllDocuments(out.stdout).map((doc) => doc.toJS() as KubernetesObject);
}

/** Applies the objects server-side, as `kubectl apply --server-side` does; cluster-scoped ones are pushed onto `created` for the cleanup. */
export async function applyServerSide(cluster: KubernetesSettings, objects: KubernetesObject[], created: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
  for (const object of objects) {
    if (!object.metadata?.namespace) created.push(object);
    await client.patch(object, undefined, undefined, 'faultline-test', true, PatchStrategy.ServerSideApply);
  }
}

/** The one object of a kind in the manifest. */
export function objectOf<T = any>(objects: KubernetesObject[], kind: string): KubernetesObject & { spec: T; data?: Record<string, string> } {
  const found = objects.filter((object) => object.kind === kind);
  expect(found, `${kind} in the manifest`).toHaveLength(1);
  return found[0] as KubernetesObject & { spec: T };
}

/** The faultline image of the built project (dist must be current: `npm run build`), from the cache when its inputs are unchanged. */
export function faultlineImage(): Promise<FaultlineImage> {
  return buildFaultlineImage({ log: (line) => process.stderr.write(`faultline image: ${line}\n`), env: process.env, allowBuilds: true }, REPO_ROOT);
}

/** Replaces $(NAME) references as the kubelet does in a container's args and env values. */
export function expandKubeletReferences(text: string, env: Record<string, string>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}
