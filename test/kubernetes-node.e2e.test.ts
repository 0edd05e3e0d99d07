// The Kubernetes faults on the test environment's real node, where pods run containers, a CNI bridge
// carries their traffic, kube-proxy serves Services and kube-router enforces NetworkPolicy: traffic
// through a Service from this machine; a partition that really cuts pod-to-pod and client-to-pod
// traffic and whose undo restores it (times printed, not asserted), also by the guardian after the run
// is killed with SIGKILL, and which requests from the node itself never meet (so no verdict may pass
// on them); fill-disk filling a container's filesystem until writes fail; the pod-kill pair judged
// by failover and self-healing from traffic; a drain that moves real pods off the node. Skipped,
// saying why, where the node is not up.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from '../src/engine/journal.js';
import type { VerdictRecord } from '../src/verdicts/types.js';
import { CORDONED_BY_ANNOTATION } from '../src/drivers/kubernetes/nodes.js';
import { kubernetesDriver as k8s } from '../src/drivers/kubernetes/index.js';
import { eventually, runCli, startCli } from './support/cli.js';
import { testDriverContext } from './support/driver-context.js';
import {
  createBarePod,
  createDeployment,
  createNamespace,
  createService,
  deleteNamespace,
  execInPod,
  httpdContainer,
  kubeClients,
  realNodeSpec,
  testTarget,
  waitForReadyPods,
} from './support/kubernetes.js';
import { isCI, requireRealNode, type RealNodeSettings } from './support/testenv.js';

let node: RealNodeSettings | undefined;
let namespace: string | undefined;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-k8s-node-'));
  try {
    node = await requireRealNode();
  } catch (error) {
    if (isCI()) throw error;
    return; // each test skips with the reason
  }
  namespace = await createNamespace(node, 'faultline-real-node');
}, 60_000);

afterAll(async () => {
  await deleteNamespace(node, namespace);
  await rm(dir, { recursive: true, force: true });
});

/**
 * GET from this machine on a new connection; undefined when nothing answers within the timeout.
 * Never a kept-alive one: kube-proxy's DNAT acts on a connection's first packet, so a connection
 * opened before it programmed a new Service stays with whatever answered then (this machine's network
 * answers an unprogrammed ClusterIP itself, with 404), and polling on it would never see the Service.
 */
function get(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const request = httpGet(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', (error) => {
        lastGetError = String(error);
        resolve(undefined);
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => {
      lastGetError = String(error);
      resolve(undefined);
    });
  });
}

/** Waits (bounded) until the Service answers from this machine with its own pods' body. */
async function serviceAnswers(url: string, app: string): Promise<void> {
  let last = '';
  await eventually(`Service ${app} to answer from this machine`, async () => {
    const answer = await get(url);
    last = answer ? `HTTP ${answer.status} ${answer.body.slice(0, 60)}` : lastGetError;
    return answer?.status === 200 && answer.body.startsWith(`ok from ${app}`) ? true : undefined;
  }, 90_000, 250).catch((error: unknown) => {
    throw new Error(`${String(error)}; last answer: ${last}; url ${url}`);
  });
}
/** Why the last get() got no answer, for the message of a wait that timed out. */
let lastGetError = '';

/** A Deployment of busybox httpd on the real node behind a Service; resolves with the Service's URL. */
async function httpdBehindService(cluster: RealNodeSettings, app: string, replicas: number): Promise<string> {
  await createDeployment(cluster, namespace!, app, replicas, { spec: realNodeSpec(cluster, [httpdContainer(cluster)]) });
  const ip = await createService(cluster, namespace!, app, { app });
  await waitForReadyPods(cluster, namespace!, `app=${app}`, replicas, 90_000);
  const url = `http://${ip}/index.html`;
  await serviceAnswers(url, app);
  return url;
}

let runs = 0;
async function runExperiment(cluster: RealNodeSettings, file: string, vars: string[], inNamespace = namespace!) {
  const journal = join(dir, `run-${++runs}.json`);
  const args = ['run', `experiments/${file}`, '--context', cluster.context, '--journal', journal, '--ledger-dir', join(dir, 'ledger'), ...[`k8s.context=${cluster.context}`, `k8s.namespace=${inNamespace}`, ...vars].flatMap((v) => ['--var', v])];
  return { journal, args, env: { KUBECONFIG: cluster.kubeconfigPath } };
}

async function readJournal(path: string): Promise<Journal> {
  return JSON.parse(await readFile(path, 'utf8')) as Journal;
}

function verdict(journal: Journal, name: string): VerdictRecord {
  const found = journal.verdicts.find((v) => v.name === name);
  expect(found, `verdict ${name} in the journal`).toBeDefined();
  return found!;
}

