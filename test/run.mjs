#!/usr/bin/env node
// `npm test`: the one command that checks everything on a fresh machine. It typechecks, checks the
// layers (a wrong-way import fails), builds,
// and runs every vitest project; vitest's global setup brings up (and, the first time, builds) the
// test servers. It ends with the totals on one line, `N passed, N failed, N skipped`, which CI reads.
// Extra arguments go to vitest (`npm test -- src/core`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function step(title, command, args) {
  process.stdout.write(`== ${title}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  return result.status ?? 1;
}

function totals(file) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    // A file that failed to load counts as a failure even though none of its tests ran.
    const broken = (report.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
    return `${report.numPassedTests} passed, ${report.numFailedTests + broken} failed, ${skipped} skipped`;
  } catch {
    return undefined;
  }
}

let status = step('typecheck', npx, ['tsc', '-p', 'tsconfig.json', '--noEmit']);
if (status === 0) status = step('layers (.dependency-cruiser.cjs)', npx, ['depcruise', 'src', '--config', '.dependency-cruiser.cjs']);
if (status === 0) status = step('build', npx, ['tsc', '-p', 'tsconfig.build.json']);
if (status !== 0) {
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(status);
}
const dir = mkdtempSync(join(tmpdir(), 'faultline-test-'));
const results = join(dir, 'results.json');
status = step('vitest (the test servers come up first: see README, "The test environment")', npx, [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${results}`,
  ...process.argv.slice(2),
]);
const line = totals(results) ?? '0 passed, 1 failed';
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${line}\n`);
process.exit(status);
