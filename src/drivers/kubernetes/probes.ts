// The kubernetes probes: ready replicas of a workload, pods by phase and readiness, a resource's
// condition, and the time until the desired ready count is back after a kill, observed with a watch.
import type { V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import { connect, kubeError, statusOf, type Cluster, type KubernetesContext, type KubernetesProbe } from './connection.js';
import { formatLabelSelector } from './label-selector.js';
import { workloadShape, type WorkloadKind } from './scale.js';
import { describeSelector, isPodReady, listPods, namespaceSchema, podSelectorShape } from './targets.js';

const readyReplicasArgs = z.strictObject(workloadShape);

async function readWorkload(cluster: Cluster, kind: WorkloadKind, namespace: string, name: string) {
  try {
    return kind === 'Deployment' ? await cluster.apps.readNamespacedDeployment({ namespace, name }) : await cluster.apps.readNamespacedStatefulSet({ namespace, name });
  } catch (error) {
    if (statusOf(error) === 404) throw new FaultlineError('E_DRIVER', `${kind} ${namespace}/${name} does not exist`, { hint: 'check the kind, namespace and name' });
    throw kubeError(error, `reading ${kind} ${namespace}/${name}`, cluster);
  }
}

export const readyReplicas: KubernetesProbe<z.output<typeof readyReplicasArgs>> = {
  description: 'Ready replicas of a Deployment or StatefulSet against the desired count, from its status.',
  args: readyReplicasArgs,
  outputs: {
    ready: 'status.readyReplicas',
    desired: 'spec.replicas',
    available: 'status.availableReplicas',
    updated: 'status.updatedReplicas',
    allReady: 'true when ready >= desired and the controller has seen the latest spec',
  },
  defaultExpect: { allReady: true },
  async run(args, ctx) {
    const cluster = await connect(ctx, [args.namespace]);
    const workload = await readWorkload(cluster, args.kind, args.namespace, args.name);
    const desired = workload.spec?.replicas ?? 1;
    const ready = workload.status?.readyReplicas ?? 0;
    const current = (workload.status?.observedGeneration ?? 0) >= (workload.metadata?.generation ?? 0);
    return {
      ready,
      desired,
      available: workload.status?.availableReplicas ?? 0,
      updated: workload.status?.updatedReplicas ?? 0,
      allReady: current && ready >= desired,
    };
  },
};

const podsArgs = z.strictObject(podSelectorShape);

export const pods: KubernetesProbe<z.output<typeof podsArgs>> = {
  description: 'Pods a selector matches, counted by phase and readiness (terminating pods are left out).',
  args: podsArgs,
  outputs: {
    total: 'pods matched (not terminating, not excluded)',
    ready: 'of those, Running and Ready',
    notReady: 'total - ready',
    phases: 'count per phase: { Running: 3, Pending: 1 }',
    names: 'the pod names, sorted',
  },
  async run(args, ctx) {
    const cluster = await connect(ctx, [args.namespace]);
    const found = await listPods(cluster, args);
    const phases: Record<string, number> = {};
    for (const pod of found) phases[pod.status?.phase ?? 'Unknown'] = (phases[pod.status?.phase ?? 'Unknown'] ?? 0) + 1;
    const ready = found.filter(isPodReady).length;
    return { total: found.length, ready, notReady: found.length - ready, phases, names: found.map((pod) => pod.metadata!.name!).sort() };
  },
};

const conditionKinds = ['Pod', 'Node', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'] as const;
const conditionArgs = z
  .strictObject({
    kind: z.enum(conditionKinds).meta({ description: 'Kind of the resource.' }),
    namespace: namespaceSchema.optional(),
    name: z.string().min(1),
    type: z.string().min(1).meta({ description: 'Condition type: Ready, Available, Progressing, MemoryPressure …' }),
  })
  .superRefine((args, ctx) => {
    if ((args.kind === 'Node') !== (args.namespace === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['namespace'], message: args.kind === 'Node' ? 'nodes have no namespace' : `a ${args.kind} needs a namespace` });
    }
  });
type ConditionArgs = z.output<typeof conditionArgs>;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: Date | string;
}