describe('the real node', () => {
  it('runs busybox httpd from the local image, and its Service answers from this machine on the ClusterIP', async (t) => {
    const cluster = await requireRealNode(t);
    const url = await httpdBehindService(cluster, 'hello', 2);
    // Its own kubelet and containerd run it; kwok (which manages only nodes annotated kwok.x-k8s.io/node) does not.
    const realNode = await kubeClients(cluster).core.readNode({ name: cluster.node });
    expect(realNode.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(realNode.metadata?.annotations?.['kwok.x-k8s.io/node']).toBeUndefined();
    const pods = await kubeClients(cluster).core.listNamespacedPod({ namespace: namespace!, labelSelector: 'app=hello' });
    expect(pods.items.map((pod) => pod.spec?.nodeName)).toEqual([cluster.node, cluster.node]);
    // Real containers: each pod has an address on the node's bridge, not a kwok placeholder.
    for (const pod of pods.items) expect(pod.status?.podIP).toMatch(/^10\.244\.0\.\d+$/);
    // httpdBehindService waited (bounded) for the Service's first answer; every new connection now gets one.
    for (let i = 0; i < 3; i++) {
      const answer = await get(url);
      expect(answer?.status, lastGetError).toBe(200);
      expect(answer?.body).toMatch(/^ok from hello-/);
    }
  }, 240_000);
});

/**
 * A pod that asks each target every 100 ms on a new connection and logs one JSON line per answer:
 * the client whose traffic the partition must cut (traffic from the node itself is let through by
 * kube-router, as by most network plugins, so kubelet's probes keep working).
 */
const CLIENT_SCRIPT = `
const http = require('http');
const targets = process.argv.slice(1).map((pair) => pair.split('='));
const ask = ([name, url]) => new Promise((resolve) => {
  const req = http.get(url, { agent: false, timeout: 400 }, (res) => { res.resume(); res.on('end', () => resolve({ name, ok: res.statusCode === 200 })); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (error) => resolve({ name, ok: false, error: error.code || error.message }));
});
(async () => { for (;;) {
  const t = Date.now();
  for (const answer of await Promise.all(targets.map(ask))) console.log(JSON.stringify({ t, ...answer }));
  await new Promise((resolve) => setTimeout(resolve, 100));
} })();
`;

interface ClientLine {
  t: number;
  name: string;
  ok: boolean;
  error?: string;
}

/** Starts the client pod asking each named URL, and waits until every one answers. */
async function startClient(cluster: RealNodeSettings, name: string, targets: Record<string, string>): Promise<void> {
  const args = Object.entries(targets).map(([target, url]) => `${target}=${url}`);
  await createBarePod(cluster, namespace!, name, { app: name }, realNodeSpec(cluster, [{ name: 'client', image: cluster.nodeImage, command: ['node', '-e', CLIENT_SCRIPT, ...args] }]));
  await waitForReadyPods(cluster, namespace!, `app=${name}`, 1, 60_000);
  await eventually(`${name} to reach ${args.join(', ')}`, async () => {
    const lines = (await clientLines(cluster, name)).slice(-3 * args.length);
    return lines.length >= 3 * args.length && lines.every((line) => line.ok) ? true : undefined;
  }, 30_000, 500);
}

async function clientLines(cluster: RealNodeSettings, pod: string): Promise<ClientLine[]> {
  const log = await kubeClients(cluster).core.readNamespacedPodLog({ namespace: namespace!, name: pod });
  return String(log)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as ClientLine);
}

