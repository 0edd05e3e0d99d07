// The experiment format: one zod schema for YAML and JSON files, exported as JSON Schema for editors.
// Driver arguments (`with`) and target settings are checked in a second pass against each driver's
// own schema (see validate.ts), so this file stays independent of which drivers exist.
import { z } from 'zod';
import { durationSchema, parseDuration } from '../core/duration.js';
import { ratioSchema } from '../core/ratio.js';
import { verdictsSchema } from '../verdicts/schema.js';
import { workloadSchema } from '../workload/schema.js';

const nameSchema = z.string().min(1).meta({ description: 'A readable name, shown in progress output and reports.' });
const idSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, 'expected an id of lower-case letters, digits, - and _, starting with a letter')
  .meta({ description: 'A short id; later steps read this step\'s output as ${steps.<id>.output.<field>}.' });
const argsSchema = z
  .record(z.string(), z.unknown())
  .meta({ description: 'Arguments of the driver entry; `faultline drivers` lists them.' });

const boundSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a number or a duration like 500ms, got "${value}"`, params: { hint: 'a bound is a number, or a duration (250ms, 2s, 1m) for times such as latency' } });
    return z.NEVER;
  }
  return ms;
});

const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** A tolerance on one output field: a bare value means "equals". */
export const matcherSchema = z.union([
  scalarSchema,
  z
    .strictObject({
      path: z.string().optional().meta({ description: 'JSONPath into the field\'s value, like $.items[0].id' }),
      equals: z.unknown().optional(),
      oneOf: z.array(z.unknown()).optional(),
      min: boundSchema.optional(),
      max: boundSchema.optional(),
      matches: z.string().optional().meta({ description: 'A regular expression the value (as text) must match.' }),
      contains: z.string().optional(),
      exists: z.boolean().optional(),
    })
    .meta({ description: 'A tolerance: equals, oneOf, a min/max range, a regex (matches), contains, exists; optionally at a JSONPath.' }),
]);
export type Matcher = z.output<typeof matcherSchema>;

export const expectSchema = z
  .record(z.string(), matcherSchema)
  .meta({ description: 'Tolerances keyed by output field, e.g. {status: 200, latency: {max: 500ms}}.' });

const untilSchema = z
  .strictObject({
    within: durationSchema.meta({ description: 'Give up after this long.' }),
    every: durationSchema.default(1000).meta({ description: 'Time between attempts.' }),
  })
  .meta({ description: 'Poll the probe until its tolerances are met; the time it took is recorded.' });

const pausesSchema = z.strictObject({ before: durationSchema.optional(), after: durationSchema.optional() });

const repeatSchema = z.strictObject({
  every: durationSchema.meta({ description: 'Time from one start to the next.' }),
  times: z.int().min(1).max(10_000).meta({ description: 'How many times in all.' }),
});

const common = {
  name: nameSchema.optional(),
  id: idSchema.optional(),
  with: argsSchema.optional(),
  timeout: durationSchema.optional().meta({ description: 'Longest the activity may run; it is stopped after.' }),
  pauses: pausesSchema.optional(),
};

export const probeSchema = z.strictObject({
  probe: z.string().meta({ description: 'driver.probe, e.g. http, tcp, command, process.running' }),
  ...common,
  expect: expectSchema.optional(),
  until: untilSchema.optional(),
});
export type ProbeSpec = z.output<typeof probeSchema>;

export const actionSchema = z.strictObject({
  action: z.string().meta({ description: 'driver.action, e.g. command, process.kill' }),
  ...common,
});
export type ActionSpec = z.output<typeof actionSchema>;

/** setup and teardown hold plain actions and probes (a probe with `until` waits for readiness). */
export const activitySchema = z.union([actionSchema, probeSchema]);

const stepKinds = ['fault', 'action', 'probe'] as const;

/** A method step: a fault (undone afterwards), a plain action or a probe, placed on the timeline by `at`. */
export const stepSchema = z
  .strictObject({
    fault: z.string().optional().meta({ description: 'driver.action to inject and later undo, e.g. process.stop' }),
    action: z.string().optional().meta({ description: 'driver.action to run once, not undone' }),
    probe: z.string().optional().meta({ description: 'driver.probe to assert during the method' }),
    ...common,
    at: durationSchema.default(0).meta({ description: 'Start offset from the beginning of the method.' }),
    after: idSchema.optional().meta({
      description: 'Id of an earlier method step: start only once it has finished (a fault: once it has taken effect), and not before `at`.',
    }),
    duration: durationSchema.optional().meta({ description: 'How long a fault stays before its undo; default: until the method ends.' }),
    ttl: durationSchema.optional().meta({ description: 'Longest a fault may stay applied, even if the run hangs or dies: the guardian undoes it then.' }),
    repeat: repeatSchema.optional().meta({ description: 'Run again at an interval: a probe sampling during a fault, a fault applied in bursts.' }),
    expect: expectSchema.optional(),
    until: untilSchema.optional(),
  })
  .superRefine((step, ctx) => {
    const kinds = stepKinds.filter((kind) => step[kind] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: kinds.length === 0 ? 'a step needs one of fault, action or probe' : `a step is one of fault, action or probe, not ${kinds.join(' and ')}`,
        params: {
          hint: kinds.length === 0 ? 'add fault: <driver.action>, action: <driver.action> or probe: <driver.probe>; `faultline drivers` lists them' : 'split it into one step for each',
        },
      });
      return;
    }
    const kind = kinds[0];
    if (kind !== 'fault') {
      if (step.duration !== undefined) ctx.addIssue({ code: 'custom', path: ['duration'], message: 'duration applies to faults only' });
      if (step.ttl !== undefined) ctx.addIssue({ code: 'custom', path: ['ttl'], message: 'ttl applies to faults only' });
    }
    if (kind !== 'probe') {
      for (const key of ['expect', 'until'] as const) {
        if (step[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to probes only` });
      }
    }
    if (step.repeat && step.duration !== undefined && step.duration >= step.repeat.every) {
      ctx.addIssue({ code: 'custom', path: ['duration'], message: 'a repeated fault must end before its next start: duration < repeat.every' });
    }
    if (kind === 'fault' && step.repeat && step.duration === undefined) {
      ctx.addIssue({ code: 'custom', path: ['duration'], message: 'a repeated fault needs a duration' });
    }
  });