async function readConditions(cluster: Cluster, args: ConditionArgs): Promise<Condition[] | undefined> {
  const namespace = args.namespace!;
  const name = args.name;
  switch (args.kind) {
    case 'Pod':
      return (await cluster.core.readNamespacedPod({ namespace, name })).status?.conditions;
    case 'Node':
      return (await cluster.core.readNode({ name })).status?.conditions;
    case 'Deployment':
      return (await cluster.apps.readNamespacedDeployment({ namespace, name })).status?.conditions;
    case 'StatefulSet':
      return (await cluster.apps.readNamespacedStatefulSet({ namespace, name })).status?.conditions;
    case 'DaemonSet':
      return (await cluster.apps.readNamespacedDaemonSet({ namespace, name })).status?.conditions;
    case 'ReplicaSet':
      return (await cluster.apps.readNamespacedReplicaSet({ namespace, name })).status?.conditions;
  }
}

export const condition: KubernetesProbe<ConditionArgs> = {
  description: "A resource's status condition (a Pod's Ready, a Deployment's Available, a Node's Ready …).",
  args: conditionArgs,
  outputs: {
    status: '"True", "False", "Unknown", or null when the resource has no such condition',
    reason: "the condition's reason",
    message: "the condition's message",
    since: 'lastTransitionTime, ISO 8601',
  },
  defaultExpect: { status: 'True' },
  async run(args, ctx) {
    const cluster = await connect(ctx, args.namespace ? [args.namespace] : []);
    const where = `${args.kind} ${args.namespace ? `${args.namespace}/` : ''}${args.name}`;
    const conditions = await readConditions(cluster, args).catch((error: unknown) => {
      if (statusOf(error) === 404) throw new FaultlineError('E_DRIVER', `${where} does not exist`);
      throw kubeError(error, `reading ${where}`, cluster);
    });
    const found = conditions?.find((c) => c.type === args.type);
    if (!found) return { status: null, reason: null, message: `${where} has no ${args.type} condition`, since: null };
    const since = found.lastTransitionTime ? new Date(found.lastTransitionTime).toISOString() : null;
    return { status: found.status, reason: found.reason ?? null, message: found.message ?? null, since };
  },
};

// ---------------------------------------------------------------------------------------------
// Time to recover

/** Epoch milliseconds, or an ISO 8601 time, as pod-kill's killedAt and killedAtIso give it. */
const instantSchema = z
  .union([z.number().nonnegative(), z.string()])
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: `expected epoch milliseconds or an ISO 8601 time, got "${value}"` });
      return z.NEVER;
    }
    return ms;
  });

const recoveryArgs = z
  .strictObject({
    namespace: namespaceSchema,
    kind: z.enum(['Deployment', 'StatefulSet']).optional().meta({ description: 'With name: the workload whose pods to watch; its spec.replicas is the desired count.' }),
    name: z.string().min(1).optional(),
    labelSelector: z.string().min(1).optional().meta({ description: 'Instead of a workload: the pods to watch (give desired).' }),
    desired: z.int().nonnegative().optional().meta({ description: "Ready pods that count as recovered; default: the workload's spec.replicas." }),
    since: instantSchema
      .optional()
      .meta({ description: 'When the loss happened: ${steps.<kill>.output.killedAt}. Without it the probe waits for the ready count to drop first, so it can be started just before the kill.' }),
    killed: z.array(z.string()).optional().meta({ description: "Pods that were killed (${steps.<kill>.output.killed}): they never count as recovered, even before their deletion shows." }),
    within: durationSchema
      .default(25_000)
      .meta({ description: "Give up this long after the probe starts (default 25s): recovered is then false. Keep it under the probe's timeout (default 30s)." }),
  })
  .superRefine((args, ctx) => {
    if (args.kind !== undefined && args.name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: `name the ${args.kind}` });
    if (args.name === undefined && args.labelSelector === undefined) ctx.addIssue({ code: 'custom', message: 'name a workload (kind and name) or the pods (labelSelector)' });
    if (args.name !== undefined && args.labelSelector !== undefined) ctx.addIssue({ code: 'custom', message: 'name a workload or a labelSelector, not both' });
    if (args.labelSelector !== undefined && args.desired === undefined) ctx.addIssue({ code: 'custom', path: ['desired'], message: 'with labelSelector, give the desired ready count' });
  });
