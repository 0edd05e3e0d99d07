// Whether a fault could have broken a verdict's bounds on a system WITHOUT the mechanism the verdict
// judges. A pass under a fault too weak to break the bound says nothing about the mechanism: a 200 ms
// delay judged against a p99 bound of 1.5 s passes on a system with no timeout at all. The rules read
// the effect the fault's action declares (drivers/types.ts FaultEffect):
//   timeouts  strong when the fault adds more delay than the smallest latency bound, or black-holes;
//             weak when its delay is at or under that bound, or it adds none (refused, reset).
//   retries   strong when it fails a larger share of requests than the error-rate bound, or every
//             request that meets it (an outage); weak at or under the bound; a share below 1 drawn per
//             connection (Toxiproxy's toxicity) cannot be confirmed, since a caller that reuses its
//             connections may meet it on no request at all. Exact counts (a driver that injects the
//             fault itself) replace the declared share: faulted / seen.
//   failover  strong for an outage (refused, black hole, every request failing) that lasted longer than
//             the allowed longest gap; weak when it was shorter, when it is only a delay, or when the
//             share it fails is too small to break the success-rate bound even with no failover.
// A fault that declares no effect cannot be weighed: strong is null, and the verdict judges it on
// reach alone and says so. Pure: plan-time warnings (validate.ts) and verdicts share these.
import { formatDuration } from '../core/duration.js';
import { formatRatio } from '../core/ratio.js';
import type { FaultEffect, ReachEvidence } from '../drivers/types.js';
import type { StrengthFinding } from './types.js';

export interface FaultUnderTest {
  key: string;
  effect?: FaultEffect | undefined;
  /** How long it was (or is planned to be) live, in ms; undefined when open-ended (a kill lasts until the instance is back). */
  liveMs?: number | undefined;
  counts?: ReachEvidence['counts'];
}

const ms = (value: number) => formatDuration(Math.round(value));

/** The journal writes Infinity as null: a black hole read back from JSON is still a black hole. */
function delayOf(effect: FaultEffect): number | undefined {
  const delay = effect.delayMs as number | null | undefined;
  return delay === null ? Number.POSITIVE_INFINITY : delay;
}

function isOutage(effect: FaultEffect): boolean {
  return effect.outage !== undefined || delayOf(effect) === Number.POSITIVE_INFINITY || (effect.failShare ?? 0) >= 1;
}

function noEffect(fault: FaultUnderTest): StrengthFinding {
  return { fault: fault.key, strong: null, summary: `${fault.key} declares no effect, so whether it could break the bound was not checked (judged on reach alone)` };
}

const PER_CONNECTION_HINT =
  'use a share of 1 on one of several instances (the others answer the retries), or a fault that counts the requests it fails (the http fault proxy)';

function unconfirmable(fault: FaultUnderTest, share: number): StrengthFinding {
  return {
    fault: fault.key,
    strong: false,
    summary: `${fault.key} fails ${formatRatio(share)} of connections, drawn per connection: a caller that reuses its connections may meet it on no request at all, and nothing counted the requests it failed`,
    hint: PER_CONNECTION_HINT,
  };
}

export function timeoutsStrength(fault: FaultUnderTest, bounds: Record<string, number | undefined>): StrengthFinding {
  const effect = fault.effect;
  if (!effect) return noEffect(fault);
  const declared = Object.entries(bounds).filter((entry): entry is [string, number] => entry[1] !== undefined);
  const [boundName, bound] = declared.reduce((a, b) => (b[1] < a[1] ? b : a));
  const delay = delayOf(effect);
  if (effect.outage === 'black-hole' || delay === Number.POSITIVE_INFINITY) {
    return { fault: fault.key, strong: true, summary: `${fault.key} black-holes requests: without a timeout they hang past ${boundName} ≤ ${ms(bound)}` };
  }
  if (delay !== undefined && delay > bound) {
    return { fault: fault.key, strong: true, summary: `${fault.key} adds ${ms(delay)} to each request it meets, more than ${boundName} ≤ ${ms(bound)}` };
  }
  if (delay !== undefined && delay > 0) {
    return {
      fault: fault.key,
      strong: false,
      summary: `${fault.key} adds ${ms(delay)}, no more than the smallest bound ${boundName} ≤ ${ms(bound)}: a system without timeouts would pass too`,
      hint: `make the delay longer than ${ms(bound)} (twice the bound is a clear test), or black-hole the dependency`,
    };
  }
  const what = effect.outage === 'refused' ? 'refuses connections, which fails at once' : 'fails requests without delaying them';
  return { fault: fault.key, strong: false, summary: `${fault.key} ${what}: it adds no delay, so it cannot test timeouts`, hint: 'use a latency fault longer than the bound, or a black hole (Toxiproxy timeout with timeout 0, SIGSTOP)' };
}

