import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DriverRegistry } from '../drivers/registry.js';
import type { ActionDefinition, Driver } from '../drivers/types.js';
import { loadExperiment } from './load.js';

/** A driver whose actions declare their effect like Toxiproxy's; `counted` also reads its counters. */
const action = (effect: ActionDefinition['effect'], counted = true): ActionDefinition => ({
  description: 'a fault',
  args: z.strictObject({ ms: z.int().optional(), toxicity: z.number().optional() }),
  reversible: true,
  prepare: async () => ({ targets: [], undo: null }),
  apply: async () => ({}),
  effect,
  ...(counted ? { readReach: async () => ({ counters: {} }) } : {}),
});
const fake: Driver = {
  name: 'fake',
  description: 'fake driver for warning tests',
  actions: {
    latency: action((a: { ms?: number }) => ({ delayMs: a.ms ?? 0 })),
    reset: action((a: { toxicity?: number }) => ({ failShare: a.toxicity ?? 1, perConnection: true })),
    blind: action(undefined, false),
    note: { ...action(undefined, false), reversible: false },
  },
  probes: {},
  undos: {},
};
const registry = new DriverRegistry([fake]);

async function warningsOf(method: string, verdicts: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-warnings-'));
  const file = join(dir, 'e.yaml');
  await writeFile(file, `version: 1\ntitle: t\nworkload: { url: "http://127.0.0.1:1/", rate: 10 }\nmethod:\n${method}\nverdicts:\n${verdicts}\n`);
  const loaded = await loadExperiment(file, { cwd: dir, env: {}, registry });
  return (loaded.warnings ?? []).map((w) => `${w.line}:${w.column} ${w.path}: ${w.message}`);
}

describe('warnings before the run', () => {
  it('a delay under the latency bound cannot test timeouts', async () => {
    const weak = await warningsOf('  - { id: slow, fault: fake.latency, with: { ms: 200 }, duration: 3s }', '  timeouts: { latency: { p99: 1500ms } }');
    expect(weak).toEqual(['5:5 method[0]: the timeouts verdict cannot pass on this fault: slow adds 200ms, no more than the smallest bound p99 ≤ 1.5s: a system without timeouts would pass too']);
    expect(await warningsOf('  - { id: slow, fault: fake.latency, with: { ms: 3000 }, duration: 3s }', '  timeouts: { latency: { p99: 1500ms } }')).toEqual([]);
  });

  it('a share of connections below 1 cannot be confirmed for retries; an outage shorter than the gap cannot test failover', async () => {
    expect(await warningsOf('  - { id: flaky, fault: fake.reset, with: { toxicity: 0.2 }, duration: 3s }', '  retries: { faults: [flaky], errorRate: 6% }')).toEqual([
      expect.stringMatching(/^5:5 method\[0\]: the retries verdict cannot pass on this fault: flaky fails 20% of connections, drawn per connection/),
    ]);
    expect(await warningsOf('  - { id: down, fault: fake.reset, with: { toxicity: 1 }, duration: 500ms }', '  failover: { successRate: 90%, longestGap: 1s }')).toEqual([
      expect.stringMatching(/down lasted 500ms, no longer than the allowed gap 1s/),
    ]);
  });

  it('a fault whose driver cannot tell its reach is named once; arguments read from other steps are not judged', async () => {
    const blind = await warningsOf('  - { id: b, fault: fake.blind, duration: 3s }', '  timeouts: { latency: { p99: 1s } }\n  retries: { errorRate: 1% }');
    expect(blind).toEqual([expect.stringMatching(/fake.blind cannot tell whether b reaches the workload's requests: the timeouts verdict passes only if the traffic shows it/)]);
    const method = '  - { id: x, action: fake.note }\n  - { id: s, fault: fake.latency, with: { ms: "${steps.x.output.ms}" }, at: 1s, duration: 3s }';
    expect(await warningsOf(method, '  timeouts: { faults: [s], latency: { p99: 1s } }')).toEqual([]);
  });
});
