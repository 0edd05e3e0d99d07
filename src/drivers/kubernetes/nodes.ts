// kubernetes.cordon and kubernetes.drain: mark nodes unschedulable, and for drain evict their pods
// through the Eviction API so PodDisruptionBudgets are respected, never forced. A node this run
// cordons carries an annotation with the run id; the undo uncordons only those, so a node that was
// cordoned before the run stays cordoned.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import type { PreparedAction } from '../types.js';
import { connect, connectionArgsShape, isAllowed, kubeError, readTarget, reconnect, statusOf, type Cluster, type KubernetesContext, type KubernetesAction, type KubernetesUndo } from './connection.js';
import { inBatches } from './pod-kill.js';
import { nodeSelectionShape, requireNodeChoice, selectNodes } from './targets.js';
import { judgePodReach, POD_GONE, readPodEndpoints } from './reach.js';

export const CORDONED_BY_ANNOTATION = 'faultline.io/cordoned-by';
const EVICTION_CONCURRENCY = 10;
const EVICTION_RETRY_MS = 1000;

const cordonArgs = z.strictObject(nodeSelectionShape).superRefine(requireNodeChoice);
type CordonArgs = z.output<typeof cordonArgs>;

const drainArgs = z
  .strictObject({
    ...nodeSelectionShape,
    gracePeriod: durationSchema.optional().meta({ description: "Grace period for the evicted pods; default: each pod's own." }),
    timeout: durationSchema
      .default(60_000)
      .meta({ description: 'How long to keep retrying evictions a PodDisruptionBudget refuses (default 1m); then the drain is reported as blocked.' }),
    evictUnmanaged: z
      .boolean()
      .default(false)
      .meta({ description: 'Also evict pods no controller will replace (as kubectl drain --force); refused otherwise.' }),
  })
  .superRefine(requireNodeChoice);
type DrainArgs = z.output<typeof drainArgs>;

const uncordonArgs = z.strictObject({
  ...connectionArgsShape,
  nodes: z.array(z.string().min(1)).meta({ description: 'Nodes the fault cordons (not those already cordoned).' }),
  runId: z.string().min(1).meta({ description: 'The run whose cordon to lift: a node cordoned by anyone else is left alone.' }),
});

const mergePatch = ({ library }: Cluster) => library.setHeaderOptions('Content-Type', library.PatchStrategy.MergePatch);

function nameOf(node: V1Node): string {
  return node.metadata!.name!;
}

interface NodePlan {
  cordon: string[];
  alreadyCordoned: string[];
}

function planCordon(nodes: V1Node[]): NodePlan {
  return {
    cordon: nodes.filter((node) => !node.spec?.unschedulable).map(nameOf),
    alreadyCordoned: nodes.filter((node) => node.spec?.unschedulable).map(nameOf),
  };
}

function uncordonUndo(cluster: Cluster, plan: NodePlan, ctx: KubernetesContext): PreparedAction['undo'] {
  return { driver: 'kubernetes', op: 'uncordon', args: { ...cluster.connection, nodes: plan.cordon, runId: ctx.runId } };
}

/** Cordons the nodes that are schedulable now; one cordoned meanwhile by someone else is left out of ours. */
async function cordonNodes(cluster: Cluster, names: string[], ctx: KubernetesContext): Promise<{ cordoned: string[]; alreadyCordoned: string[] }> {
  const cordoned: string[] = [];
  const alreadyCordoned: string[] = [];
  for (const name of names) {
    try {
      const node = await cluster.core.readNode({ name });
      if (node.spec?.unschedulable) {
        alreadyCordoned.push(name);
        continue;
      }
      // The resourceVersion makes this patch fail (409) rather than claim a node cordoned in between.
      await cluster.core.patchNode(
        { name, body: { metadata: { resourceVersion: node.metadata!.resourceVersion, annotations: { [CORDONED_BY_ANNOTATION]: ctx.runId } }, spec: { unschedulable: true } } },
        mergePatch(cluster),
      );
      cordoned.push(name);
    } catch (error) {
      throw kubeError(error, `cordoning node ${name}`, cluster);
    }
  }
  return { cordoned, alreadyCordoned };
}

