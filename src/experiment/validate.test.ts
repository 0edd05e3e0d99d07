import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DriverRegistry } from '../drivers/registry.js';
import type { Driver } from '../drivers/types.js';
import { experimentSchema, type Experiment } from './schema.js';
import { describeSchemaIssues, formatPath, validateAgainstDrivers } from './validate.js';

const toxiproxy: Driver = {
  name: 'toxiproxy',
  description: 'fake toxiproxy',
  target: z.strictObject({ url: z.string(), allow: z.array(z.string()).optional() }),
  actions: {
    latency: {
      description: 'adds latency',
      args: z.strictObject({ proxy: z.string(), latency: z.string(), jitter: z.int().optional() }),
      reversible: true,
      prepare: async () => ({ targets: [], undo: null }),
      apply: async () => ({}),
    },
    reset: {
      description: 'resets every proxy',
      args: z.strictObject({}),
      reversible: false,
      prepare: async () => ({ targets: [], undo: null }),
      apply: async () => ({}),
    },
  },
  probes: {
    proxies: { description: 'lists proxies', args: z.strictObject({}), outputs: {}, run: async () => ({}) },
  },
  undos: {},
};
const registry = new DriverRegistry([toxiproxy]);

function experiment(partial: Record<string, unknown>): Experiment {
  return experimentSchema.parse({ version: 1, title: 't', method: [{ probe: 'toxiproxy.proxies' }], ...partial });
}

describe('formatPath', () => {
  it('writes paths as users read them', () => {
    expect(formatPath(['method', 2, 'with', 'jitter'])).toBe('method[2].with.jitter');
    expect(formatPath(['targets', 'my.host'])).toBe('targets["my.host"]');
    expect(formatPath([])).toBe('');
  });
});

describe('describeSchemaIssues', () => {
  it('points unknown keys at the key, with the closest known key', () => {
    const [issue] = describeSchemaIssues(experimentSchema, { version: 1, title: 't', method: [{ probe: 'x', expct: {} }] }, []);
    expect(issue).toMatchObject({ path: ['method', 0, 'expct'], at: 'key', message: 'unknown key "expct"' });
    expect(issue?.hint).toMatch(/^did you mean expect\? Known keys: fault, action, probe, /);
  });

  it('suggests keys of the union branch that was meant', () => {
    const issues = describeSchemaIssues(experimentSchema, { version: 1, title: 't', method: [{ probe: 'x' }], setup: [{ action: 'a', wiht: {} }] }, []);
    expect(issues).toEqual([expect.objectContaining({ path: ['setup', 0, 'wiht'], hint: expect.stringContaining('did you mean with?') })]);
  });

  it('lists the allowed values of an enum or literal', () => {
    const issues = describeSchemaIssues(experimentSchema, { version: 2, title: 't', method: [{ probe: 'x' }], settings: { rollbackStrategy: 'alway' } }, []);
    expect(issues.map((i) => i.message)).toEqual([
      'expected 1, found 2',
      'expected one of "default", "always", "never", "deviated", found "alway"',
    ]);
    expect(issues[1]?.hint).toBe('did you mean "always"?');
  });

  it('says what is missing and what was found', () => {
    const messages = describeSchemaIssues(experimentSchema, { version: 1, tags: 'x', method: [] }, []).map((i) => i.message);
    expect(messages).toEqual(['missing title: expected text', 'expected a list, found "x"', 'expected at least 1 item, found 0']);
  });

  it('explains the branch of a tolerance that was meant', () => {
    const issues = describeSchemaIssues(experimentSchema, { version: 1, title: 't', method: [{ probe: 'p', expect: { latency: { max: '5x' } } }] }, []);
    expect(issues).toEqual([
      {
        path: ['method', 0, 'expect', 'latency', 'max'],
        message: 'expected a number or a duration like 500ms, got "5x"',
        hint: 'a bound is a number, or a duration (250ms, 2s, 1m) for times such as latency',
      },
    ]);
    const list = describeSchemaIssues(experimentSchema, { version: 1, title: 't', method: [{ probe: 'p', expect: { status: [200] } }] }, []);
    expect(list[0]?.message).toBe('expected text, a number, true or false, null or a mapping, found a list of 1');
  });
});

