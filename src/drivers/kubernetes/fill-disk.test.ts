// The shell script fill-disk runs in the container, run here with this machine's sh: a size that
// fits is written, a full filesystem is the fault done (not an error), any other failure is one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FILLED_UP, fillCommand } from './fill-disk.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-fill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(file: string, bytes: number) {
  const [program, ...args] = fillCommand(file, bytes);
  return spawnSync(program!, args, { encoding: 'utf8', timeout: 10_000 });
}

describe('fillCommand', () => {
  it('writes a file of the size asked for', () => {
    const file = join(dir, 'two-mib');
    const result = run(file, 2 * 1024 * 1024);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain(FILLED_UP);
    expect(statSync(file).size).toBe(2 * 1024 * 1024);
  });

  it('reports a filesystem that ran out of space as filled, with exit code 0 (dd into /dev/full meets ENOSPC)', () => {
    const result = run('/dev/full', 4 * 1024 * 1024);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(FILLED_UP);
  });

  it('fails, with dd\'s message, when the file cannot be written at all', () => {
    const result = run(join(dir, 'no-such-dir', 'file'), 1024 * 1024);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/No such file or directory/);
    expect(result.stdout).not.toContain(FILLED_UP);
  });
});
