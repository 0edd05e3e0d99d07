// Fuzzing the experiment loader: thousands of hostile files (see hostile-experiments.ts) go through
// loadExperiment, the function `faultline validate` and `run` use. Each must be valid, or be refused
// with InvalidInputError (exit code 2) whose problems carry a line, a column and a message; nothing
// may throw anything else or take over 2 s of CPU. Every failure is collected, grouped by cause,
// saved to a file and printed with the seed and path that replay it:
//   npm run fuzz                                     # 100,000 inputs (FAULTLINE_FUZZ_RUNS)
//   FAULTLINE_FUZZ_SEED=<seed> FAULTLINE_FUZZ_PATH=<path> npm run fuzz    # one input again
// The CI suite runs a few thousand (FAULTLINE_FUZZ_RUNS, default 2,000) with a fresh seed it prints.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultlineError, InvalidInputError } from '../../src/core/errors.js';
import { createDefaultRegistry } from '../../src/drivers/builtin.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { REPO_ROOT } from '../support/cli.js';
import { ENV, SECRET_FILE, hostileInput, loadBases, renderInput, type HostileInput } from './hostile-experiments.js';

const RUNS = Number(process.env.FAULTLINE_FUZZ_RUNS ?? 2000);
const SEED = process.env.FAULTLINE_FUZZ_SEED === undefined ? Date.now() ^ (Math.random() * 0x100000000) : Number(process.env.FAULTLINE_FUZZ_SEED);
const PATH = process.env.FAULTLINE_FUZZ_PATH;
/** The bound on one input, from the issue: generous, so that only pathological blowup trips it. */
const CPU_LIMIT_MS = 2000;

const bases = loadBases(REPO_ROOT);
const registry = await createDefaultRegistry();

interface Failure {
  cause: string;
  run: number;
  detail: string;
  input: HostileInput;
  bytes: Buffer;
  ext: string;
  base: string;
}

/** "TypeError: x.filter is not a function at checkVerdicts": the same bug whatever the input's details. */
function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return `thrown ${typeof error}: ${String(error).slice(0, 80)}`;
  const frame = (error.stack ?? '')
    .split('\n')
    .slice(1)
    .map((line) => /at (?:async )?(?:(\S+) \()?[^()]*?\/src\/([^:)]+)/.exec(line))
    .find((match) => match !== null);
  const message = error.message.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 120);
  return `${error.name}: ${message}${frame ? ` at ${frame[1] ?? '(anonymous)'} (src/${frame[2]})` : ''}`;
}

/** Anything but plain data in a loaded experiment (a function's source, a Date) leaked from the parser or substitution. */
function foreignValue(value: unknown, path = '', seen = new Set<unknown>()): string | undefined {
  if (value === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof value)) return undefined;
  if (typeof value !== 'object') return `${path || 'the document'} holds a ${typeof value}`;
  if (seen.has(value)) return `${path} refers back to itself`;
  seen.add(value);
  const prototype = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return `${path} is a ${prototype?.constructor?.name ?? 'foreign object'}`;
  for (const [key, item] of Object.entries(value)) {
    const found = foreignValue(item, `${path}.${key}`, seen);
    if (found) return found;
  }
  seen.delete(value);
  return undefined;
}

let dir = '';
const failures: Failure[] = [];
let slowest = { cpuMs: 0, wallMs: 0, run: -1, base: '' };
let outcomes = { valid: 0, invalid: 0 };

