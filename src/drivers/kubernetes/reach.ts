// Evidence that a Kubernetes fault reached the traffic: whether its pods were ready endpoints of a
// Service (EndpointSlices) when the fault was applied, so a Service sent them requests. Read-only,
// bounded in time; a pod no Service routes to may still be reached some other way (a port-forward, its
// IP), which the API cannot show: then the judge says it cannot tell, never "not reached".
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { errorMessage } from '../../core/errors.js';
import type { DriverContext, FaultEffect, ReachEvidence, ReachReading, ReachReadings } from '../types.js';
import { connect, type KubernetesContext } from './connection.js';

const READ_TIMEOUT_MS = 3_000;

export interface PodName {
  namespace: string;
  name: string;
}

/** Counters `endpoint:<namespace>/<service>:<pod>` = 1 for every Service a target pod is a ready endpoint of. */
export function readyEndpoints(slices: V1EndpointSlice[], pods: PodName[]): Record<string, number> {
  const counters: Record<string, number> = {};
  for (const slice of slices) {
    const namespace = slice.metadata?.namespace ?? '';
    const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (!service) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const ref = endpoint.targetRef;
      if (ref?.kind !== 'Pod' || endpoint.conditions?.ready === false) continue;
      if (pods.some((pod) => pod.name === ref.name && pod.namespace === (ref.namespace ?? namespace))) counters[`endpoint:${namespace}/${service}:${ref.name}`] = 1;
    }
  }
  return counters;
}

/** Reads the EndpointSlices of the pods' namespaces; any failure is an `unavailable` reading. */
export async function readPodEndpoints(pods: PodName[], ctx: KubernetesContext): Promise<ReachReading> {
  if (pods.length === 0) return { counters: {}, unavailable: 'no pod was selected' };
  const namespaces = [...new Set(pods.map((pod) => pod.namespace))];
  try {
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(READ_TIMEOUT_MS)]);
    const cluster = await connect({ ...ctx, signal }, namespaces);
    const slices = (await Promise.all(namespaces.map((namespace) => cluster.discovery.listNamespacedEndpointSlice({ namespace })))).flatMap((list) => list.items);
    return { counters: { pods: pods.length, ...readyEndpoints(slices, pods) } };
  } catch (error) {
    return { counters: {}, unavailable: `cannot read the EndpointSlices: ${errorMessage(error)}` };
  }
}

/** Judges a pod fault from the reading at apply time. */
export function judgePodReach(what: string, readings: ReachReadings): ReachEvidence {
  const reading = readings.applied;
  if (reading.unavailable) return { source: 'driver', reached: null, summary: reading.unavailable };
  const endpoints = Object.keys(reading.counters).filter((key) => key.startsWith('endpoint:')).map((key) => key.slice('endpoint:'.length));
  if (endpoints.length > 0) {
    const pods = [...new Set(endpoints.map((e) => e.split(':')[1]))];
    const services = [...new Set(endpoints.map((e) => e.split(':')[0]))];
    return {
      source: 'driver',
      reached: true,
      summary: `${pods.length} of ${reading.counters.pods} pod(s) (${pods.join(', ')}) were ready endpoints of Service ${services.join(', ')} at the ${what}`,
    };
  }
  return {
    source: 'driver',
    reached: null,
    summary: `none of the ${reading.counters.pods} pod(s) was a ready endpoint of a Service at the ${what}; whether the workload reached them some other way (a port-forward, a pod IP) is unknown`,
  };
}

/**
 * Judges a partition: that its pods were a Service's endpoints shows the Service routed to them, not
 * that the NetworkPolicy cut those requests. That takes a network plugin enforcing NetworkPolicy,
 * and most let the pods' own node through (kubelet's probes come from there), so requests sent from
 * a node pass untouched: on a real node, a workload there saw every request answered while both of
 * its Service's pods were cut off. So this never says "reached"; the traffic decides.
 */
export function judgePartitionReach(readings: ReachReadings): ReachEvidence {
  const endpoints = judgePodReach('partition', readings);
  if (endpoints.reached !== true) return endpoints;
  return {
    source: 'driver',
    reached: null,
    summary: `${endpoints.summary}; whether the NetworkPolicy cut the workload's requests depends on the network plugin enforcing it and on where they come from (most plugins let the pods' own node through), so only the traffic can tell`,
  };
}

export const POD_GONE: FaultEffect = { outage: 'refused' };
export const POD_CUT_OFF: FaultEffect = { delayMs: Infinity, outage: 'black-hole' };
