// The RBAC rules each kubernetes action and probe needs, read off the API calls it makes (pods list
// in targets.ts, deleteNamespacedPod in pod-kill.ts, and so on), so a ServiceAccount can be granted
// exactly those. A rule here that the code no longer needs is excess privilege; a call the code makes
// that is missing here is a 403 in the cluster: change the two together.
import type { kubernetesDriver } from './index.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Rules granted by a Role in each namespace the experiment may touch, and by a ClusterRole. */
export interface RequiredRules {
  namespaced: PolicyRule[];
  cluster: PolicyRule[];
}

type Args = Record<string, unknown>;
type RuleSource = (args: Args) => Partial<RequiredRules>;

const core = (resources: string[], verbs: string[]): PolicyRule => ({ apiGroups: [''], resources, verbs });
const apps = (resources: string[], verbs: string[]): PolicyRule => ({ apiGroups: ['apps'], resources, verbs });

/** A kind argument as the step gives it; one still holding ${...} (resolved only at run time) could be either. */
function workloadKinds(kind: unknown, fallback: string): string[] {
  if (kind === undefined) return [fallback];
  if (typeof kind === 'string' && !kind.includes('${')) return [kind];
  return ['Deployment', 'StatefulSet'];
}

const workloadResource: Record<string, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  ReplicaSet: 'replicasets',
};

/** Node faults select nodes by name (get) or by label (list), and cordon them with a merge patch. */
const nodeFault: PolicyRule = core(['nodes'], ['get', 'list', 'patch']);

/** Preflight lists pods (limit 1) in every namespace the allow-list names. */
export const preflightRules: RequiredRules = { namespaced: [core(['pods'], ['list'])], cluster: [] };

export const actionRules = {
  // selectPods lists; the kill is a delete.
  'pod-kill': () => ({ namespaced: [core(['pods'], ['list', 'delete'])] }),
  // Reads and replaces the scale subresource; the undo does the same.
  scale: (args) => ({ namespaced: workloadKinds(args.kind, 'Deployment').map((kind) => apps([`${workloadResource[kind]}/scale`], ['get', 'update'])) }),
  cordon: () => ({ cluster: [nodeFault] }),
  // Pods on the node are listed across namespaces (a cluster-wide list); evictions go only to the allowed namespaces.
  drain: () => ({ cluster: [nodeFault, core(['pods'], ['list'])], namespaced: [core(['pods/eviction'], ['create'])] }),
  partition: () => ({ namespaced: [core(['pods'], ['list']), { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create', 'get', 'delete'] }] }),
  // Exec is a websocket upgrade: a GET on pods/exec, which API servers authorise as get or create by version.
  'fill-disk': () => ({ namespaced: [core(['pods'], ['list', 'get']), core(['pods/exec'], ['create', 'get'])] }),
} satisfies Record<keyof typeof kubernetesDriver.actions, RuleSource>;

export const probeRules = {
  'ready-replicas': (args) => ({ namespaced: workloadKinds(args.kind, 'Deployment').map((kind) => apps([workloadResource[kind]!], ['get'])) }),
  pods: () => ({ namespaced: [core(['pods'], ['list'])] }),
  condition: (args) => {
    const kind = args.kind;
    if (kind === 'Node') return { cluster: [core(['nodes'], ['get'])] };
    if (kind === 'Pod') return { namespaced: [core(['pods'], ['get'])] };
    if (typeof kind === 'string' && workloadResource[kind]) return { namespaced: [apps([workloadResource[kind]], ['get'])] };
    // Unresolved until run time: every kind the probe can read.
    return { cluster: [core(['nodes'], ['get'])], namespaced: [core(['pods'], ['get']), apps(Object.values(workloadResource), ['get'])] };
  },
  recovery: (args) => ({
    namespaced: [core(['pods'], ['list', 'watch']), ...(args.name !== undefined ? workloadKinds(args.kind, 'Deployment').map((kind) => apps([workloadResource[kind]!], ['get'])) : [])],
  }),
} satisfies Record<keyof typeof kubernetesDriver.probes, RuleSource>;

/** The rules a step needs, or undefined for a name this table does not know (a driver change it missed). */
export function rulesFor(kind: 'action' | 'probe', name: string, args: Args): Partial<RequiredRules> | undefined {
  const table: Record<string, RuleSource> = kind === 'action' ? actionRules : probeRules;
  return Object.hasOwn(table, name) ? table[name]!(args) : undefined;
}

/** One rule per API group and resource, verbs merged, everything sorted, so the output is stable. */
export function mergeRules(rules: PolicyRule[]): PolicyRule[] {
  const verbs = new Map<string, Set<string>>();
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        const key = `${group}\u0000${resource}`;
        const set = verbs.get(key) ?? new Set<string>();
        for (const verb of rule.verbs) set.add(verb);
        verbs.set(key, set);
      }
    }
  }
  return [...verbs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, set]) => {
      const [group, resource] = key.split('\u0000') as [string, string];
      return { apiGroups: [group], resources: [resource], verbs: [...set].sort() };
    });
}
