// faultline in the cluster: from a loaded experiment, the Kubernetes objects that run it there as a
// Job (or a CronJob on a schedule): the experiment in a ConfigMap, a ServiceAccount, a Role in each
// namespace the experiment may touch (and a ClusterRole only for node faults) holding just the rules
// its kubernetes steps need, the bindings, and the Job. A pure function: it reads no cluster.
// It lives outside src/drivers because it reads the loaded experiment, which drivers may not import.
import { basename } from 'node:path';
import { FaultlineError } from '../core/errors.js';
import { isAllowed } from '../drivers/kubernetes/connection.js';
import { mergeRules, preflightRules, rulesFor, type PolicyRule } from '../drivers/kubernetes/permissions.js';
import type { Experiment } from '../experiment/schema.js';

/** The context name @kubernetes/client-node gives the pod's own service account (loadFromCluster). */
export const IN_CLUSTER_CONTEXT = 'inClusterContext';

export interface ManifestOptions {
  /** Base name of every object. */
  name: string;
  /** Where the ServiceAccount and the Job live; default: the first namespace the experiment may touch, else default. */
  namespace?: string | undefined;
  image: string;
  /** A cron schedule: a CronJob instead of a Job. */
  schedule?: string | undefined;
  /** Where the journal, JUnit and Markdown are written in the pod (each run in a folder named after its pod). */
  outputDir: string;
  /** A PersistentVolumeClaim mounted at outputDir; default an emptyDir (gone with the pod). */
  outputClaim?: string | undefined;
  /** --var assignments, passed on to `faultline run` in the pod as given. */
  vars: string[];
}

export interface ExperimentSource {
  /** The file's path, for its name in the ConfigMap. */
  file: string;
  /** The file as written: the pod loads it again, with the same --var assignments. */
  text: string;
  /** Loaded with those assignments: what the rules are derived from. */
  experiment: Experiment;
}

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  [field: string]: unknown;
}

const EXPERIMENT_DIR = '/etc/faultline';
export const STARTING_DEADLINE_SECONDS = 300;

// The pod's command: sh passes the arguments on to faultline untouched ("$@"), then says where the
// journal is as the last log line. On a claim the files outlive the pod, so that is their path;
// on an emptyDir they go with the pod, so it is the journal itself, one line of JSON
// (`kubectl logs job/<name> | tail -n 1 > journal.json`). Pretty JSON holds raw newlines and
// leading spaces only between tokens, so stripping them keeps it valid. A run that wrote no
// journal (invalid input) ends with its error instead. The termination message (the pod's status,
// `kubectl describe pod`) gets the exit code and the journal's one-sentence reason, a top-level
// key of the pretty JSON and so the only one indented by two spaces (its quotes unescaped).
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';
const JOURNAL = '"$FAULTLINE_RUN_DIR/journal.json"';
const TERMINATION_MESSAGE = `if [ -w ${TERMINATION_MESSAGE_PATH} ]; then { echo "faultline exit $code"; sed -n 's/^  "reason": "\\(.*\\)",$/\\1/p' ${JOURNAL} 2>/dev/null | sed 's/\\\\"/"/g'; } > ${TERMINATION_MESSAGE_PATH}; fi`;
const JOURNAL_PATH_LAST = ['faultline "$@"; code=$?', TERMINATION_MESSAGE, `echo "faultline journal: $FAULTLINE_RUN_DIR/journal.json"`, 'exit $code'].join('; ');
const JOURNAL_LAST = [
  'faultline "$@"; code=$?',
  TERMINATION_MESSAGE,
  `if [ -f ${JOURNAL} ]; then sed 's/^ *//' ${JOURNAL} | tr -d '\\n'; echo; fi`,
  'exit $code',
].join('; ');

interface Step {
  use: string;
  kind: 'action' | 'probe';
  args: Record<string, unknown>;
  where: string;
}

