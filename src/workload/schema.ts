// The `workload` section of an experiment: HTTP traffic driven at the target for the whole method.
import { z } from 'zod';
import { durationSchema } from '../core/duration.js';

const statusRuleSchema = z
  .union([z.int().min(100).max(599), z.string().regex(/^[1-5]xx$/, 'expected a status code like 200 or a class like 2xx')])
  .meta({ description: 'A status code (200) or a class (2xx).' });

export const workloadSchema = z
  .strictObject({
    url: z.url({ protocol: /^https?$/ }).meta({ description: 'Where the requests go, e.g. http://127.0.0.1:8080/api/items' }),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().optional().meta({ description: 'Request body, sent as is.' }),
    timeout: durationSchema.default(5000).meta({ description: 'Per-request timeout: a request still unanswered then counts as `timeout`.' }),
    rate: z.number().positive().max(1_000_000).optional().meta({
      description: 'Open model: requests started per second, whether or not earlier ones answered; latency counts from when each was due.',
    }),
    maxInFlight: z.int().positive().default(1000).meta({ description: 'Open model: requests in flight at most; one due beyond that counts as `dropped` (an error).' }),
    concurrency: z.int().positive().max(10_000).optional().meta({ description: 'Closed model: users, each sending its next request when the last one ended.' }),
    replicas: z.int().min(1).max(64).default(1).meta({
      description:
        'Worker processes driving the traffic (1–64). Each sends 1/N of `rate` (or of `concurrency` and `maxInFlight`) at the same url on the run\'s clock; their histograms and per-second series are merged exactly into the one journal. 1 (the default) drives it from the run\'s own process.',
    }),
    before: durationSchema.default(1000).meta({ description: 'Traffic starts this long before the method: the baseline window.' }),
    after: durationSchema.default(1000).meta({ description: 'Traffic goes on this long after the method and the undo of every fault: the recovery window.' }),
    success: z
      .array(statusRuleSchema)
      .min(1)
      .optional()
      .meta({ description: 'Statuses that count as success; default 2xx and 3xx.' }),
  })
  .superRefine((spec, ctx) => {
    if ((spec.rate === undefined) === (spec.concurrency === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['rate'], message: 'give exactly one of rate (open model) or concurrency (closed model)' });
    }
    // Every worker gets a share of at least one: a worker with nothing to send would only skew the split.
    const replicas = spec.replicas ?? 1;
    for (const field of ['rate', 'concurrency', 'maxInFlight'] as const) {
      const value = spec[field];
      if (replicas > 1 && value !== undefined && value < replicas) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `${field} ${value} is less than replicas ${replicas}: each worker needs at least 1`,
          params: { hint: `lower replicas to ${value} or less, or raise ${field} to ${replicas} or more` },
        });
      }
    }
  })
  .meta({ description: 'HTTP traffic driven at the target through the method, measured per window (baseline, each fault, recovery).' });

export type WorkloadSpec = z.output<typeof workloadSchema>;
