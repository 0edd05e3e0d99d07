// The `verdicts` section of an experiment: which resilience mechanisms the run judges, under which
// faults, against which bounds.
import { z } from 'zod';
import { durationSchema } from '../core/duration.js';
import { ratioSchema } from '../core/ratio.js';

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

export const verdictsSchema = z
  .strictObject({
    timeouts: z
      .strictObject({ ...trafficCommon, latency: latencyBoundsSchema })
      .optional()
      .meta({ description: 'While a dependency is slow or black-holed, user-facing latency stays under the bounds: calls were cut off, not left hanging.' }),
    retries: z
      .strictObject({ ...trafficCommon, errorRate: ratioSchema.meta({ description: 'Highest acceptable share of failed requests in each judged window.' }) })
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
        probe: z.string().min(1).meta({
          description: 'Id of the method probe that waits for the lost instance (with `until`), or that outputs recovered/recoveryMs (docker, kubernetes).',
        }),
        within: durationSchema.meta({ description: 'Recovery objective: the time from the fault to the instance being back.' }),
        steadyState: z.boolean().default(true).meta({ description: 'Also require the steady state to hold after the method.' }),
      })
      .optional()
      .meta({ description: 'After a kill or crash the lost instance is back and the steady state returns within the objective.' }),
  })
  .meta({ description: 'Resilience verdicts: each is pass, fail or not-exercised, with its evidence.' });

export type VerdictsSpec = z.output<typeof verdictsSchema>;