export const cordon: KubernetesAction<CordonArgs, NodePlan> = {
  description: 'Mark nodes unschedulable (kubectl cordon); undone by uncordoning the nodes this run cordoned. Needs targets.kubernetes.nodes.',
  args: cordonArgs,
  reversible: true,
  async prepare(args, ctx) {
    const cluster = await connect(ctx);
    const plan = planCordon(await selectNodes(cluster, args, ctx, 'cordon'));
    return {
      targets: [...plan.cordon.map((name) => `node ${name}`), ...plan.alreadyCordoned.map((name) => `node ${name} (already cordoned: left as it is)`)],
      undo: uncordonUndo(cluster, plan, ctx),
      state: plan,
    };
  },
  async apply(_args, prepared, ctx) {
    const plan = prepared.state;
    const result = await cordonNodes(await connect(ctx), plan.cordon, ctx);
    ctx.log(`cordoned ${result.cordoned.join(', ') || 'no node'}`);
    return { ...result, alreadyCordoned: [...plan.alreadyCordoned, ...result.alreadyCordoned] };
  },
};

interface DrainPlan extends NodePlan {
  evict: Array<{ namespace: string; name: string; uid: string; node: string }>;
  /** Pods the drain leaves: DaemonSet and mirror pods, finished pods, pods in namespaces not allowed. */
  left: string[];
}

function controllerOf(pod: V1Pod) {
  return pod.metadata?.ownerReferences?.find((ref) => ref.controller);
}

async function planDrain(cluster: Cluster, args: DrainArgs, ctx: KubernetesContext): Promise<DrainPlan> {
  const nodes = await selectNodes(cluster, args, ctx, 'drain');
  const plan: DrainPlan = { ...planCordon(nodes), evict: [], left: [] };
  const target = readTarget(ctx);
  const unmanaged: string[] = [];
  for (const node of nodes.map(nameOf)) {
    const pods = await cluster.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }).catch((error: unknown) => {
      throw kubeError(error, `listing the pods on node ${node}`, cluster);
    });
    for (const pod of pods.items) {
      const { namespace, name, uid, annotations } = pod.metadata!;
      const id = `${namespace}/${name}`;
      const phase = pod.status?.phase;
      if (controllerOf(pod)?.kind === 'DaemonSet') plan.left.push(`${id} (DaemonSet)`);
      else if (annotations?.['kubernetes.io/config.mirror']) plan.left.push(`${id} (mirror pod)`);
      else if (phase === 'Succeeded' || phase === 'Failed') plan.left.push(`${id} (${phase})`);
      else if (!isAllowed(namespace!, target.namespaces)) plan.left.push(`${id} (namespace not in targets.kubernetes.namespaces)`);
      else {
        if (!controllerOf(pod)) unmanaged.push(id);
        plan.evict.push({ namespace: namespace!, name: name!, uid: uid!, node });
      }
    }
  }
  if (unmanaged.length > 0 && !args.evictUnmanaged) {
    throw new FaultlineError('E_PREFLIGHT', `refusing to drain: no controller would replace ${unmanaged.join(', ')}`, {
      hint: 'set evictUnmanaged: true if losing them is intended (kubectl drain --force)',
    });
  }
  return plan;
}

type EvictionResult = { pod: string; outcome: 'evicted' | 'gone' | 'blocked'; reason?: string };

/** One pod's eviction, retried while a PodDisruptionBudget refuses it (429), until the deadline. */
async function evictPod(cluster: Cluster, pod: DrainPlan['evict'][number], grace: number | undefined, deadline: number, signal: AbortSignal): Promise<EvictionResult> {
  const id = `${pod.namespace}/${pod.name}`;
  // Bounded: one attempt per EVICTION_RETRY_MS until the deadline.
  for (;;) {
    try {
      await cluster.core.createNamespacedPodEviction({
        namespace: pod.namespace,
        name: pod.name,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { namespace: pod.namespace, name: pod.name },
          deleteOptions: { preconditions: { uid: pod.uid }, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) },
        },
      });
      return { pod: id, outcome: 'evicted' };
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 409) return { pod: id, outcome: 'gone' };
      if (status !== 429) throw kubeError(error, `evicting pod ${id}`, cluster);
      if (Date.now() + EVICTION_RETRY_MS > deadline || signal.aborted) {
        return { pod: id, outcome: 'blocked', reason: kubeError(error, 'eviction').message.replace(/^eviction: HTTP 429: /, '') };
      }
      await new Promise((resolve) => setTimeout(resolve, EVICTION_RETRY_MS));
    }
  }
}