describe('validateAgainstDrivers', () => {
  it('accepts a valid experiment', () => {
    const valid = experiment({
      targets: { toxiproxy: { url: 'http://localhost:8474' } },
      method: [{ fault: 'toxiproxy.latency', with: { proxy: 'db', latency: '1s' } }],
    });
    expect(validateAgainstDrivers(valid, registry)).toEqual([]);
  });

  it('reports unknown entries with a did-you-mean hint', () => {
    const issues = validateAgainstDrivers(experiment({ method: [{ fault: 'toxiproxy.latncy' }] }), registry);
    expect(issues).toEqual([
      { path: ['method', 0, 'fault'], message: 'unknown action "toxiproxy.latncy"', hint: expect.stringContaining('did you mean toxiproxy.latency?') },
    ]);
  });

  it('says when a probe is used as an action', () => {
    const [issue] = validateAgainstDrivers(experiment({ method: [{ action: 'toxiproxy.proxies' }] }), registry);
    expect(issue?.hint).toBe('toxiproxy.proxies is a probe: write probe: toxiproxy.proxies');
  });

  it('takes an irreversible action as a fault, but not for a duration', () => {
    expect(validateAgainstDrivers(experiment({ method: [{ fault: 'toxiproxy.reset' }] }), registry)).toEqual([]);
    const [issue] = validateAgainstDrivers(experiment({ method: [{ fault: 'toxiproxy.reset', duration: '5s' }] }), registry);
    expect(issue).toMatchObject({ path: ['method', 0, 'duration'], message: 'toxiproxy.reset has no undo, so it cannot last for a duration' });
  });

  it('refuses a reversible action run as a plain action, which nothing would undo', () => {
    const [issue] = validateAgainstDrivers(experiment({ method: [{ action: 'toxiproxy.latency', with: { proxy: 'db', latency: '1s' } }] }), registry);
    expect(issue).toMatchObject({ path: ['method', 0, 'action'], message: 'toxiproxy.latency would be left applied: as an action nothing undoes it' });
    expect(issue?.hint).toContain('fault: toxiproxy.latency');
  });

  it('validates arguments by path in every section', () => {
    const issues = validateAgainstDrivers(
      experiment({
        setup: [{ action: 'toxiproxy.latency', with: { proxy: 'db' } }],
        method: [{ fault: 'toxiproxy.latency', with: { proxy: 'db', latency: '1s', jitter: 'lots' } }],
        rollbacks: [{ action: 'toxiproxy.reset', with: { everything: true } }],
        abort: [{ probe: 'toxiproxy.proxies', with: { x: 1 } }],
      }),
      registry,
    );
    expect(issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      'setup[0].action: toxiproxy.latency would be left applied: as an action nothing undoes it',
      'setup[0].with.latency: missing latency: expected text',
      'abort[0].with.x: unknown key "x"',
      'method[0].with.jitter: expected a number, found "lots"',
      'rollbacks[0].with.everything: unknown key "everything"',
    ]);
  });

  it('leaves arguments holding ${steps.…} to run time', () => {
    const issues = validateAgainstDrivers(
      experiment({
        method: [
          { id: 'first', probe: 'toxiproxy.proxies' },
          { fault: 'toxiproxy.latency', with: { proxy: 'db', latency: '1s', jitter: '${steps.first.output.jitter}' } },
        ],
      }),
      registry,
    );
    expect(issues).toEqual([]);
  });

  it('checks targets against the driver\'s schema, and unknown drivers', () => {
    const issues = validateAgainstDrivers(experiment({ targets: { toxiproxy: { ur: 'x' }, toxiproxi: {} } }), registry);
    expect(issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      'targets.toxiproxy.url: missing url: expected text',
      'targets.toxiproxy.ur: unknown key "ur"',
      'targets.toxiproxi: unknown driver "toxiproxi" in targets',
    ]);
    expect(issues[2]).toMatchObject({ at: 'key', hint: 'did you mean toxiproxy? Known drivers: toxiproxy' });
  });

  it('requires unique step ids and references to earlier steps', () => {
    const issues = validateAgainstDrivers(
      experiment({
        setup: [{ id: 'ready', probe: 'toxiproxy.proxies', with: {} }],
        method: [
          { id: 'early', probe: 'toxiproxy.proxies', at: '1s', expect: { n: '${steps.late.output.n}' } },
          { id: 'late', probe: 'toxiproxy.proxies', at: '5s', expect: { n: '${steps.ready.output.n}' } },
          { id: 'ready', probe: 'toxiproxy.proxies', at: 0, expect: { n: '${steps.erly.output.n}' } },
          { probe: 'toxiproxy.proxies', at: 0, expect: { n: '${steps.late.output.n}' } },
        ],
      }),
      registry,
    );
    expect(issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      'method[2].id: step id "ready" is already used by setup[0]',
      'method[0].expect.n: ${steps.late.output.n} refers to step "late" (method[1]), which has not run yet at this point',
      'method[2].expect.n: ${steps.erly.output.n} refers to no step: no step has id "erly"',
      'method[3].expect.n: ${steps.late.output.n} refers to step "late", which starts at 5s, after this step (0ms)',
    ]);
    expect(issues[2]?.hint).toBe('did you mean steps.early?');
  });
});