describe('partition on the real node (kube-router enforces the NetworkPolicy)', () => {
  it('cuts pod-to-pod and client-to-Service traffic while live, and its undo restores both', async (t) => {
    const cluster = await requireRealNode(t);
    const serviceUrl = await httpdBehindService(cluster, 'cut', 2);
    const target = (await kubeClients(cluster).core.listNamespacedPod({ namespace: namespace!, labelSelector: 'app=cut' })).items[0]!;
    const podUrl = `http://${target.status!.podIP}:8080/index.html`;
    await startClient(cluster, 'client', { service: serviceUrl, pod: podUrl });

    const { journal, args, env } = await runExperiment(cluster, 'k8s-partition.yaml', ['k8s.app=cut', 'k8s.duration=4s']);
    const started = startCli(args, { env });
    // From this machine the Service stays reachable under the partition: kube-router accepts traffic
    // from the node's own addresses. Recorded as what the node shows, not asserted (plugin behaviour).
    let hostAnswers = 0;
    let hostAsked = 0;
    for (let i = 0; i < 100 && started.child.exitCode === null; i++) {
      hostAsked++;
      if ((await get(serviceUrl, 400))?.status === 200) hostAnswers++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const result = await started.done;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const fault = (await readJournal(journal)).faults.find((f) => f.ref === 'kubernetes.partition')!;
    expect(fault.status).toBe('undone');
    const appliedAt = Date.parse(fault.appliedAt!);
    const undoneAt = Date.parse(fault.undoneAt!);
    // Let the client log a second of traffic after the undo.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const lines = await clientLines(cluster, 'client');
    const figures: string[] = [];
    for (const name of ['service', 'pod']) {
      const mine = lines.filter((line) => line.name === name);
      const before = mine.filter((line) => line.t < appliedAt - 500);
      const cut = mine.find((line) => line.t >= appliedAt - 500 && !line.ok);
      const during = mine.filter((line) => line.t >= appliedAt + 1_500 && line.t < undoneAt - 200);
      const back = mine.find((line) => line.t >= undoneAt && line.ok);
      expect(before.slice(-5).every((line) => line.ok), `${name}: answered before the partition`).toBe(true);
      expect(cut, `${name}: a refused request once the partition is applied`).toBeDefined();
      // A cut request waits out the client's 400 ms timeout (the policy drops, or refuses), so a round takes ~0.5 s.
      expect(during.length).toBeGreaterThanOrEqual(3);
      expect(during.filter((line) => line.ok), `${name}: nothing answered while the partition was live`).toEqual([]);
      expect(back, `${name}: answered again after the undo`).toBeDefined();
      expect(mine.filter((line) => line.t > back!.t).every((line) => line.ok), `${name}: answers stay back`).toBe(true);
      figures.push(`${name} cut ${cut!.t - appliedAt} ms after the policy was created (${cut!.error ?? 'refused'}), back ${back!.t - undoneAt} ms after it was deleted`);
    }
    process.stderr.write(`partition on the real node: ${figures.join('; ')}; from the node itself ${hostAnswers}/${hostAsked} requests answered during the run\n`);
    await kubeClients(cluster).core.deleteNamespacedPod({ namespace: namespace!, name: 'client', gracePeriodSeconds: 0 });
  }, 240_000);
});

describe('promise 1 on the real node: a partition left by a run killed with SIGKILL', () => {
  it('is undone by the guardian, and the client reaches the Service again', async (t) => {
    const cluster = await requireRealNode(t);
    const serviceUrl = await httpdBehindService(cluster, 'guarded', 1);
    await startClient(cluster, 'guarded-client', { service: serviceUrl });
    const ledger = join(dir, 'ledger-guardian');
    const { args, env } = await runExperiment(cluster, 'k8s-partition.yaml', ['k8s.app=guarded', 'k8s.duration=60s']);
    const run = startCli([...args.filter((arg, i) => arg !== '--ledger-dir' && args[i - 1] !== '--ledger-dir'), '--ledger-dir', ledger], { env });
    try {
      await eventually('the partition to cut the client off', async () => {
        const last = (await clientLines(cluster, 'guarded-client')).slice(-3);
        return last.length === 3 && last.every((line) => !line.ok) ? true : undefined;
      }, 45_000, 300);
      expect(run.output().stdout).toMatch(/guardian \(pid \d+\) watches this run/);
    } finally {
      run.child.kill('SIGKILL');
    }
    await run.done;
    const killedAt = Date.now();
    const back = await eventually('the guardian to undo the partition, and the client to get answers', async () => {
      const answered = (await clientLines(cluster, 'guarded-client')).find((line) => line.t > killedAt && line.ok);
      return answered ? answered.t : undefined;
    }, 45_000, 300);
    await eventually('the ledger to say the guardian undid it', async () => ((await readFile(join(ledger, 'ledger.jsonl'), 'utf8')).includes('"by":"guardian"') ? true : undefined), 15_000, 300);
    const policies = await kubeClients(cluster).networking.listNamespacedNetworkPolicy({ namespace: namespace! });
    expect(policies.items).toEqual([]);
    process.stderr.write(`partition after SIGKILL on the real node: the client got answers again ${back - killedAt} ms after the run was killed (the guardian's undo)\n`);
    await kubeClients(cluster).core.deleteNamespacedPod({ namespace: namespace!, name: 'guarded-client', gracePeriodSeconds: 0 });
  }, 240_000);
});

describe('a partition the workload cannot see is not a pass (the real node lets its own traffic through)', () => {
  it('failover on a partition judged from requests sent from the node itself is not-exercised, not pass', async (t) => {
    const cluster = await requireRealNode(t);
    const url = await httpdBehindService(cluster, 'shielded', 2);
    // The workload runs here, on the node: kube-router (like most network plugins) accepts traffic from
    // the pods' own node, so the policy never meets these requests, although the pods are the
    // Service's endpoints. A verdict must not read "the fault reached the traffic" into that.
    const file = join(dir, 'partition-from-node.yaml');
    await writeFile(
      file,
      [
        'version: 1',
        'title: partition judged from the node',
        'targets:',
        `  kubernetes: { contexts: ["${cluster.context}"], namespaces: ["${namespace}"] }`,
        `workload: { url: "${url}", rate: 20, timeout: 2s, before: 2s, after: 1s }`,
        'method:',
        '  - id: cut',
        '    fault: kubernetes.partition',
        `    with: { namespace: "${namespace}", labelSelector: "app=shielded", direction: both }`,
        '    duration: 4s',
        'verdicts:',
        '  failover: { faults: [cut], successRate: 90%, longestGap: 2s }',
        '',
      ].join('\n'),
    );
    const journalPath = join(dir, 'partition-from-node.json');
    const result = await runCli(['run', file, '--context', cluster.context, '--journal', journalPath, '--ledger-dir', join(dir, 'ledger')], { env: { KUBECONFIG: cluster.kubeconfigPath } });
    const run = await readJournal(journalPath);
    const failover = verdict(run, 'failover');
    process.stderr.write(`partition judged from the node: failover ${failover.result} (${failover.evidence.summary})\n`);
    expect(run.faults[0]?.status).toBe('undone');
    // Every request was answered: the partition did not touch them.
    expect(failover.evidence.figures?.successRate).toBe(1);
    expect(failover.result).toBe('not-exercised');
    expect(result.code).toBe(1);
  }, 240_000);
});

describe('fill-disk on the real node', () => {
  it('fills a container filesystem until writes fail, and the undo frees it', async (t) => {
    const cluster = await requireRealNode(t);
    // A memory-backed emptyDir of 16 MiB: a filesystem of its own (tmpfs sized to the limit), so
    // filling it does not fill this shared machine's disk.
    await createDeployment(cluster, namespace!, 'disk', 1, {
      spec: {
        ...realNodeSpec(cluster, [{ name: 'app', image: cluster.busyboxImage, command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }]),
        volumes: [{ name: 'data', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } }],
      },
    });
    const [pod] = await waitForReadyPods(cluster, namespace!, 'app=disk', 1, 60_000);
    const logs: string[] = [];
    const ctx = testDriverContext({ target: testTarget(cluster, namespace!), runId: `fill-${Date.now()}`, seed: 3, log: (m) => logs.push(m) });
    const exec = (command: string) => execInPod(cluster, namespace!, pod!.metadata!.name!, command);
    expect(await exec('echo before > /data/probe && echo written')).toContain('written');

    const action = k8s.actions['fill-disk'];
    const args = action.args.parse({ namespace: namespace!, labelSelector: 'app=disk', path: '/data', size: '64Mi' });
    const prepared = await action.prepare(args, ctx);
    try {
      const output = (await action.apply(args, prepared, ctx)) as { filledUp: string[] };
      expect(output.filledUp).toEqual([pod!.metadata!.name]);
      expect(await exec('df -k /data | tail -1')).toMatch(/\s0\s+100%/);
      expect(await exec('echo more > /data/probe2 && echo written || echo refused')).toContain('refused');
    } finally {
      const definition = k8s.undos[prepared.undo!.op as keyof typeof k8s.undos];
      await definition.run(definition.args.parse(prepared.undo!.args) as never, ctx);
    }
    expect(await exec('echo after > /data/probe3 && echo written')).toContain('written');
    process.stderr.write(`fill-disk on the real node: ${logs.filter((line) => /filled|removed/.test(line)).join('; ')}\n`);
  }, 120_000);
});