export const drain: KubernetesAction<DrainArgs, DrainPlan> = {
  description:
    'Cordon nodes and evict their pods through the Eviction API, so PodDisruptionBudgets are respected: a drain a budget blocks is reported, never forced. Evicts only pods in allowed namespaces; undone by uncordoning.',
  args: drainArgs,
  reversible: true,
  // Evicted pods stop; their replacements start elsewhere: callers of an evicted pod are refused meanwhile.
  effect: () => POD_GONE,
  readReach: (_args, prepared, ctx) => readPodEndpoints((prepared.state as DrainPlan).evict, ctx),
  judgeReach: (_args, readings) => judgePodReach('drain', readings),
  async prepare(args, ctx) {
    const cluster = await connect(ctx);
    const plan = await planDrain(cluster, args, ctx);
    const targets = [
      ...plan.cordon.map((name) => `node ${name}`),
      ...plan.alreadyCordoned.map((name) => `node ${name} (already cordoned: left cordoned)`),
      ...plan.evict.map((pod) => `evict pod ${pod.namespace}/${pod.name} from ${pod.node}`),
    ];
    if (plan.left.length) targets.push(`left in place: ${plan.left.join(', ')}`);
    return { targets, undo: uncordonUndo(cluster, plan, ctx), state: plan };
  },
  async apply(args, prepared, ctx) {
    const plan = prepared.state;
    const cluster = await connect(ctx);
    const cordonResult = await cordonNodes(cluster, plan.cordon, ctx);
    const grace = args.gracePeriod === undefined ? undefined : Math.ceil(args.gracePeriod / 1000);
    const deadline = Date.now() + args.timeout;
    const results = await inBatches(plan.evict, EVICTION_CONCURRENCY, (pod) => evictPod(cluster, pod, grace, deadline, ctx.signal));
    const evicted = results.filter((r) => r.outcome === 'evicted').map((r) => r.pod);
    const blocked = results.filter((r) => r.outcome === 'blocked');
    ctx.log(`cordoned ${cordonResult.cordoned.join(', ') || 'no node'}; evicted ${evicted.length} pod(s)`);
    if (blocked.length > 0) {
      throw new FaultlineError(
        'E_DRIVER',
        `drain blocked: ${blocked.length} pod(s) could not be evicted within ${formatDuration(args.timeout)} (${blocked.map((b) => `${b.pod}: ${b.reason}`).join('; ')}); evicted ${evicted.length}`,
        { hint: 'a PodDisruptionBudget refused the eviction and was respected, not forced; the nodes are uncordoned by the undo' },
      );
    }
    return {
      cordoned: cordonResult.cordoned,
      alreadyCordoned: [...plan.alreadyCordoned, ...cordonResult.alreadyCordoned],
      evicted,
      gone: results.filter((r) => r.outcome === 'gone').map((r) => r.pod),
      left: plan.left,
    };
  },
};

export const uncordon: KubernetesUndo<z.output<typeof uncordonArgs>> = {
  args: uncordonArgs,
  async run(args, ctx) {
    const cluster = await reconnect(args, ctx.signal);
    for (const name of args.nodes) {
      try {
        const node = await cluster.core.readNode({ name });
        const by = node.metadata?.annotations?.[CORDONED_BY_ANNOTATION];
        if (by !== args.runId) {
          ctx.log(`node ${name} was not cordoned by run ${args.runId}${by ? ` (but by ${by})` : ''}; left as it is`);
          continue;
        }
        await cluster.core.patchNode({ name, body: { metadata: { annotations: { [CORDONED_BY_ANNOTATION]: null } }, spec: { unschedulable: null } } }, mergePatch(cluster));
        ctx.log(`uncordoned node ${name}`);
      } catch (error) {
        if (statusOf(error) === 404) {
          ctx.log(`node ${name} is gone; nothing to uncordon`);
          continue;
        }
        throw kubeError(error, `uncordoning node ${name}`, cluster);
      }
    }
  },
};