/** Every activity of the experiment that names a driver: setup, hypothesis, method, rollbacks, aborts, teardown. */
function stepsOf(experiment: Experiment): Step[] {
  const steps: Step[] = [];
  const add = (activity: { fault?: string | undefined; action?: string | undefined; probe?: string | undefined; with?: Record<string, unknown> | undefined }, where: string) => {
    const use = activity.fault ?? activity.action ?? activity.probe;
    if (use === undefined) return;
    steps.push({ use, kind: activity.probe !== undefined ? 'probe' : 'action', args: activity.with ?? {}, where });
  };
  experiment.setup?.forEach((a, i) => add(a as never, `setup[${i}]`));
  experiment.hypothesis?.probes.forEach((p, i) => add(p, `hypothesis.probes[${i}]`));
  experiment.method.forEach((s, i) => add(s, `method[${i}]`));
  experiment.rollbacks?.forEach((a, i) => add(a, `rollbacks[${i}]`));
  experiment.abort?.forEach((a, i) => add(a as never, `abort[${i}]`));
  experiment.teardown?.forEach((a, i) => add(a as never, `teardown[${i}]`));
  return steps;
}

const isLiteralName = (entry: string) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(entry);

interface KubernetesTargetLike {
  kubeconfig?: string;
  contexts?: string[];
  namespaces?: string[];
}

/**
 * The namespaces to grant a Role in: those the allow-list names, and those the steps name that a
 * pattern in the allow-list admits. A pattern no step narrows to a name cannot be granted: a Role
 * is per namespace, and a ClusterRole for it would reach every namespace.
 */
function grantedNamespaces(target: KubernetesTargetLike, steps: Step[]): string[] {
  const allowList = target.namespaces ?? [];
  const named = new Set(allowList.filter(isLiteralName));
  const fromSteps = steps.map((step) => step.args.namespace).filter((ns): ns is string => typeof ns === 'string');
  for (const ns of fromSteps) {
    if (ns.includes('${')) {
      if (allowList.some((entry) => !isLiteralName(entry))) {
        throw new FaultlineError('E_INPUT', `a kubernetes step's namespace (${ns}) is resolved only at run time, and targets.kubernetes.namespaces has patterns: no Role can be derived`, {
          hint: 'list the namespaces by name in targets.kubernetes.namespaces, or give the step a plain namespace',
        });
      }
      continue;
    }
    if (isAllowed(ns, allowList)) named.add(ns);
  }
  return [...named].sort();
}

function labelsFor(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'faultline', 'app.kubernetes.io/instance': name, 'app.kubernetes.io/managed-by': 'faultline' };
}

/** The RBAC rules the experiment's kubernetes steps need: per namespace and cluster-wide. */
export function requiredRules(experiment: Experiment): { namespaced: PolicyRule[]; cluster: PolicyRule[] } {
  const namespaced: PolicyRule[] = [];
  const cluster: PolicyRule[] = [];
  const kubernetesSteps = stepsOf(experiment).filter((step) => step.use.startsWith('kubernetes.'));
  if (kubernetesSteps.length === 0) return { namespaced, cluster };
  namespaced.push(...preflightRules.namespaced);
  for (const step of kubernetesSteps) {
    const rules = rulesFor(step.kind, step.use.slice('kubernetes.'.length), step.args);
    if (!rules) {
      throw new FaultlineError('E_INTERNAL', `${step.where}: no RBAC rules are known for ${step.kind} ${step.use}`, {
        hint: 'src/drivers/kubernetes/permissions.ts must list every action and probe of the driver',
      });
    }
    namespaced.push(...(rules.namespaced ?? []));
    cluster.push(...(rules.cluster ?? []));
  }
  return { namespaced: mergeRules(namespaced), cluster: mergeRules(cluster) };
}

