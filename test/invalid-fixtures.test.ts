// Each file in fixtures/invalid/ is one common mistake; its first line (or, for JSON, a sidecar
// name.json.expect) says which problem must be reported and where:
//   # expect: <line>:<column> <path>: <substring of the message>
//   # hint: <substring of the hint>          (optional, second line)
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError } from '../src/core/errors.js';
import { DriverRegistry } from '../src/drivers/registry.js';
import type { Driver } from '../src/drivers/types.js';
import { loadExperiment } from '../src/experiment/load.js';

const dir = fileURLToPath(new URL('../fixtures/invalid/', import.meta.url));
const files = (await readdir(dir)).filter((name) => !name.endsWith('.expect')).sort();

/** Stand-ins for the real drivers: only names, reversibility and argument schemas matter here. */
function fakeDriver(name: string, actions: Record<string, { reversible: boolean; args: z.ZodType }>, probes: Record<string, z.ZodType>, defaultProbe?: string): Driver {
  return {
    name,
    description: `fake ${name}`,
    ...(defaultProbe ? { defaultProbe } : {}),
    actions: Object.fromEntries(
      Object.entries(actions).map(([entry, { reversible, args }]) => [
        entry,
        { description: entry, args, reversible, prepare: async () => ({ targets: [], undo: null }), apply: async () => ({}) },
      ]),
    ),
    probes: Object.fromEntries(Object.entries(probes).map(([entry, args]) => [entry, { description: entry, args, outputs: {}, run: async () => ({}) }])),
    undos: {},
  };
}

const processSelector = { pid: z.union([z.int(), z.string()]).optional(), port: z.int().optional() };
const registry = new DriverRegistry([
  fakeDriver(
    'process',
    {
      kill: { reversible: false, args: z.strictObject({ ...processSelector, signal: z.string().optional() }) },
      stop: { reversible: true, args: z.strictObject(processSelector) },
    },
    { running: z.strictObject(processSelector) },
  ),
  fakeDriver('http', {}, { get: z.strictObject({ url: z.string().optional(), headers: z.record(z.string(), z.string()).optional() }) }, 'get'),
  fakeDriver('toxiproxy', { latency: { reversible: true, args: z.strictObject({ proxy: z.string(), latency: z.string() }) } }, {}),
]);

interface Expectation {
  line: number;
  column: number;
  path: string;
  message: string;
  hint: string | undefined;
}

async function expectationFor(name: string): Promise<Expectation> {
  const file = name.endsWith('.json') ? `${name}.expect` : name;
  const [first = '', second = ''] = (await readFile(join(dir, file), 'utf8')).split('\n');
  const match = /^# expect: (\d+):(\d+) (\S*): (.+)$/.exec(first);
  if (!match) throw new Error(`${file}: the first line must be "# expect: <line>:<column> <path>: <message>"`);
  return {
    line: Number(match[1]),
    column: Number(match[2]),
    path: match[3]!,
    message: match[4]!,
    hint: /^# hint: (.+)$/.exec(second)?.[1],
  };
}

describe('fixtures/invalid', () => {
  it('holds a dozen or more common mistakes', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });

  it.each(files)('%s is reported at its line and column', async (name) => {
    const expected = await expectationFor(name);
    const file = join(dir, name);
    const error = await loadExperiment(name, { cwd: dir, env: {}, registry }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    const problems = (error as InvalidInputError).problems;
    const problem = problems.find((p) => p.line === expected.line && p.column === expected.column && p.message.includes(expected.message));
    expect(problem, `expected ${expected.line}:${expected.column} "${expected.message}" among:\n${problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n')}`).toBeDefined();
    expect(problem!.file).toBe(file);
    expect(problem!.path).toBe(expected.path);
    if (expected.hint) expect(problem!.hint).toContain(expected.hint);
  });
});