type RecoveryArgs = z.output<typeof recoveryArgs>;

/** Ready pods that count toward recovery: ready now, and not one of those killed. */
function countReady(byName: Map<string, V1Pod>, killed: ReadonlySet<string>, killedUids: ReadonlySet<string>): number {
  let ready = 0;
  for (const pod of byName.values()) if (isPodReady(pod) && !(killed.has(pod.metadata!.name!) && killedUids.has(pod.metadata!.uid!))) ready += 1;
  return ready;
}

interface WatchedPods {
  selector: string;
  desired: number;
}

async function resolveWatch(cluster: Cluster, args: RecoveryArgs): Promise<WatchedPods> {
  if (args.labelSelector !== undefined) return { selector: args.labelSelector, desired: args.desired! };
  const kind = args.kind ?? 'Deployment';
  const workload = await readWorkload(cluster, kind, args.namespace, args.name!);
  const selector = workload.spec?.selector ? formatLabelSelector(workload.spec.selector) : '';
  if (!selector) throw new FaultlineError('E_DRIVER', `${kind} ${args.namespace}/${args.name} has no pod selector`);
  return { selector, desired: args.desired ?? workload.spec?.replicas ?? 1 };
}

/**
 * Watches the pods until `desired` of them are ready (those killed never count), or `within` passes.
 * A watch rather than a polling loop: the moments the count drops and comes back are seen when they
 * happen, not at the next poll. With `since` (the kill's killedAt) the time is measured from it;
 * without, the probe first waits for the loss itself, so it can run alongside the kill (start it a
 * moment before) and time the recovery from the loss it observed.
 */