describe('experiments/k8s-service-pod-kill.yaml on the real node: judged from traffic through a Service', () => {
  it('a Deployment of 3 keeps answering and is healed: failover and self-healing pass', async (t) => {
    const cluster = await requireRealNode(t);
    const url = await httpdBehindService(cluster, 'web', 3);
    const { journal, args, env } = await runExperiment(cluster, 'k8s-service-pod-kill.yaml', ['k8s.app=web', 'k8s.replicas=3', `k8s.url=${url}`]);
    const result = await runCli(args, { env });
    const run = await readJournal(journal);
    const failover = verdict(run, 'failover');
    const healing = verdict(run, 'self-healing');
    process.stderr.write(`service pod-kill, Deployment: failover ${failover.result} (${failover.evidence.summary}); self-healing ${healing.result} (${healing.evidence.summary})\n`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(failover.result).toBe('pass');
    expect(healing.result).toBe('pass');
    expect(run.faults.find((f) => f.ref === 'kubernetes.pod-kill')?.reach?.reached).toBe(true);
  }, 240_000);

  it('a bare pod as the only endpoint: nothing answers and nothing heals, both verdicts fail', async (t) => {
    const cluster = await requireRealNode(t);
    await createBarePod(cluster, namespace!, 'lonely', { app: 'lonely' }, realNodeSpec(cluster, [httpdContainer(cluster)]));
    const ip = await createService(cluster, namespace!, 'lonely', { app: 'lonely' });
    await waitForReadyPods(cluster, namespace!, 'app=lonely', 1, 60_000);
    const url = `http://${ip}/index.html`;
    // The run's steady state must hold first, or it proves nothing (and says so: not-exercised).
    await serviceAnswers(url, 'lonely');
    const { journal, args, env } = await runExperiment(cluster, 'k8s-service-pod-kill.yaml', ['k8s.app=lonely', 'k8s.replicas=1', `k8s.url=${url}`, 'k8s.recoverWithin=4s']);
    const result = await runCli(args, { env });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    const run = await readJournal(journal);
    const failover = verdict(run, 'failover');
    const healing = verdict(run, 'self-healing');
    process.stderr.write(`service pod-kill, bare pod: failover ${failover.result} (${failover.evidence.summary}); self-healing ${healing.result} (${healing.evidence.summary})\n`);
    // The kill ran (a pod-kill has no undo): the verdicts judge a fault that happened.
    const kill = run.faults.find((f) => f.ref === 'kubernetes.pod-kill');
    expect(kill?.status).toBe('irreversible');
    expect(kill?.appliedAtMs).toBeDefined();
    expect(failover.result).toBe('fail');
    expect(healing.result).toBe('fail');
  }, 240_000);
});

describe('experiments/k8s-drain.yaml on the real node', () => {
  it('evicts the real pods, whose replacements start on other nodes, and uncordons the node after', async (t) => {
    const cluster = await requireRealNode(t);
    // A namespace of its own: the drain evicts every pod of the allowed namespaces on the node.
    const drained = await createNamespace(cluster, 'faultline-real-drain');
    try {
      await drainRealNode(cluster, drained);
    } finally {
      await deleteNamespace(cluster, drained);
    }
  }, 240_000);
});

async function drainRealNode(cluster: RealNodeSettings, namespace: string): Promise<void> {
  // Pods that prefer the real node but may run elsewhere, so the drain has somewhere to move them.
  await createDeployment(cluster, namespace, 'mover', 2, { spec: realNodeSpec(cluster, [httpdContainer(cluster)], { preferOnly: true }) });
  const before = await waitForReadyPods(cluster, namespace, 'app=mover', 2, 90_000);
  const onNode = before.filter((pod) => pod.spec?.nodeName === cluster.node).map((pod) => pod.metadata!.name!);
  expect(onNode.length, 'pods the scheduler put on the real node').toBeGreaterThan(0);
  const { journal, args, env } = await runExperiment(cluster, 'k8s-drain.yaml', ['k8s.app=mover', 'k8s.replicas=2', `k8s.nodes=${cluster.node}`], namespace);
  const result = await runCli(args, { env });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const drain = (await readJournal(journal)).faults.find((f) => f.ref === 'kubernetes.drain')!;
  expect(drain.status).toBe('undone');
  expect((drain.output as { evicted: string[] }).evicted.sort()).toEqual(onNode.map((name) => `${namespace}/${name}`).sort());
  const after = await kubeClients(cluster).core.listNamespacedPod({ namespace, labelSelector: 'app=mover' });
  const names = after.items.filter((pod) => !pod.metadata?.deletionTimestamp).map((pod) => pod.metadata!.name!);
  for (const name of onNode) expect(names).not.toContain(name);
  const moved = after.items.filter((pod) => !pod.metadata?.deletionTimestamp && pod.spec?.nodeName !== cluster.node);
  expect(moved.length).toBeGreaterThanOrEqual(onNode.length);
  const nodeAfter = await kubeClients(cluster).core.readNode({ name: cluster.node });
  expect(nodeAfter.spec?.unschedulable).toBeFalsy();
  expect(nodeAfter.metadata?.annotations?.[CORDONED_BY_ANNOTATION]).toBeUndefined();
  process.stderr.write(`drain on the real node: evicted ${onNode.join(', ')}; replacements on ${moved.map((pod) => pod.spec?.nodeName).join(', ')}\n`);
}
