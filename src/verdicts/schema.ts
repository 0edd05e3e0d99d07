// The `verdicts` section of an experiment: which resilience mechanisms the run judges, under which
// faults, against which bounds.
import { z } from 'zod';
import { durationSchema } from '../core/duration.js';
import { ratioSchema } from '../core/ratio.js';
import { boundsShape, emptyShape } from '../core/series-bounds.js';

const faultsSchema = z
  .array(z.string().min(1))
  .min(1)
  .optional()
  .meta({ description: 'Ids of the fault steps whose windows are judged; default: every fault of the method.' });

const common = {
  title: z.string().min(1).optional().meta({ description: 'A readable name for reports.' }),
  faults: faultsSchema,
};

const trafficCommon = {
  ...common,
  minRequests: z.int().min(1).default(10).meta({ description: 'Fewer requests than this in the judged windows: not exercised.' }),
};

export const latencyBoundsSchema = z
  .strictObject({
    p50: durationSchema.optional(),
    p90: durationSchema.optional(),
    p95: durationSchema.optional(),
    p99: durationSchema.optional(),
    max: durationSchema.optional(),
  })
  .refine((bounds) => Object.keys(bounds).length > 0, 'give at least one of p50, p90, p95, p99, max')
  .meta({ description: 'Upper bounds on workload latency in each judged window.' });

/**
 * A verdict read from Prometheus instead of (or besides) the workload: a PromQL query whose every
 * sample must stay within the bounds. The engine runs the queries after the method (over each fault's
 * window, or until the metric is back) and records them in the journal; the verdict is judged from there.
 */
const metricCommon = {
  query: z.string().min(1).meta({ description: 'The PromQL expression, read through targets.prometheus.' }),
  ...boundsShape,
  ...emptyShape,
  step: durationSchema.default(1000).meta({ description: 'Resolution of the range query (default 1s; no finer than the scrape interval helps).' }),
};

export const retriesMetricSchema = z
  .strictObject({
    ...metricCommon,
    minSamples: z.int().min(1).default(3).meta({ description: 'Fewer samples than this in a fault window: not exercised.' }),
    reached: z
      .strictObject({ query: z.string().min(1), ...boundsShape })
      .optional()
      .meta({
        description:
          'Evidence the fault reached the traffic, read over the same window: a query that must meet its bounds at least once (e.g. failed backend calls, min: 1). Without it (or the driver\'s own evidence) the verdict cannot pass.',
      }),
  })
  .meta({ description: 'The error ratio (or any figure) from Prometheus, judged on every sample of each fault window.' });

export const selfHealingMetricSchema = z
  .strictObject(metricCommon)
  .meta({ description: 'A query that holds when the instance is back (e.g. up{job="api"} equals 1): the time from the fault to it holding again after it was lost.' });

export const verdictsSchema = z
  .strictObject({
    timeouts: z
      .strictObject({ ...trafficCommon, latency: latencyBoundsSchema })
      .optional()
      .meta({ description: 'While a dependency is slow or black-holed, user-facing latency stays under the bounds: calls were cut off, not left hanging.' }),
    retries: z
      .strictObject({
        ...trafficCommon,
        errorRate: ratioSchema.optional().meta({ description: 'Highest acceptable share of failed requests in each judged window.' }),
        metric: retriesMetricSchema.optional(),
      })
      .refine((spec) => spec.errorRate !== undefined || spec.metric !== undefined, { message: 'give errorRate (the workload), metric (Prometheus), or both', path: ['errorRate'] })
      .optional()
      .meta({ description: 'Under transient faults (resets, a share of failing calls) the user-facing error rate stays under the bound.' }),
    failover: z
      .strictObject({
        ...trafficCommon,
        successRate: ratioSchema.meta({ description: 'Lowest acceptable share of successful requests in each judged window.' }),
        longestGap: durationSchema.optional().meta({ description: 'Longest acceptable time without any successful answer.' }),
      })
      .optional()
      .meta({ description: 'While an instance or primary is down or cut off, the service keeps answering.' }),
    'self-healing': z
      .strictObject({
        ...common,
        probe: z.string().min(1).optional().meta({
          description: 'Id of the method probe that waits for the lost instance (with `until`), or that outputs recovered/recoveryMs (docker, kubernetes).',
        }),
        metric: selfHealingMetricSchema.optional(),
        within: durationSchema.meta({ description: 'Recovery objective: the time from the fault to the instance being back.' }),
        steadyState: z.boolean().default(true).meta({ description: 'Also require the steady state to hold after the method.' }),
      })
      .refine((spec) => spec.probe !== undefined || spec.metric !== undefined, { message: 'give probe (a method probe), metric (Prometheus), or both', path: ['probe'] })
      .optional()
      .meta({ description: 'After a kill or crash the lost instance is back and the steady state returns within the objective.' }),
  })
  .meta({ description: 'Resilience verdicts: each is pass, fail or not-exercised, with its evidence.' });

export type VerdictsSpec = z.output<typeof verdictsSchema>;
