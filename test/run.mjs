#!/usr/bin/env node
// `npm test`: the one command that checks everything on a fresh machine. It typechecks, checks the
// layers (a wrong-way import fails), builds (tsc and the bundle), and runs every vitest project;
// vitest's global setup brings up (and, the first time, builds) the test servers. Then the unit
// project again on Node 24 (installed once from the npm registry), so `engines` is tested on both.
// It ends with the totals of both on one line, `N passed, N failed, N skipped`, which CI reads.
// Extra arguments go to vitest (`npm test -- src/core`), and then Node 24's run is left out.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function step(title, command, args, env = process.env) {
  process.stdout.write(`== ${title}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  return result.status ?? 1;
}

function totals(file) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    // A file that failed to load counts as a failure even though none of its tests ran.
    const broken = (report.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
    return { passed: report.numPassedTests, failed: report.numFailedTests + broken, skipped };
  } catch {
    return undefined;
  }
}

const vitestArgs = (results, extra) => ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...extra];

let status = step('typecheck', npx, ['tsc', '-p', 'tsconfig.json', '--noEmit']);
if (status === 0) status = step('layers (.dependency-cruiser.cjs)', npx, ['depcruise', 'src', '--config', '.dependency-cruiser.cjs']);
if (status === 0) status = step('build', npx, ['tsc', '-p', 'tsconfig.build.json']);
if (status === 0) status = step('bundle (scripts/bundle.mjs)', process.execPath, ['scripts/bundle.mjs']);
if (status !== 0) {
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(status);
}
const dir = mkdtempSync(join(tmpdir(), 'faultline-test-'));
const results = join(dir, 'results.json');
status = step('vitest (the test servers come up first: see README, "The test environment")', npx, ['vitest', ...vitestArgs(results, process.argv.slice(2))]);
/** A run that failed (a crashed worker, an unhandled error, a timed-out hook) shows at least 1 failed. */
function failedIfStatus(count, runStatus) {
  return runStatus !== 0 && count.failed === 0 ? { ...count, failed: 1 } : count;
}
const counts = [failedIfStatus(totals(results) ?? { passed: 0, failed: 1, skipped: 0 }, status)];
if (process.argv.length === 2) {
  // The unit project needs no server; on Node 24 it proves the code, not only the packed CLI, runs there.
  const where = spawnSync(npx, ['tsx', 'testenv/cli.ts', 'node24'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bin = where.status === 0 ? where.stdout.trim() : undefined;
  const results24 = join(dir, 'results-node24.json');
  const status24 = bin
    ? step(`vitest, unit project, on Node 24 (${bin})`, join(bin, 'node'), ['node_modules/vitest/vitest.mjs', ...vitestArgs(results24, ['--project', 'unit'])], {
        ...process.env,
        FAULTLINE_TESTENV: 'none',
      })
    : 1;
  counts.push(failedIfStatus(totals(results24) ?? { passed: 0, failed: 1, skipped: 0 }, status24));
  if (status === 0) status = status24;
}
const sum = (key) => counts.reduce((total, count) => total + count[key], 0);
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped\n`);
process.exit(status);
