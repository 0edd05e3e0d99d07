// The same hostile files at the command line: `faultline validate` (the built CLI, as a user runs
// it) must refuse each with exit code 2 and a located problem, and print no stack trace. A sample
// is enough here; loader.fuzz.test.ts runs thousands in process. Needs `npm run build`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.js';
import { createDefaultRegistry } from '../../src/drivers/builtin.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { ENV, SECRET_FILE, hostileInput, loadBases, renderInput } from './hostile-experiments.js';

const SAMPLE = 20;
const SEED = process.env.FAULTLINE_FUZZ_SEED === undefined ? Date.now() ^ (Math.random() * 0x100000000) : Number(process.env.FAULTLINE_FUZZ_SEED);

describe('faultline validate on hostile files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'faultline-cli-fuzz-'));
    await writeFile(join(dir, SECRET_FILE), 'file-secret\n');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`refuses ${SAMPLE} of them with exit code 2, each at its line and column, without a stack trace (seed ${SEED})`, async () => {
    const bases = loadBases(REPO_ROOT);
    const registry = await createDefaultRegistry();
    // The first inputs the loader refuses: every one of them must be refused the same way at the command line.
    const files: string[] = [];
    for (const [index, input] of fc.sample(hostileInput, { seed: SEED, numRuns: 500 }).entries()) {
      if (files.length === SAMPLE) break;
      const { bytes, ext } = renderInput(input, bases);
      const file = join(dir, `hostile-${index}.${ext}`);
      await writeFile(file, bytes);
      const refused = await loadExperiment(file, { cwd: dir, env: ENV, registry }).then(() => false, (error: unknown) => error instanceof InvalidInputError);
      if (refused) files.push(file);
    }
    expect(files).toHaveLength(SAMPLE);

    // One process for all of them (starting the CLI takes seconds on a busy machine), and one for a
    // single file, so the exit code of one refused file is seen on its own too.
    const all = await runCli(['validate', ...files], { cwd: dir, env: ENV });
    const one = await runCli(['validate', files[0]!], { cwd: dir, env: ENV });
    for (const result of [all, one]) {
      expect(result.stderr).not.toMatch(/internal error|^\s+at .+:\d+:\d+\)?$/m);
      expect(result.code, result.stderr.slice(0, 2000)).toBe(2);
    }
    for (const file of files) expect(all.stderr, `no located problem for ${file}`).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
  });
});
