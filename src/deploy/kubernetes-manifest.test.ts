// The manifest as a pure function of the loaded experiment: the RBAC rules each example needs and no
// more, the Job and the CronJob, and the refusals that would otherwise surface only in the pod.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaultlineError } from '../core/errors.js';
import { createDefaultRegistry } from '../drivers/builtin.js';
import { actionRules, probeRules } from '../drivers/kubernetes/permissions.js';
import { kubernetesDriver } from '../drivers/kubernetes/index.js';
import { loadExperiment } from '../experiment/load.js';
import { kubernetesManifest, TERMINATION_MESSAGE_PATH, type KubernetesObject, type ManifestOptions } from './kubernetes-manifest.js';

const registry = await createDefaultRegistry();
const repo = resolve(import.meta.dirname, '../..');
const inCluster = { k8s: { context: 'inClusterContext', namespace: 'shop' } };

async function manifestOf(file: string, vars: Record<string, unknown> = inCluster, options: Partial<ManifestOptions> = {}): Promise<KubernetesObject[]> {
  const loaded = await loadExperiment(file, { cwd: repo, env: {}, vars, registry });
  const text = await readFile(loaded.file, 'utf8');
  return kubernetesManifest(
    { file: loaded.file, text, experiment: loaded.experiment },
    { name: 'chaos', image: 'faultline:test', outputDir: '/out', vars: ['k8s.context=inClusterContext'], ...options },
  );
}

const find = (objects: KubernetesObject[], kind: string) => objects.filter((object) => object.kind === kind);

/**
 * Runs the pod's command (sh -c) with a stand-in for faultline on PATH that prints a line, writes
 * the given journal as faultline does (pretty JSON) and exits with the given code.
 */
async function runPodCommand(command: string[], stand: { journal?: unknown; exitCode: number }): Promise<{ code: number | null; stdout: string; runDir: string; termination: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-pod-command-'));
  const runDir = join(dir, 'run');
  // The kubelet provides the termination message file; here it is one of the test's.
  const termination = join(dir, 'termination-log');
  await writeFile(termination, '');
  await mkdir(join(dir, 'bin'));
  await mkdir(runDir);
  const journal = stand.journal === undefined ? '' : `cat > "$FAULTLINE_RUN_DIR/journal.json" <<'EOF'\n${JSON.stringify(stand.journal, null, 2)}\nEOF\n`;
  await writeFile(join(dir, 'bin', 'faultline'), `#!/bin/sh\necho "faultline output"\n${journal}exit ${stand.exitCode}\n`, { mode: 0o755 });
  const [program, ...args] = command.map((part) => part.replaceAll(TERMINATION_MESSAGE_PATH, termination));
  const child = spawnSync(program!, [...args, 'run', 'x.yaml'], { env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, FAULTLINE_RUN_DIR: runDir }, encoding: 'utf8' });
  return { code: child.status, stdout: child.stdout, runDir, termination: await readFile(termination, 'utf8') };
}