export type StepSpec = z.output<typeof stepSchema>;

export const abortSchema = z.strictObject({
  probe: z.string().optional().meta({ description: 'A probe checked repeatedly; the run aborts after `failures` consecutive misses.' }),
  workload: z
    .strictObject({
      errorRate: ratioSchema.meta({ description: 'Abort when the share of failed requests over `over` exceeds this.' }),
      over: durationSchema.default(5000).meta({ description: 'The trailing span the error rate is measured over (whole seconds).' }),
      minRequests: z.int().min(1).default(10).meta({ description: 'Not judged on fewer requests than this.' }),
    })
    .optional()
    .meta({ description: 'A condition on the workload\'s own figures, e.g. error rate over 50% for 5s.' }),
  name: nameSchema.optional(),
  with: argsSchema.optional(),
  expect: expectSchema.optional(),
  every: durationSchema.default(1000).meta({ description: 'How often the condition is checked while faults are live.' }),
  failures: z.int().min(1).default(1).meta({ description: 'Consecutive misses that trip the abort.' }),
  timeout: durationSchema.optional(),
  while: z.enum(['faults', 'method']).optional().meta({
    description: 'When a probe condition is polled: only while faults are live (faults), or for the whole method (method). Default: method for a prometheus probe, faults for the others.',
  }),
  onError: z.enum(['abort', 'ignore']).optional().meta({
    description: 'A monitor that cannot be reached (Prometheus down, an HTTP monitor refusing connections): abort counts it as a miss (default), ignore skips the check.',
  }),
}).superRefine((condition, ctx) => {
  if ((condition.probe === undefined) === (condition.workload === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['probe'], message: 'an abort condition needs exactly one of probe or workload' });
  }
  for (const key of ['while', 'onError'] as const) {
    if (condition.workload !== undefined && condition[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to probe conditions only` });
  }
});
export type AbortSpec = z.output<typeof abortSchema>;
export type ProbeAbortSpec = AbortSpec & { probe: string };

export const NOTIFY_EVENTS = ['start', 'abort', 'end', 'verdict-change'] as const;

/** A webhook told about the run; a failing one never fails or slows the run (bounded, journaled). */
export const notifySchema = z.strictObject({
  name: nameSchema.optional().meta({ description: 'Shown in the journal instead of the URL, which may carry a secret.' }),
  url: z.string().min(1).meta({ description: 'Where to POST, e.g. ${secrets.slackWebhook}; never printed or journaled.' }),
  format: z.enum(['json', 'slack']).default('json').meta({ description: 'json: faultline\'s own body; slack: {text} for Slack-compatible incoming webhooks.' }),
  on: z.array(z.enum(NOTIFY_EVENTS)).min(1).default([...NOTIFY_EVENTS]).meta({
    description: 'Events to send: start, abort, end, verdict-change (a verdict or the status differs from the previous journal of this experiment); default all.',
  }),
  headers: z.record(z.string(), z.string()).optional(),
  timeout: durationSchema.default(5000).refine((ms) => ms <= 30_000, 'at most 30s: a webhook must not hold the run').meta({ description: 'Give up on the webhook after this long (default 5s, at most 30s).' }),
});
export type NotifySpec = z.output<typeof notifySchema>;

export const rollbackStrategies = ['default', 'always', 'never', 'deviated'] as const;
export type RollbackStrategy = (typeof rollbackStrategies)[number];

const secretSchema = z
  .strictObject({
    env: z.string().optional().meta({ description: 'Read from this environment variable.' }),
    file: z.string().optional().meta({ description: 'Read from this file (trailing newline removed).' }),
  })
  .refine((s) => (s.env === undefined) !== (s.file === undefined), 'a secret comes from exactly one of env or file');

export const experimentSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).meta({ description: 'Format version; 1.' }),
    title: z.string().min(1),
    description: z.string().optional(),
    tags: z.array(z.string()).optional(),
    vars: z.record(z.string(), z.unknown()).optional().meta({ description: 'Values for ${vars.name}; overridden by --var and --var-file.' }),
    secrets: z.record(z.string(), secretSchema).optional().meta({ description: 'Values for ${secrets.name}; never written to any output.' }),
    targets: z.record(z.string(), z.unknown()).optional().meta({ description: 'Per driver: connection settings and what it may touch.' }),
    settings: z
      .strictObject({
        timeout: durationSchema.optional().meta({ description: 'Bound on the whole run; faults are still undone.' }),
        ttl: durationSchema.optional().meta({ description: 'Longest any fault may stay applied, from the start of the run, even if it hangs or dies; default: the planned method plus 10m.' }),
        rollbackStrategy: z.enum(rollbackStrategies).optional(),
        ledgerDir: z.string().optional().meta({ description: 'Where the fault ledger lives; default .faultline' }),
        seed: z.int().optional().meta({ description: 'Seed for random target selection, so a run can be replayed.' }),
      })
      .optional(),
    setup: z.array(activitySchema).optional().meta({ description: 'Run first (start a system, wait for it). A failure is a run error.' }),
    hypothesis: z
      .strictObject({
        title: z.string().optional(),
        probes: z.array(probeSchema).min(1),
        continuous: z
          .strictObject({ every: durationSchema })
          .optional()
          .meta({ description: 'Also check the probes at this interval during the method.' }),
      })
      .optional()
      .meta({ description: 'The steady state: probes with tolerances, checked before and after the method.' }),
    method: z.array(stepSchema).min(1).meta({ description: 'Faults, actions and probes on a timeline.' }),
    rollbacks: z.array(actionSchema).optional(),
    workload: workloadSchema.optional(),
    verdicts: verdictsSchema.optional(),
    abort: z.array(abortSchema).optional().meta({ description: 'Conditions checked while faults are live; one that trips ends the run at once.' }),
    teardown: z.array(activitySchema).optional().meta({ description: 'Always run last, whatever happened.' }),
    notify: z.array(notifySchema).optional().meta({ description: 'Webhooks told when the run starts, aborts, ends, or its verdicts change.' }),
  })
  .meta({ title: 'faultline experiment', description: 'A chaos experiment run by faultline.' });

export type Experiment = z.output<typeof experimentSchema>;

/** The JSON Schema editors use for completion; `faultline schema` prints it. */
export function experimentJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(experimentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
