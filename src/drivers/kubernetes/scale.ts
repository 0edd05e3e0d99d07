// kubernetes.scale: set a Deployment's or StatefulSet's replicas through its scale subresource; the
// undo restores the count read at prepare time. Conflicts (409) are retried with the fresh object.
import type { V1Scale } from '@kubernetes/client-node';
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import { connect, connectionArgsShape, kubeError, reconnect, statusOf, type Cluster, type KubernetesContext, type KubernetesAction, type KubernetesUndo } from './connection.js';
import { namespaceSchema } from './targets.js';
import { POD_GONE } from './reach.js';

export const workloadKindSchema = z.enum(['Deployment', 'StatefulSet']).default('Deployment').meta({ description: 'Deployment (default) or StatefulSet.' });
export type WorkloadKind = z.output<typeof workloadKindSchema>;

export const workloadShape = {
  namespace: namespaceSchema,
  kind: workloadKindSchema,
  name: z.string().min(1).meta({ description: 'Name of the Deployment or StatefulSet.' }),
};

/** Attempts at a read-modify-write of the scale before a conflict is reported. */
const CONFLICT_ATTEMPTS = 10;

export const scaleArgs = z.strictObject({ ...workloadShape, replicas: z.int().nonnegative().meta({ description: 'Replica count while the fault lasts.' }) });
type ScaleArgs = z.output<typeof scaleArgs>;

const scaleBackArgs = z.strictObject({
  ...connectionArgsShape,
  namespace: z.string().min(1),
  kind: z.enum(['Deployment', 'StatefulSet']),
  name: z.string().min(1),
  replicas: z.int().nonnegative().meta({ description: 'The count to restore.' }),
  setTo: z.int().nonnegative().meta({ description: 'The count the fault set, to tell if someone changed it since.' }),
});

function readScale(cluster: Cluster, kind: WorkloadKind, namespace: string, name: string): Promise<V1Scale> {
  return kind === 'Deployment' ? cluster.apps.readNamespacedDeploymentScale({ namespace, name }) : cluster.apps.readNamespacedStatefulSetScale({ namespace, name });
}

function replaceScale(cluster: Cluster, kind: WorkloadKind, namespace: string, name: string, body: V1Scale): Promise<V1Scale> {
  return kind === 'Deployment'
    ? cluster.apps.replaceNamespacedDeploymentScale({ namespace, name, body })
    : cluster.apps.replaceNamespacedStatefulSetScale({ namespace, name, body });
}

/**
 * Sets the replica count with the scale's resourceVersion, so a concurrent change is never
 * overwritten blindly: a 409 re-reads the fresh scale and tries again. Returns the count it replaced.
 */
export async function setReplicas(cluster: Cluster, kind: WorkloadKind, namespace: string, name: string, replicas: number, log: (m: string) => void): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const scale = await readScale(cluster, kind, namespace, name);
    const before = scale.spec?.replicas ?? 0;
    if (before === replicas) return before;
    try {
      await replaceScale(cluster, kind, namespace, name, { ...scale, spec: { ...scale.spec, replicas } });
      return before;
    } catch (error) {
      if (statusOf(error) !== 409 || attempt >= CONFLICT_ATTEMPTS) throw error;
      log(`conflict scaling ${kind} ${namespace}/${name} (attempt ${attempt}); retrying with the fresh object`);
      // A little jitter, so writers that collided do not collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    }
  }
}

function describeWorkload(args: { kind: string; namespace: string; name: string }): string {
  return `${args.kind} ${args.namespace}/${args.name}`;
}

export const scale: KubernetesAction<ScaleArgs, { replicas: number }> = {
  description: "Scale a Deployment or StatefulSet to a replica count; undone by restoring the count it had.",
  args: scaleArgs,
  reversible: true,
  // To zero, nothing answers; to fewer replicas, the Service moves requests to the others (nothing declared).
  effect: (args) => (args.replicas === 0 ? POD_GONE : {}),
  async prepare(args, ctx) {
    const cluster = await connect(ctx, [args.namespace]);
    const current = await readScale(cluster, args.kind, args.namespace, args.name).catch((error: unknown) => {
      if (statusOf(error) === 404) throw new FaultlineError('E_PREFLIGHT', `${describeWorkload(args)} does not exist`, { hint: 'check the kind, namespace and name' });
      throw kubeError(error, `reading ${describeWorkload(args)}`, cluster);
    });
    const replicas = current.spec?.replicas ?? 0;
    return {
      targets: [`${describeWorkload(args)}: ${replicas} → ${args.replicas} replicas`],
      undo: {
        driver: 'kubernetes',
        op: 'scale-back',
        args: { ...cluster.connection, namespace: args.namespace, kind: args.kind, name: args.name, replicas, setTo: args.replicas },
      },
      state: { replicas },
    };
  },
  async apply(args, _prepared, ctx) {
    const cluster = await connect(ctx, [args.namespace]);
    const before = await setReplicas(cluster, args.kind, args.namespace, args.name, args.replicas, ctx.log).catch((error: unknown) => {
      throw kubeError(error, `scaling ${describeWorkload(args)}`, cluster);
    });
    ctx.log(`scaled ${describeWorkload(args)} from ${before} to ${args.replicas} replicas`);
    return { kind: args.kind, namespace: args.namespace, name: args.name, from: before, to: args.replicas };
  },
};

export const scaleBack: KubernetesUndo<z.output<typeof scaleBackArgs>> = {
  args: scaleBackArgs,
  async run(args, ctx: KubernetesContext) {
    const cluster = await reconnect(args, ctx.signal);
    try {
      const current = (await readScale(cluster, args.kind, args.namespace, args.name)).spec?.replicas ?? 0;
      if (current !== args.setTo) ctx.log(`${describeWorkload(args)} has ${current} replicas, not the ${args.setTo} the fault set; restoring ${args.replicas} anyway`);
      await setReplicas(cluster, args.kind, args.namespace, args.name, args.replicas, ctx.log);
      ctx.log(`restored ${describeWorkload(args)} to ${args.replicas} replicas`);
    } catch (error) {
      if (statusOf(error) === 404) {
        ctx.log(`${describeWorkload(args)} is gone; nothing to scale back`);
        return;
      }
      throw kubeError(error, `scaling ${describeWorkload(args)} back to ${args.replicas}`, cluster);
    }
  },
};