/** The objects that run the experiment in the cluster, in the order they can be applied. */
export function kubernetesManifest(source: ExperimentSource, options: ManifestOptions): KubernetesObject[] {
  const { experiment } = source;
  const target = (experiment.targets?.kubernetes ?? undefined) as KubernetesTargetLike | undefined;
  const steps = stepsOf(experiment).filter((step) => step.use.startsWith('kubernetes.'));
  if (steps.length > 0 && !target) {
    throw new FaultlineError('E_INPUT', 'the experiment uses the kubernetes driver but has no targets.kubernetes', { hint: 'add targets.kubernetes with its contexts and namespaces' });
  }
  if (target?.kubeconfig !== undefined) {
    throw new FaultlineError('E_INPUT', `targets.kubernetes.kubeconfig (${target.kubeconfig}) points at a file the pod does not have; in the cluster faultline uses its service account`, {
      hint: 'drop targets.kubernetes.kubeconfig (KUBECONFIG or ~/.kube/config serve outside the cluster), or set it through a variable',
    });
  }
  if (target && !isAllowed(IN_CLUSTER_CONTEXT, target.contexts)) {
    throw new FaultlineError('E_INPUT', `in the cluster the kubeconfig context is "${IN_CLUSTER_CONTEXT}", which targets.kubernetes.contexts (${(target.contexts ?? []).join(', ')}) does not allow`, {
      hint: `allow it in the experiment, or set the context through a variable: --var k8s.context=${IN_CLUSTER_CONTEXT}`,
    });
  }
  const namespaces = target ? grantedNamespaces(target, steps) : [];
  const namespace = options.namespace ?? namespaces[0] ?? 'default';
  const name = options.name;
  const labels = labelsFor(name);
  const meta = (objectName: string, objectNamespace?: string) => ({ name: objectName, ...(objectNamespace ? { namespace: objectNamespace } : {}), labels });
  const rules = requiredRules(experiment);
  const subject = [{ kind: 'ServiceAccount', name, namespace }];
  const fileName = basename(source.file);

  const objects: KubernetesObject[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(name, namespace), data: { [fileName]: source.text } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, namespace) },
  ];
  if (rules.namespaced.length > 0) {
    for (const ns of namespaces) {
      objects.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(name, ns), rules: rules.namespaced });
      objects.push({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(name, ns),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: subject,
      });
    }
  }
  if (rules.cluster.length > 0) {
    // Cluster-scoped objects are shared by every namespace: the name carries the ServiceAccount's.
    const clusterName = `${name}-${namespace}`;
    objects.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(clusterName), rules: rules.cluster });
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(clusterName),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
      subjects: subject,
    });
  }

  const jobSpec = jobSpecFor(name, labels, fileName, options, target !== undefined);
  if (options.schedule === undefined) {
    objects.push({ apiVersion: 'batch/v1', kind: 'Job', metadata: meta(name, namespace), spec: jobSpec });
  } else {
    objects.push({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta(name, namespace),
      spec: {
        schedule: options.schedule,
        // Two runs at once would fault the same system twice and read each other's effects. A time
        // that finds a run active waits for it to end (measured on the test node: 3 s after).
        concurrencyPolicy: 'Forbid',
        // A run starts within minutes of its time or not at all: without a deadline, a controller
        // that was down at 03:00 starts the missed run when it is back, in the middle of the day.
        startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: { metadata: { labels }, spec: jobSpec },
      },
    });
  }
  return objects;
}

function jobSpecFor(name: string, labels: Record<string, string>, fileName: string, options: ManifestOptions, usesKubernetes: boolean): Record<string, unknown> {
  const out = options.outputDir.replace(/\/+$/, '') || '/';
  const runArgs = [
    'run',
    `${EXPERIMENT_DIR}/${fileName}`,
    '--journal',
    '$(FAULTLINE_RUN_DIR)/journal.json',
    '--junit',
    '$(FAULTLINE_RUN_DIR)/junit.xml',
    '--markdown',
    '$(FAULTLINE_RUN_DIR)/summary.md',
    // One ledger for every run: a fault a killed run left behind stops the next one until `faultline recover`.
    '--ledger-dir',
    `${out}/ledger`,
    ...(usesKubernetes ? ['--context', IN_CLUSTER_CONTEXT] : []),
    ...options.vars.flatMap((assignment) => ['--var', assignment]),
  ];
  return {
    // A retry would apply the faults again; a failed run is a result, not a glitch.
    backoffLimit: 0,
    template: {
      metadata: { labels },
      spec: {
        serviceAccountName: name,
        restartPolicy: 'Never',
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'faultline',
            image: options.image,
            imagePullPolicy: 'IfNotPresent',
            workingDir: out,
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              // Each run in a folder of its own, so a CronJob's runs on one volume do not overwrite each other.
              { name: 'FAULTLINE_RUN_DIR', value: `${out}/$(POD_NAME)` },
            ],
            command: ['sh', '-c', options.outputClaim ? JOURNAL_PATH_LAST : JOURNAL_LAST, 'faultline'],
            terminationMessagePath: TERMINATION_MESSAGE_PATH,
            args: runArgs,
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [
              { name: 'experiment', mountPath: EXPERIMENT_DIR, readOnly: true },
              { name: 'output', mountPath: out },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'experiment', configMap: { name } },
          options.outputClaim ? { name: 'output', persistentVolumeClaim: { claimName: options.outputClaim } } : { name: 'output', emptyDir: {} },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    },
  };
}