async function check(input: HostileInput, run: number): Promise<void> {
  const { bytes, ext, base } = renderInput(input, bases);
  const file = join(dir, `input.${ext}`);
  await writeFile(file, bytes);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  let error: unknown;
  let loaded;
  try {
    loaded = await loadExperiment(file, { cwd: dir, env: ENV, registry });
  } catch (caught) {
    error = caught;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const wallMs = performance.now() - wallBefore;
  if (cpuMs > slowest.cpuMs) slowest = { cpuMs, wallMs, run, base };

  const fail = (cause: string, detail: string) => {
    // A long run says what it found as it finds it, not only at the end.
    if (!failures.some((failure) => failure.cause === cause)) console.log(`fuzz: new failure at path ${run}: ${cause}`);
    failures.push({ cause, run, detail, input, bytes, ext, base });
  };
  if (cpuMs > CPU_LIMIT_MS) fail(`slow: over ${CPU_LIMIT_MS} ms of CPU`, `${cpuMs.toFixed(0)} ms CPU, ${wallMs.toFixed(0)} ms wall`);
  if (error === undefined) {
    outcomes.valid++;
    const foreign = foreignValue(loaded!.experiment);
    if (foreign) fail('accepted a value that is not plain data', foreign);
    return;
  }
  outcomes.invalid++;
  if (!(error instanceof InvalidInputError)) {
    const exit = error instanceof FaultlineError ? ` (exit ${error.exit})` : '';
    fail(`${error instanceof FaultlineError ? 'FaultlineError without problems' : 'internal error'}: ${causeOf(error)}${exit}`, error instanceof Error ? (error.stack ?? error.message) : String(error));
    return;
  }
  if (error.exit !== 'invalidInput') fail('InvalidInputError with the wrong exit code', error.exit);
  if (error.problems.length === 0) fail('InvalidInputError without problems', error.message);
  // Each refusal says how to fix it: at least one of its problems carries a hint.
  if (error.problems.length > 0 && !error.problems.some((problem) => problem.hint)) {
    const first = error.problems[0]!;
    fail(`refused without a hint: ${first.message.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 80)}`, error.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  }
  for (const problem of error.problems) {
    if (!(problem.line >= 1 && problem.column >= 1 && Number.isInteger(problem.line) && Number.isInteger(problem.column))) {
      fail('a problem without a line and column', JSON.stringify(problem).slice(0, 300));
    }
    if (typeof problem.message !== 'string' || problem.message.trim() === '') fail('a problem without a message', JSON.stringify(problem).slice(0, 300));
    if (problem.file !== file) fail('a problem in another file', problem.file);
  }
}

describe('the loader under hostile input', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'faultline-fuzz-'));
    await writeFile(join(dir, SECRET_FILE), 'file-secret\n');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`refuses or accepts every input cleanly and fast (${PATH ? `replaying path ${PATH}` : `${RUNS} inputs`}, seed ${SEED})`, { timeout: Math.max(120_000, RUNS * 200) }, async () => {
    console.log(`fuzz: seed ${SEED}, ${PATH ? `path ${PATH}` : `${RUNS} inputs`} (replay: FAULTLINE_FUZZ_SEED=${SEED} npm run fuzz)`);
    // Replaying a path runs that one input, under its own number.
    let run = PATH && /^\d+$/.test(PATH) ? Number(PATH) : 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(hostileInput, async (input) => {
        await check(input, run++);
        if (run % 10_000 === 0) console.log(`fuzz: ${run} inputs, ${failures.length} failing so far, slowest ${slowest.cpuMs.toFixed(0)} ms CPU`);
      }),
      { seed: SEED, numRuns: PATH ? 1 : RUNS, ...(PATH ? { path: PATH } : {}) },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: ${PATH ? 1 : run} inputs in ${seconds} s: ${outcomes.valid} valid, ${outcomes.invalid} refused; slowest ${slowest.cpuMs.toFixed(0)} ms CPU ` +
        `(${slowest.wallMs.toFixed(0)} ms wall, path ${slowest.run}, from ${slowest.base})`,
    );
    if (failures.length === 0) return;

    const saved = join(tmpdir(), `faultline-fuzz-failures-${SEED}`);
    await mkdir(saved, { recursive: true });
    const byCause = new Map<string, Failure[]>();
    for (const failure of failures) byCause.set(failure.cause, [...(byCause.get(failure.cause) ?? []), failure]);
    const report: string[] = [`${failures.length} failing inputs from ${byCause.size} causes (seed ${SEED}); the smallest of each is saved in ${saved}:`];
    for (const [cause, group] of byCause) {
      const smallest = group.reduce((a, b) => (b.bytes.length < a.bytes.length ? b : a));
      const file = join(saved, `path-${smallest.run}.${smallest.ext}`);
      await writeFile(file, smallest.bytes);
      report.push(
        `\n● ${cause}: ${group.length} input(s)`,
        `  smallest: ${file} (${smallest.bytes.length} bytes, from ${smallest.base})`,
        `  replay: FAULTLINE_FUZZ_SEED=${SEED} FAULTLINE_FUZZ_PATH=${smallest.run} npm run fuzz`,
        `  mutations: ${JSON.stringify({ ...smallest.input, base: smallest.base }).slice(0, 600)}`,
        // Indented with a bar so the test runner does not read the quoted stack as the test's own.
        `  | ${smallest.detail.split('\n').slice(0, 6).join('\n  | ')}`,
      );
    }
    expect.fail(report.join('\n'));
  });
});