describe('kubernetes manifest', () => {
  it('every action and probe of the driver has its rules', () => {
    expect(Object.keys(actionRules).sort()).toEqual(Object.keys(kubernetesDriver.actions).sort());
    expect(Object.keys(probeRules).sort()).toEqual(Object.keys(kubernetesDriver.probes).sort());
  });

  it('pod-kill with a recovery watch: a Role in its namespace with pods list, delete and watch, nothing cluster-wide', async () => {
    const objects = await manifestOf('experiments/k8s-pod-kill.yaml');
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}`)).toEqual(['ConfigMap/shop', 'ServiceAccount/shop', 'Role/shop', 'RoleBinding/shop', 'Job/shop']);
    expect(find(objects, 'Role')[0]!.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['delete', 'list', 'watch'] }]);
    expect(find(objects, 'RoleBinding')[0]).toMatchObject({
      roleRef: { kind: 'Role', name: 'chaos' },
      subjects: [{ kind: 'ServiceAccount', name: 'chaos', namespace: 'shop' }],
    });
  });

  it('drain: nodes and a cluster-wide pod list in a ClusterRole, evictions only in the allowed namespace', async () => {
    const objects = await manifestOf('experiments/k8s-drain.yaml', { k8s: { ...inCluster.k8s, nodes: 'worker-.*' } });
    expect(find(objects, 'Role')[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    ]);
    const [clusterRole] = find(objects, 'ClusterRole');
    expect(clusterRole!.metadata).toMatchObject({ name: 'chaos-shop' });
    expect(clusterRole!.metadata.namespace).toBeUndefined();
    expect(clusterRole!.rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'patch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
    expect(find(objects, 'ClusterRoleBinding')[0]).toMatchObject({ roleRef: { kind: 'ClusterRole', name: 'chaos-shop' } });
  });

  it('partition: network policies created, read and deleted', async () => {
    const objects = await manifestOf('experiments/k8s-partition.yaml');
    expect(find(objects, 'Role')[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create', 'delete', 'get'] },
    ]);
    expect(find(objects, 'ClusterRole')).toEqual([]);
  });

  it('a Job that runs the mounted experiment once, writes its reports to the volume and passes the variables on', async () => {
    const objects = await manifestOf('experiments/k8s-pod-kill.yaml');
    const [configMap] = find(objects, 'ConfigMap');
    expect((configMap!.data as Record<string, string>)['k8s-pod-kill.yaml']).toBe(await readFile(join(repo, 'experiments/k8s-pod-kill.yaml'), 'utf8'));
    const job = find(objects, 'Job')[0] as KubernetesObject & { spec: any };
    expect(job.spec.backoffLimit).toBe(0);
    const pod = job.spec.template.spec;
    expect(pod.serviceAccountName).toBe('chaos');
    expect(pod.restartPolicy).toBe('Never');
    const [container] = pod.containers;
    expect(container.image).toBe('faultline:test');
    expect(container.args).toEqual([
      'run',
      '/etc/faultline/k8s-pod-kill.yaml',
      '--journal',
      '$(FAULTLINE_RUN_DIR)/journal.json',
      '--junit',
      '$(FAULTLINE_RUN_DIR)/junit.xml',
      '--markdown',
      '$(FAULTLINE_RUN_DIR)/summary.md',
      '--ledger-dir',
      '/out/ledger',
      '--context',
      'inClusterContext',
      '--var',
      'k8s.context=inClusterContext',
    ]);
    expect(container.env).toContainEqual({ name: 'FAULTLINE_RUN_DIR', value: '/out/$(POD_NAME)' });
    expect(pod.volumes).toContainEqual({ name: 'output', emptyDir: {} });
    // The emptyDir goes with the pod: the last log line is the journal itself, on one line; the exit code is faultline's.
    const journal = { status: 'deviated', reason: 'a verdict failed: "self-healing"', note: 'a "quoted"\nvalue with  spaces', verdicts: [{ name: 'self-healing', reason: 'not this one', status: 'failed' }] };
    const ran = await runPodCommand(container.command, { journal, exitCode: 1 });
    expect(ran.code).toBe(1);
    expect(container.terminationMessagePath).toBe(TERMINATION_MESSAGE_PATH);
    expect(ran.termination).toBe('faultline exit 1\na verdict failed: "self-healing"\n');
    const lines = ran.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('faultline output');
    expect(JSON.parse(lines.at(-1)!)).toEqual(journal);
    // No journal (invalid input): faultline's own output ends the log, and its exit code stays.
    const invalid = await runPodCommand(container.command, { exitCode: 2 });
    expect(invalid).toMatchObject({ code: 2, stdout: 'faultline output\n', termination: 'faultline exit 2\n' });
    expect(pod.volumes).toContainEqual({ name: 'experiment', configMap: { name: 'chaos' } });
  });

  it('with a schedule, a CronJob that forbids overlapping runs; with a claim, the reports on it', async () => {
    const objects = await manifestOf('experiments/k8s-pod-kill.yaml', inCluster, { schedule: '0 3 * * *', outputClaim: 'reports', namespace: 'chaos-runner' });
    expect(find(objects, 'Job')).toEqual([]);
    const cron = find(objects, 'CronJob')[0] as KubernetesObject & { spec: any };
    expect(cron.metadata.namespace).toBe('chaos-runner');
    expect(cron.spec).toMatchObject({ schedule: '0 3 * * *', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 300 });
    expect(cron.spec.jobTemplate.spec.template.spec.volumes).toContainEqual({ name: 'output', persistentVolumeClaim: { claimName: 'reports' } });
    // The files outlive the pod on the claim: the last log line says where the journal is.
    const ran = await runPodCommand(cron.spec.jobTemplate.spec.template.spec.containers[0].command, { journal: { status: 'passed' }, exitCode: 0 });
    expect(ran.stdout.trimEnd().split('\n').at(-1)).toBe(`faultline journal: ${ran.runDir}/journal.json`);
    // The Role stays in the experiment's namespace; the binding names the ServiceAccount where it lives.
    expect(find(objects, 'Role')[0]!.metadata.namespace).toBe('shop');
    expect(find(objects, 'RoleBinding')[0]).toMatchObject({ subjects: [{ namespace: 'chaos-runner' }] });
  });

  it('refuses a context allow-list without the in-cluster context, and a kubeconfig file the pod lacks', async () => {
    const error = await manifestOf('experiments/k8s-pod-kill.yaml', { k8s: { namespace: 'shop' } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FaultlineError);
    expect((error as FaultlineError).code).toBe('E_INPUT');
    expect((error as FaultlineError).message).toContain('inClusterContext');

    const dir = await mkdtemp(join(tmpdir(), 'faultline-manifest-'));
    const file = join(dir, 'with-kubeconfig.yaml');
    await writeFile(
      file,
      `version: 1
title: t
targets: { kubernetes: { kubeconfig: ./kube.yaml, contexts: [inClusterContext], namespaces: [shop] } }
method:
  - probe: kubernetes.pods
    with: { namespace: shop }
`,
    );
    await expect(manifestOf(file, {})).rejects.toThrow(/kubeconfig .*the pod does not have/);
  });

  it('a namespace pattern is granted only where a step names a namespace it admits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-manifest-'));
    const file = join(dir, 'patterns.yaml');
    await writeFile(
      file,
      `version: 1
title: t
targets: { kubernetes: { contexts: [inClusterContext], namespaces: ["team-.*", ops] } }
method:
  - probe: kubernetes.condition
    with: { kind: Deployment, namespace: team-a, name: web, type: Available }
`,
    );
    const objects = await manifestOf(file, {});
    expect(find(objects, 'Role').map((role) => role.metadata.namespace)).toEqual(['ops', 'team-a']);
    expect(find(objects, 'Role')[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
    ]);
  });

  it('an experiment without the kubernetes driver gets a ServiceAccount and no rules', async () => {
    const objects = await manifestOf('experiments/quickstart.yaml', {});
    expect(objects.map((o) => o.kind)).toEqual(['ConfigMap', 'ServiceAccount', 'Job']);
    expect(objects[0]!.metadata.namespace).toBe('default');
    expect((objects[2] as any).spec.template.spec.containers[0].args).not.toContain('--context');
  });
});