export function retriesStrength(fault: FaultUnderTest, errorRate: number): StrengthFinding {
  const counts = fault.counts;
  if (counts && counts.seen > 0) {
    const share = counts.faulted / counts.seen;
    const strong = share > errorRate;
    return {
      fault: fault.key,
      strong,
      summary: `${fault.key} failed ${counts.faulted} of ${counts.seen} requests (${formatRatio(share)}, counted), ${strong ? 'more' : 'no more'} than the bound ${formatRatio(errorRate)}`,
      ...(strong ? {} : { hint: `fail more than ${formatRatio(errorRate)} of the requests` }),
    };
  }
  const effect = fault.effect;
  if (!effect) return noEffect(fault);
  if (isOutage(effect)) return { fault: fault.key, strong: true, summary: `${fault.key} fails every request that meets it, more than the bound ${formatRatio(errorRate)}` };
  const share = effect.failShare;
  if (share === undefined) {
    return { fault: fault.key, strong: null, summary: `${fault.key} only delays requests: whether that fails any depends on the caller's timeouts, so its strength was not checked (judged on reach alone)` };
  }
  if (effect.perConnection && share < 1) return unconfirmable(fault, share);
  if (share <= errorRate) {
    return {
      fault: fault.key,
      strong: false,
      summary: `${fault.key} fails ${formatRatio(share)} of requests, no more than the bound ${formatRatio(errorRate)}: a system without retries would pass too`,
      hint: `fail more than ${formatRatio(errorRate)} of the requests (a share of 1 on one of several instances is the clearest test)`,
    };
  }
  return { fault: fault.key, strong: true, summary: `${fault.key} fails ${formatRatio(share)} of requests, more than the bound ${formatRatio(errorRate)}` };
}

export function failoverStrength(fault: FaultUnderTest, successRate: number, longestGap: number | undefined): StrengthFinding {
  const effect = fault.effect;
  if (!effect) return noEffect(fault);
  if (isOutage(effect)) {
    if (longestGap === undefined) return { fault: fault.key, strong: true, summary: `${fault.key} is an outage of its target` };
    if (fault.liveMs === undefined) {
      return { fault: fault.key, strong: null, summary: `${fault.key} is an outage that lasts until its target is back, which the fault cannot say: whether it outlasted the allowed gap ${ms(longestGap)} was not checked` };
    }
    if (fault.liveMs <= longestGap) {
      return {
        fault: fault.key,
        strong: false,
        summary: `${fault.key} lasted ${ms(fault.liveMs)}, no longer than the allowed gap ${ms(longestGap)}: a system without failover would stay within it`,
        hint: `make the outage last longer than longestGap (${ms(longestGap)}); three times as long is a clear test`,
      };
    }
    return { fault: fault.key, strong: true, summary: `${fault.key} is an outage of ${ms(fault.liveMs)}, longer than the allowed gap ${ms(longestGap)}` };
  }
  const share = effect.failShare;
  if (share === undefined) {
    return { fault: fault.key, strong: false, summary: `${fault.key} only delays its target, which is no outage: it cannot test failover`, hint: 'stop, kill, black-hole or refuse one instance' };
  }
  if (effect.perConnection && share < 1) return unconfirmable(fault, share);
  if (1 - share >= successRate) {
    return {
      fault: fault.key,
      strong: false,
      summary: `${fault.key} fails ${formatRatio(share)} of requests: even without failover ${formatRatio(1 - share)} succeed, not under the bound ${formatRatio(successRate)}`,
      hint: 'take the instance out entirely (stop, kill, black hole, or a share of 1)',
    };
  }
  return { fault: fault.key, strong: true, summary: `${fault.key} fails ${formatRatio(share)} of requests: without failover the success rate falls under ${formatRatio(successRate)}` };
}
