// `faultline report` on journals edited into any shape: every one is rendered (exit 0) or refused
// with exit 2 and the file named, never an internal error. The journals are the report fixtures with
// one to three values anywhere in them replaced by a value of another type.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_FORMATS } from './report-formats.js';
import { reportCommand } from './report.js';
import { reportError } from './errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'report', '__fixtures__');
const SEED = process.env.FAULTLINE_FUZZ_SEED === undefined ? Date.now() ^ (Math.random() * 0x100000000) : Number(process.env.FAULTLINE_FUZZ_SEED);
const dir = mkdtempSync(join(tmpdir(), 'faultline-report-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bases = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.json'))
  .map((name) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as unknown);

/** Every path to a value inside a document. */
function paths(node: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (prefix.length > 0) out.push(prefix);
  if (node && typeof node === 'object') for (const [key, value] of Object.entries(node)) paths(value, [...prefix, Array.isArray(node) ? Number(key) : key], out);
  return out;
}

const strange = fc.constantFrom<unknown>(null, '', 'x', 0, -1, 1e308, true, [], {}, [null], { a: 1 }, -1e9, 2 ** 53, '<script>', '\u0000');
const edit = fc.record({ base: fc.nat(bases.length - 1), picks: fc.array(fc.tuple(fc.nat(), strange), { minLength: 1, maxLength: 3 }), format: fc.constantFrom(...REPORT_FORMATS) });

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

describe('faultline report on edited journals', () => {
  it(`renders each or refuses it with exit 2, never an internal error (seed ${SEED})`, async () => {
    let index = 0;
    await fc.assert(
      fc.asyncProperty(edit, async ({ base, picks, format }) => {
        const doc = structuredClone(bases[base]) as Record<string, unknown>;
        const all = paths(doc);
        for (const [at, value] of picks) {
          const path = all[at % all.length]!;
          let parent = doc as Record<string | number, unknown> | undefined;
          for (const key of path.slice(0, -1)) parent = parent?.[key] as Record<string | number, unknown> | undefined;
          if (parent && typeof parent === 'object') parent[path.at(-1)!] = structuredClone(value);
        }
        const file = join(dir, `edited-${index++}.json`);
        writeFileSync(file, JSON.stringify(doc));
        const stdout = sink();
        const stderr = sink();
        const io = { stdout: stdout.stream, stderr: stderr.stream, env: { NO_COLOR: '1' }, cwd: dir };
        const code = await reportCommand([file], { format, output: join(dir, `out-${index}`) }, io).catch((error: unknown) => reportError(error, io));
        expect(stderr.text()).not.toMatch(/internal error/);
        expect([0, 2]).toContain(code);
        if (code === 2) expect(stderr.text()).toContain('edited-');
      }),
      { seed: SEED, numRuns: 400 },
    );
  }, 120_000);
});
