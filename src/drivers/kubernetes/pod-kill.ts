// kubernetes.pod-kill: delete selected pods (a grace period, or forced), optionally again every
// interval for a while. Nothing undoes a kill: whether the pods come back is what the probes judge.
import type { V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import { describeMode } from '../selection.js';
import type { PreparedAction } from '../types.js';
import { connect, kubeError, statusOf, type Cluster, type KubernetesAction } from './connection.js';
import { describePod, describeSelector, podSelectionShape, selectPods } from './targets.js';
import { judgePodReach, POD_GONE, readPodEndpoints } from './reach.js';

/** Deletions in flight at once: enough for a 1,000-pod namespace, gentle on the API server. */
const DELETE_CONCURRENCY = 20;

export const podKillArgs = z
  .strictObject({
    ...podSelectionShape,
    gracePeriod: durationSchema.optional().meta({ description: "Grace period before the pod's containers are killed; default: the pod's own." }),
    force: z.boolean().default(false).meta({ description: 'Delete at once, with a grace period of 0 (as kubectl delete --force --grace-period=0).' }),
    repeat: z
      .strictObject({
        every: durationSchema.meta({ description: 'Time between rounds; each round selects again among the pods there now.' }),
        for: durationSchema.meta({ description: 'Keep killing for this long after the first round.' }),
      })
      .optional()
      .meta({ description: 'Kill again every interval for a duration (raise the step timeout above `for`).' }),
  })
  .superRefine((args, ctx) => {
    if (args.force && args.gracePeriod !== undefined && args.gracePeriod > 0) {
      ctx.addIssue({ code: 'custom', path: ['gracePeriod'], message: 'force deletes with a grace period of 0; leave gracePeriod out' });
    }
  });
type PodKillArgs = z.output<typeof podKillArgs>;

interface KillRound {
  at: number;
  killed: string[];
  alreadyGone: string[];
}

function gracePeriodSeconds(args: PodKillArgs): number | undefined {
  if (args.force) return 0;
  return args.gracePeriod === undefined ? undefined : Math.ceil(args.gracePeriod / 1000);
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Deletes the pods; a pod already gone, or replaced under the same name, counts as gone, not as killed. */
async function killPods(cluster: Cluster, pods: V1Pod[], grace: number | undefined): Promise<KillRound> {
  const round: KillRound = { at: Date.now(), killed: [], alreadyGone: [] };
  await inBatches(pods, DELETE_CONCURRENCY, async (pod) => {
    const { name, namespace, uid } = pod.metadata!;
    try {
      await cluster.core.deleteNamespacedPod({
        name: name!,
        namespace: namespace!,
        ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
        // The uid precondition: a StatefulSet's replacement has the same name and must not be hit.
        body: { preconditions: { uid: uid! }, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) },
      });
      round.killed.push(name!);
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 409) round.alreadyGone.push(name!);
      else throw kubeError(error, `deleting pod ${namespace}/${name}`, cluster);
    }
  });
  round.killed.sort();
  round.alreadyGone.sort();
  return round;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface PodKillState {
  pods: V1Pod[];
  candidates: number;
  readyBefore: number;
}

export const podKill: KubernetesAction<PodKillArgs, PodKillState> = {
  description: 'Delete pods chosen by namespace, selectors and mode (one, count, percent, all), with a grace period or forced; optionally repeated. Irreversible: controllers are expected to heal.',
  args: podKillArgs,
  reversible: false,
  effect: () => POD_GONE,
  readReach: (_args, prepared, ctx) =>
    readPodEndpoints(prepared.state.pods.map((pod) => ({ namespace: pod.metadata!.namespace!, name: pod.metadata!.name! })), ctx),
  judgeReach: (_args, readings) => judgePodReach('kill', readings),
  async prepare(args, ctx) {
    const cluster = await connect(ctx, [args.namespace]);
    const { candidates, selected, readyBefore } = await selectPods(cluster, args, ctx, 'pod-kill');
    const state: PodKillState = { pods: selected, candidates: candidates.length, readyBefore };
    return { targets: selected.map(describePod), undo: null, state };
  },
  // Just before the instant: every chosen pod still there (same uid) and not being deleted; one list call.
  async recheck(args, prepared, ctx) {
    const chosen = prepared.state.pods;
    if (chosen.length === 0) return true;
    const cluster = await connect(ctx, [args.namespace]);
    const list = await cluster.core
      .listNamespacedPod({ namespace: args.namespace, ...(args.labelSelector ? { labelSelector: args.labelSelector } : {}), ...(args.fieldSelector ? { fieldSelector: args.fieldSelector } : {}) })
      .catch((error: unknown) => {
        throw kubeError(error, `listing pods in namespace ${args.namespace}`, cluster);
      });
    const now = new Map(list.items.map((pod) => [pod.metadata?.uid, pod]));
    for (const pod of chosen) {
      const current = now.get(pod.metadata?.uid);
      if (!current || current.metadata?.deletionTimestamp) {
        ctx.log(`${describePod(pod)} is ${current ? 'being deleted' : 'gone'} since it was chosen`);
        return false;
      }
    }
    return true;
  },
  async apply(args, prepared, ctx) {
    const state = prepared.state;
    // Clients bound to this call's signal (prepare's is over); the run's session keeps the kubeconfig and connections warm.
    const cluster = await connect(ctx, [args.namespace]);
    const grace = gracePeriodSeconds(args);
    const rounds: KillRound[] = [];
    const first = await killPods(cluster, state.pods, grace);
    rounds.push(first);
    ctx.log(`killed ${first.killed.length} of ${state.candidates} pod(s) (${describeMode(args.mode)}, ${describeSelector(args)})${first.alreadyGone.length ? `; already gone: ${first.alreadyGone.join(', ')}` : ''}`);
    if (args.repeat) {
      const end = first.at + args.repeat.for;
      // Bounded: one round per `every` until `for` has passed.
      while (Date.now() + args.repeat.every <= end) {
        await sleep(args.repeat.every, ctx.signal);
        try {
          const { selected } = await selectPods(cluster, args, ctx, `pod-kill-${rounds.length}`);
          const round = await killPods(cluster, selected, grace);
          rounds.push(round);
          ctx.log(`round ${rounds.length}: killed ${round.killed.join(', ') || 'none'}`);
        } catch (error) {
          // A min-ready refusal or an empty match skips a round; the next may go ahead.
          if (!(error instanceof FaultlineError) || error.code !== 'E_PREFLIGHT') throw error;
          ctx.log(`round ${rounds.length + 1} skipped: ${error.message}`);
          rounds.push({ at: Date.now(), killed: [], alreadyGone: [] });
        }
      }
      ctx.log(`repeated every ${formatDuration(args.repeat.every)} for ${formatDuration(args.repeat.for)}: ${rounds.length} round(s)`);
    }
    const killed = rounds.flatMap((round) => round.killed);
    if (killed.length === 0 && state.pods.length > 0) {
      throw new FaultlineError('E_DRIVER', `no pod was killed: ${first.alreadyGone.join(', ')} were already gone`, {
        hint: 'the pods changed between planning and the fault; run again',
      });
    }
    return {
      namespace: args.namespace,
      killed,
      killedCount: killed.length,
      alreadyGone: rounds.flatMap((round) => round.alreadyGone),
      killedAt: first.at,
      killedAtIso: new Date(first.at).toISOString(),
      rounds: rounds.length,
      matched: state.candidates,
      readyBefore: state.readyBefore,
      gracePeriodSeconds: grace ?? null,
    };
  },
};
