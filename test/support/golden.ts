// Golden files: expected output committed beside the code that makes it. `UPDATE_GOLDEN=1 npx
// vitest run src/report` rewrites them from the current output (review the diff before committing);
// under CI=true they are only ever compared, so CI cannot pass by rewriting what it checks.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';
import { isCI } from './testenv.js';

export function expectGolden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    if (isCI()) throw new Error('UPDATE_GOLDEN=1 is refused under CI=true: golden files are compared there, never written');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing; create it with UPDATE_GOLDEN=1 and review it`);
  expect(actual, `output differs from ${path}; if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff`).toBe(readFileSync(path, 'utf8'));
}
