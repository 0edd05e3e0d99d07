// kubernetes.partition: a NetworkPolicy that selects the pods by their labels and allows nothing in
// the chosen directions, labelled with the run id; the undo deletes it. The policy only cuts traffic
// where the cluster's network plugin enforces NetworkPolicy.
import { createHash } from 'node:crypto';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import { requireMatches } from '../selection.js';
import { connect, connectionArgsShape, kubeError, reconnect, statusOf, type KubernetesAction, type KubernetesUndo } from './connection.js';
import { parseLabelSelector } from './label-selector.js';
import { describePod, describeSelector, listPods, namespaceSchema } from './targets.js';
import { judgePartitionReach, POD_CUT_OFF, readPodEndpoints } from './reach.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'faultline' } as const;
export const RUN_ID_LABEL = 'faultline.io/run-id';

const partitionArgs = z.strictObject({
  namespace: namespaceSchema,
  labelSelector: z.string().min(1).meta({ description: 'Label selector of the pods to cut off: every pod it matches, now and later, is in the partition.' }),
  direction: z.enum(['ingress', 'egress', 'both']).default('both').meta({ description: 'Deny traffic into the pods, out of them, or both (default).' }),
  allowEmpty: z.boolean().default(false).meta({ description: 'Create the policy even when no pod matches now.' }),
});
type PartitionArgs = z.output<typeof partitionArgs>;

const deletePolicyArgs = z.strictObject({
  ...connectionArgsShape,
  namespace: z.string().min(1),
  name: z.string().min(1),
  runId: z.string().min(1).meta({ description: 'Only a policy carrying this run id is deleted.' }),
});

/** A name unique per run and selector, valid as a DNS label's worth of characters. */
export function partitionPolicyName(runId: string, args: Pick<PartitionArgs, 'labelSelector' | 'direction'>): string {
  const digest = createHash('sha256').update(`${args.labelSelector}|${args.direction}`).digest('hex').slice(0, 8);
  const run = runId.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40);
  return `faultline-partition-${run}-${digest}`.replace(/-+/g, '-');
}

function policyTypes(direction: PartitionArgs['direction']): string[] {
  return direction === 'both' ? ['Ingress', 'Egress'] : direction === 'ingress' ? ['Ingress'] : ['Egress'];
}

export function partitionPolicy(name: string, runId: string, args: PartitionArgs): V1NetworkPolicy {
  const types = policyTypes(args.direction);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: args.namespace, labels: { ...MANAGED_BY, [RUN_ID_LABEL]: runId } },
    // No rules in a listed direction: nothing is allowed that way.
    spec: { podSelector: parseLabelSelector(args.labelSelector), policyTypes: types, ...(types.includes('Ingress') ? { ingress: [] } : {}), ...(types.includes('Egress') ? { egress: [] } : {}) },
  };
}

export const partition: KubernetesAction<PartitionArgs, { name: string; pods: string[] }> = {
  description:
    'Cut pods off the network with a NetworkPolicy denying ingress, egress or both to the pods a label selector matches; labelled with the run id and deleted by the undo. Needs a network plugin that enforces NetworkPolicy.',
  args: partitionArgs,
  reversible: true,
  effect: () => POD_CUT_OFF,
  readReach: (args, prepared, ctx) => readPodEndpoints((prepared.state as { pods: string[] }).pods.map((name) => ({ namespace: args.namespace, name })), ctx),
  judgeReach: (_args, readings) => judgePartitionReach(readings),
  async prepare(args, ctx) {
    // Parsed here so a selector NetworkPolicy cannot express fails the plan, not the run.
    parseLabelSelector(args.labelSelector);
    const cluster = await connect(ctx, [args.namespace]);
    const pods = await listPods(cluster, args);
    requireMatches(pods.length, { allowEmpty: args.allowEmpty, what: 'pod', selector: describeSelector(args) });
    const name = partitionPolicyName(ctx.runId, args);
    return {
      targets: [`NetworkPolicy ${args.namespace}/${name} denying ${args.direction === 'both' ? 'ingress and egress' : args.direction}`, ...pods.map(describePod)],
      undo: { driver: 'kubernetes', op: 'delete-network-policy', args: { ...cluster.connection, namespace: args.namespace, name, runId: ctx.runId } },
      state: { name, pods: pods.map((pod) => pod.metadata!.name!) },
    };
  },
  async apply(args, prepared, ctx) {
    const { name, pods } = prepared.state;
    const cluster = await connect(ctx, [args.namespace]);
    const body = partitionPolicy(name, ctx.runId, args);
    try {
      await cluster.networking.createNamespacedNetworkPolicy({ namespace: args.namespace, body });
    } catch (error) {
      if (statusOf(error) !== 409) throw kubeError(error, `creating NetworkPolicy ${args.namespace}/${name}`, cluster);
      const existing = await cluster.networking.readNamespacedNetworkPolicy({ namespace: args.namespace, name });
      if (existing.metadata?.labels?.[RUN_ID_LABEL] !== ctx.runId) {
        throw new FaultlineError('E_DRIVER', `NetworkPolicy ${args.namespace}/${name} already exists and was not made by this run`, { hint: 'delete it, or run again' });
      }
    }
    ctx.log(`created NetworkPolicy ${args.namespace}/${name} (${policyTypes(args.direction).join(' and ')} denied) for ${pods.length} pod(s)`);
    return { networkPolicy: name, namespace: args.namespace, policyTypes: policyTypes(args.direction), pods };
  },
};

export const deleteNetworkPolicy: KubernetesUndo<z.output<typeof deletePolicyArgs>> = {
  args: deletePolicyArgs,
  async run(args, ctx) {
    const cluster = await reconnect(args, ctx.signal);
    const where = `NetworkPolicy ${args.namespace}/${args.name}`;
    try {
      const existing = await cluster.networking.readNamespacedNetworkPolicy({ namespace: args.namespace, name: args.name });
      if (existing.metadata?.labels?.[RUN_ID_LABEL] !== args.runId) {
        ctx.log(`${where} was not made by run ${args.runId}; left in place`);
        return;
      }
      await cluster.networking.deleteNamespacedNetworkPolicy({ namespace: args.namespace, name: args.name });
      ctx.log(`deleted ${where}`);
    } catch (error) {
      if (statusOf(error) === 404) {
        ctx.log(`${where} is gone already`);
        return;
      }
      throw kubeError(error, `deleting ${where}`, cluster);
    }
  },
};
