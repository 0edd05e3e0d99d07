// The faultline image (testenv/faultline-image.ts): it lays out what the Dockerfile lays out, and the
// container the generated Job describes runs in it as the pod would: the experiment mounted from
// the ConfigMap, the ServiceAccount's token where a pod has it (so faultline takes the in-cluster
// configuration), an unprivileged user, a read-only root filesystem, no capabilities. Docker plays
// the kubelet here (host network, since the test API server listens on 127.0.0.1 only); on the real
// node test/kubernetes-incluster.e2e.test.ts runs the Job itself.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/core/exit-codes.js';
import type { Journal } from '../src/engine/journal.js';
import { FAULTLINE_IMAGE_LAYOUT, importFaultlineImageToDocker, type FaultlineImage } from '../testenv/faultline-image.js';
import { REPO_ROOT } from './support/cli.js';
import { applyServerSide, expandKubeletReferences, faultlineImage, objectOf, printManifest } from './support/incluster.js';
import { createDeployment, createNamespace, deleteNamespace, kubeClients, waitForReadyPods } from './support/kubernetes.js';
import { isCI, requireDocker, requireKubernetes, type DockerSettings, type KubernetesSettings } from './support/testenv.js';
import { runCommand } from '../testenv/processes.js';

describe('the Dockerfile', () => {
  it('lays out the image as the tests build it: the same folders, command, user and entrypoint', async () => {
    const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const runStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const { app, appEntries, command, user, entrypoint, cmd } = FAULTLINE_IMAGE_LAYOUT;
    const copied = [...runStage.matchAll(/^COPY --from=build \S+ (\S+)$/gm)].map((match) => match[1]);
    expect(runStage).toMatch(new RegExp(`^WORKDIR ${app}$`, 'm'));
    // Each COPY lands in the app folder (the WORKDIR) under the entry's own name.
    expect(copied.map((dest) => (dest === './' ? 'package.json' : dest!.replace(/^\.\//, '')))).toEqual(expect.arrayContaining([...appEntries]));
    expect(copied).toHaveLength(appEntries.length);
    expect(runStage).toContain(`ln -s ${app}/bin/faultline.js ${command}`);
    // node:20's own user "node" is uid 1000, the uid the generated Job runs as.
    expect(runStage).toMatch(new RegExp(`^USER ${user.name}$`, 'm'));
    expect(runStage).toMatch(new RegExp(`^WORKDIR ${user.home}$`, 'm'));
    expect(runStage).toMatch(new RegExp(`^ENTRYPOINT ${JSON.stringify(entrypoint).replace(/[[\]]/g, '\\$&')}$`, 'm'));
    expect(runStage).toMatch(new RegExp(`^CMD ${JSON.stringify(cmd).replace(/[[\]]/g, '\\$&')}$`, 'm'));
  });
});

let docker: DockerSettings | undefined;
let cluster: KubernetesSettings | undefined;
let image: FaultlineImage;
let dir: string;
let granted: string | undefined;
let other: string | undefined;
const clusterObjects: KubernetesObject[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-image-'));
  try {
    docker = await requireDocker();
    cluster = await requireKubernetes();
  } catch (error) {
    if (isCI()) throw error;
    return;
  }
  image = await faultlineImage();
  await importFaultlineImageToDocker(image, docker.dockerHost, { log: () => {}, env: process.env, allowBuilds: true });
  granted = await createNamespace(cluster, 'faultline-image');
  other = await createNamespace(cluster, 'faultline-image-other');
  await Promise.all([createDeployment(cluster, granted, 'web', 2), createDeployment(cluster, other, 'web', 2)]);
  await Promise.all([waitForReadyPods(cluster, granted, 'app=web', 2), waitForReadyPods(cluster, other, 'app=web', 2)]);
}, 600_000);

afterAll(async () => {
  await deleteNamespace(cluster, granted);
  await deleteNamespace(cluster, other);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const dockerRun = (args: string[]) => runCommand('docker', ['run', '--rm', ...args], { env: { ...process.env, DOCKER_HOST: docker!.dockerHost }, timeoutMs: 180_000 });

/**
 * Runs the Job's pod in Docker as the kubelet would: its one container's command, args (with
 * $(VAR) expanded), env, user and read-only root; the ConfigMap's files and the ServiceAccount's
 * token, CA and namespace mounted where a pod has them; emptyDirs as folders of the host.
 */
async function runJobPod(job: KubernetesObject & { spec: any }, configMap: Record<string, string>, podName: string) {
  const pod = job.spec.template.spec;
  const [container] = pod.containers;
  const namespace = job.metadata!.namespace!;
  const podDir = await mkdtemp(join(dir, `${podName}-`));
  const account = join(podDir, 'serviceaccount');
  await mkdir(account);
  const token = await kubeClients(cluster!).core.createNamespacedServiceAccountToken({ name: pod.serviceAccountName, namespace, body: { spec: { audiences: [], expirationSeconds: 600 } } });
  const current = cluster!.kubeConfig.getCurrentCluster()!;
  await writeFile(join(account, 'token'), token.status!.token);
  await writeFile(join(account, 'namespace'), namespace);
  await writeFile(join(account, 'ca.crt'), current.caData ? Buffer.from(current.caData, 'base64') : await readFile(current.caFile!));
  const volumes: Record<string, string> = {};
  for (const volume of pod.volumes) {
    const path = join(podDir, volume.name);
    await mkdir(path);
    await chmod(path, 0o777); // an emptyDir is writable by the pod's user
    if (volume.configMap) for (const [file, text] of Object.entries(configMap)) await writeFile(join(path, file), text);
    volumes[volume.name] = path;
  }
  const env: Record<string, string> = { POD_NAME: podName };
  for (const variable of container.env) if (variable.value !== undefined) env[variable.name] = expandKubeletReferences(variable.value, env);
  const server = new URL(current.server);
  const security = { ...pod.securityContext, ...container.securityContext };
  const result = await dockerRun([
    '--network', 'host',
    '--user', `${security.runAsUser}:${security.runAsGroup}`,
    ...(security.readOnlyRootFilesystem ? ['--read-only'] : []),
    ...(security.capabilities?.drop?.includes('ALL') ? ['--cap-drop', 'ALL'] : []),
    ...(security.allowPrivilegeEscalation === false ? ['--security-opt', 'no-new-privileges'] : []),
    '--workdir', container.workingDir,
    '-e', `KUBERNETES_SERVICE_HOST=${server.hostname}`,
    '-e', `KUBERNETES_SERVICE_PORT=${server.port}`,
    ...Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]),
    '-v', `${account}:/var/run/secrets/kubernetes.io/serviceaccount:ro`,
    ...container.volumeMounts.flatMap((mount: { name: string; mountPath: string; readOnly?: boolean }) => ['-v', `${volumes[mount.name]}:${mount.mountPath}${mount.readOnly ? ':ro' : ''}`]),
    '--entrypoint', container.command[0],
    image.tag,
    ...container.command.slice(1),
    ...container.args.map((arg: string) => expandKubeletReferences(arg, env)),
  ]);
  return { ...result, output: volumes.output! };
}

describe('the faultline image', () => {
  it('answers --version as the unprivileged user of the Job', async (ctx) => {
    if (!docker) return ctx.skip();
    const version = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
    const ran = await dockerRun([image.tag, '--version']);
    expect(ran.stdout.trim(), ran.stderr).toBe(version);
    const who = await dockerRun(['--entrypoint', 'id', image.tag]);
    expect(who.stdout.trim()).toBe('uid=1000(node) gid=1000(node) groups=1000(node)');
  });

  it("runs the generated Job's container: pod-kill passes with the journal as the last log line, and outside the Role it is a preflight error", async (ctx) => {
    if (!docker || !cluster) return ctx.skip();
    const vars = ['--var', 'k8s.context=inClusterContext', '--var', `k8s.namespace=${granted}`, '--var', 'k8s.replicas=2'];
    const objects = await printManifest(['experiments/k8s-pod-kill.yaml', ...vars, '--name', 'chaos-image', '--image', image.tag]);
    await applyServerSide(cluster, objects, clusterObjects);
    const configMap = objectOf(objects, 'ConfigMap').data!;

    const passed = await runJobPod(objectOf(objects, 'Job'), configMap, 'chaos-image-passed');
    expect(passed.code, passed.stdout + passed.stderr).toBe(ExitCode.passed);
    const journal = JSON.parse(passed.stdout.trimEnd().split('\n').at(-1)!) as Journal;
    expect(journal.status).toBe('passed');
    expect(journal.verdicts?.map((verdict) => `${verdict.name}:${verdict.result}`)).toEqual(['self-healing:pass']);
    // The files are in the run's own folder of the output volume too.
    const onVolume = JSON.parse(await readFile(join(passed.output, 'chaos-image-passed', 'journal.json'), 'utf8')) as Journal;
    expect(onVolume.runId).toBe(journal.runId);
    expect(await readFile(join(passed.output, 'chaos-image-passed', 'junit.xml'), 'utf8')).toContain('<testsuite');

    // The same Job aimed at a namespace its Role does not cover: refused by the API server, at preflight.
    const aimed = await printManifest(['experiments/k8s-pod-kill.yaml', ...vars, '--var', `k8s.namespace=${other}`, '--name', 'chaos-image', '--namespace', granted!, '--image', image.tag]);
    const refused = await runJobPod(objectOf(aimed, 'Job'), objectOf(aimed, 'ConfigMap').data!, 'chaos-image-refused');
    expect(refused.code, refused.stdout + refused.stderr).toBe(ExitCode.runError);
    expect(refused.stdout + refused.stderr).toMatch(new RegExp(`preflight.*listing pods in namespace ${other}: forbidden \\(HTTP 403\\)`, 's'));
    const refusedJournal = JSON.parse(refused.stdout.trimEnd().split('\n').at(-1)!) as Journal;
    expect(refusedJournal.status).toBe('failed');
    expect(refusedJournal.error?.message).toMatch(/forbidden/);
    await waitForReadyPods(cluster, other!, 'app=web', 2, 5_000);
  }, 300_000);
});
