// Finding what a fault hits: pods by namespace, label and field selectors, exclusions and a selection
// mode, guarded by min-ready; nodes by name or label selector, within the nodes allow-list. Reads only.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import { checkMinHealthy, describeMode, exclusionSchema, isExcluded, requireMatches, selectTargets, selectionModeSchema } from '../selection.js';
import { isAllowed, kubeError, readTarget, type Cluster, type KubernetesContext } from './connection.js';

export const namespaceSchema = z.string().min(1).meta({ description: 'Namespace (must be in targets.kubernetes.namespaces).' });

export const podSelectorShape = {
  namespace: namespaceSchema,
  labelSelector: z.string().min(1).optional().meta({ description: 'Label selector, as kubectl -l takes it: app=web,tier!=db.' }),
  fieldSelector: z.string().min(1).optional().meta({ description: 'Field selector, as kubectl takes it: status.phase=Running, spec.nodeName=node-1.' }),
  exclude: exclusionSchema.optional(),
};

export const podSelectionShape = {
  ...podSelectorShape,
  mode: selectionModeSchema.default('one'),
  minReady: z
    .int()
    .nonnegative()
    .optional()
    .meta({ description: 'Refuse the fault if it would leave fewer than this many ready pods among those the selectors match.' }),
  allowEmpty: z.boolean().default(false).meta({ description: 'Do nothing, instead of failing, when no pod matches.' }),
};

export interface PodSelector {
  namespace: string;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  exclude?: string[] | undefined;
}

export interface PodSelection extends PodSelector {
  mode: z.output<typeof selectionModeSchema>;
  minReady?: number | undefined;
  allowEmpty: boolean;
}

export function isPodReady(pod: V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    pod.status?.phase === 'Running' &&
    !!pod.status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')
  );
}

export function describeSelector(selector: PodSelector): string {
  const parts = [`namespace ${selector.namespace}`];
  if (selector.labelSelector) parts.push(`labels ${selector.labelSelector}`);
  if (selector.fieldSelector) parts.push(`fields ${selector.fieldSelector}`);
  return parts.join(', ');
}

/** Pods the selectors match, less the excluded ones and those already terminating. */
export async function listPods(cluster: Cluster, selector: PodSelector): Promise<V1Pod[]> {
  const list = await cluster.core
    .listNamespacedPod({
      namespace: selector.namespace,
      ...(selector.labelSelector ? { labelSelector: selector.labelSelector } : {}),
      ...(selector.fieldSelector ? { fieldSelector: selector.fieldSelector } : {}),
    })
    .catch((error: unknown) => {
      throw kubeError(error, `listing pods (${describeSelector(selector)})`, cluster);
    });
  return list.items.filter((pod) => !pod.metadata?.deletionTimestamp && !isExcluded(pod.metadata?.name ?? '', selector.exclude));
}

export interface SelectedPods {
  candidates: V1Pod[];
  selected: V1Pod[];
  readyBefore: number;
}

/** The pods a step hits, drawn with the run's seed; refuses an empty match and a breach of minReady. */
export async function selectPods(cluster: Cluster, selection: PodSelection, ctx: KubernetesContext, salt: string): Promise<SelectedPods> {
  const candidates = await listPods(cluster, selection);
  requireMatches(candidates.length, {
    allowEmpty: selection.allowEmpty,
    what: 'pod',
    selector: describeSelector(selection),
    hint: 'check the namespace and selectors (excluded and terminating pods do not count), or set allowEmpty: true',
  });
  const selected = selectTargets(candidates, { mode: selection.mode, seed: ctx.seed, salt: `${salt}:${describeSelector(selection)}`, key: (pod) => pod.metadata!.name! });
  const readyBefore = candidates.filter(isPodReady).length;
  checkMinHealthy({ minHealthy: selection.minReady, healthy: readyBefore, hitHealthy: selected.filter(isPodReady).length, what: 'pods' });
  return { candidates, selected, readyBefore };
}

export function describePod(pod: V1Pod): string {
  const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller);
  return `pod ${pod.metadata?.namespace}/${pod.metadata?.name}${owner ? ` (${owner.kind} ${owner.name})` : ' (no controller)'}`;
}

export const nodeSelectionShape = {
  nodes: z.array(z.string().min(1)).min(1).optional().meta({ description: 'Node names.' }),
  labelSelector: z.string().min(1).optional().meta({ description: 'Node label selector, instead of names.' }),
  exclude: exclusionSchema.optional(),
  mode: selectionModeSchema.default('one'),
};

export interface NodeSelection {
  nodes?: string[] | undefined;
  labelSelector?: string | undefined;
  exclude?: string[] | undefined;
  mode: z.output<typeof selectionModeSchema>;
}

export function requireNodeChoice(args: { nodes?: unknown; labelSelector?: unknown }, ctx: z.RefinementCtx): void {
  if ((args.nodes === undefined) === (args.labelSelector === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'name the nodes by one of nodes or labelSelector' });
  }
}

/** Nodes a step hits: every one must be in targets.kubernetes.nodes, which node faults require. */
export async function selectNodes(cluster: Cluster, selection: NodeSelection, ctx: KubernetesContext, salt: string): Promise<V1Node[]> {
  const allowList = readTarget(ctx).nodes;
  if (!allowList?.length) {
    throw new FaultlineError('E_PREFLIGHT', 'node faults need targets.kubernetes.nodes: the nodes this experiment may cordon or drain', {
      hint: 'add targets.kubernetes.nodes with node names or regular expressions',
    });
  }
  let candidates: V1Node[];
  try {
    if (selection.nodes) {
      for (const name of selection.nodes) {
        if (!isAllowed(name, allowList)) {
          throw new FaultlineError('E_PREFLIGHT', `node "${name}" is not in targets.kubernetes.nodes (${allowList.join(', ')})`);
        }
      }
      candidates = await Promise.all(selection.nodes.map((name) => cluster.core.readNode({ name })));
    } else {
      candidates = (await cluster.core.listNode({ labelSelector: selection.labelSelector! })).items.filter((node) => isAllowed(node.metadata!.name!, allowList));
    }
  } catch (error) {
    throw kubeError(error, 'finding the nodes', cluster);
  }
  candidates = candidates.filter((node) => !isExcluded(node.metadata!.name!, selection.exclude));
  requireMatches(candidates.length, {
    what: 'allowed node',
    selector: selection.nodes ? selection.nodes.join(', ') : `labels ${selection.labelSelector}`,
    hint: 'check the names or selector against targets.kubernetes.nodes and exclude',
  });
  ctx.log(`selected ${describeMode(selection.mode)} of ${candidates.length} node(s)`);
  return selectTargets(candidates, { mode: selection.mode, seed: ctx.seed, salt, key: (node) => node.metadata!.name! });
}