export async function waitForReadyCount(cluster: Cluster, args: RecoveryArgs, ctx: KubernetesContext) {
  const started = Date.now();
  const { selector, desired } = await resolveWatch(cluster, args);
  const list = await cluster.core.listNamespacedPod({ namespace: args.namespace, labelSelector: selector }).catch((error: unknown) => {
    throw kubeError(error, `listing pods (${describeSelector({ namespace: args.namespace, labelSelector: selector })})`, cluster);
  });
  const byName = new Map(list.items.map((pod) => [pod.metadata!.name!, pod]));
  const killed = new Set(args.killed ?? []);
  // A killed pod's name may come back (a StatefulSet's); only the uid seen at the start is the killed one.
  const killedUids = new Set(list.items.filter((pod) => killed.has(pod.metadata!.name!)).map((pod) => pod.metadata!.uid!));
  const ready = () => countReady(byName, killed, killedUids);
  // When the loss happened: given, or seen below the desired count now, or still to be observed.
  let lossAt: number | null = args.since ?? (ready() < desired ? started : null);
  const result = (recoveredAt: number | null, extra: Record<string, unknown> = {}) => ({
    recovered: recoveredAt !== null,
    recoveryMs: recoveredAt === null || lossAt === null ? null : Math.max(0, recoveredAt - lossAt),
    ready: ready(),
    desired,
    lossObserved: lossAt !== null,
    since: lossAt === null ? null : new Date(lossAt).toISOString(),
    recoveredAt: recoveredAt === null ? null : new Date(recoveredAt).toISOString(),
    ...extra,
  });
  if (args.since !== undefined && ready() >= desired) {
    // Back before the probe looked: the time is an upper bound, not the moment it happened.
    return result(started, { upperBound: true });
  }
  if (lossAt === started && args.since === undefined) ctx.log(`only ${ready()} of ${desired} pod(s) ready when the probe started: timing from then`);
  const deadline = started + args.within;
  let resourceVersion = list.metadata?.resourceVersion;
  const watch = new cluster.library.Watch(cluster.config);
  // Bounded: each watch lasts until the deadline at most; a watch the server closes early is
  // restarted from the last version seen, at most this many times.
  for (let restarts = 0; restarts < 20 && Date.now() < deadline; restarts++) {
    const outcome = await new Promise<{ at: number } | { ended: unknown } | 'timeout'>((resolve) => {
      let controller: AbortController | undefined;
      let settled = false;
      const settle = (value: { at: number } | { ended: unknown } | 'timeout') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        controller?.abort();
        resolve(value);
      };
      const timer = setTimeout(() => settle('timeout'), Math.max(0, deadline - Date.now()));
      const onAbort = () => settle({ ended: ctx.signal.reason });
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      watch
        .watch(
          `/api/v1/namespaces/${encodeURIComponent(args.namespace)}/pods`,
          { labelSelector: selector, allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) },
          (phase, pod: V1Pod) => {
            const now = Date.now();
            if (pod?.metadata?.resourceVersion) resourceVersion = pod.metadata.resourceVersion;
            if (phase === 'BOOKMARK' || !pod?.metadata?.name) return;
            if (phase === 'DELETED') byName.delete(pod.metadata.name);
            else byName.set(pod.metadata.name, pod);
            const count = ready();
            if (lossAt === null) {
              if (count < desired) lossAt = now;
            } else if (count >= desired) settle({ at: now });
          },
          (error: unknown) => settle({ ended: error ?? null }),
        )
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        }, (error: unknown) => settle({ ended: error }));
    });
    if (outcome === 'timeout') break;
    if ('at' in outcome) return result(outcome.at);
    if (ctx.signal.aborted) throw new FaultlineError('E_TIMEOUT', 'waiting for recovery was cancelled');
    if (statusOf(outcome.ended) === 410) resourceVersion = undefined; // too old: start again from now
    if (outcome.ended) ctx.log(`the pod watch ended (${String((outcome.ended as Error).message ?? outcome.ended)}); watching again`);
  }
  ctx.log(
    lossAt === null
      ? `no loss seen within ${formatDuration(args.within)}: ${ready()} of ${desired} pod(s) stayed ready`
      : `${ready()} of ${desired} pod(s) ready ${formatDuration(Date.now() - lossAt)} after the loss; gave up`,
  );
  return result(null);
}

export const recovery: KubernetesProbe<RecoveryArgs> = {
  description:
    'Time until the desired count of ready pods is back after a loss (pods killed, a node drained), observed with a watch; recovered is false when it is not back within the bound.',
  args: recoveryArgs,
  outputs: {
    recovered: 'true when desired pods were ready again within `within` (after the loss, when the probe waited for one)',
    recoveryMs: 'milliseconds from the loss (`since`, or the drop the watch saw) until the count was back; null when it was not',
    lossObserved: 'false when no loss was given (since) or seen: the fault did not take effect, so nothing was measured',
    recoveredAt: 'when the count was back, ISO 8601',
    ready: 'ready pods at the end, not counting the killed ones',
    desired: 'the ready count that counts as recovered',
    since: 'the loss the time is measured from, ISO 8601',
    upperBound: 'true when the count was already back when the probe started, so recoveryMs is an upper bound',
  },
  defaultExpect: { recovered: true },
  async run(args, ctx) {
    const cluster = await connect(ctx, [args.namespace]);
    return waitForReadyCount(cluster, args, ctx);
  },
};
