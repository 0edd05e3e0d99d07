import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirectory, makeDirectorySync } from './make-dir.js';

const root = mkdtempSync(join(tmpdir(), 'faultline-make-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each([
  ['makeDirectory', (path: string) => makeDirectory(path)],
  ['makeDirectorySync', async (path: string) => makeDirectorySync(path)],
])('%s', (name, make) => {
  it('creates a folder and its missing parents, and accepts one that exists', async () => {
    const path = join(root, name, 'a', 'b', 'c');
    await make(path);
    expect(statSync(path).isDirectory()).toBe(true);
    await make(path);
    expect(statSync(path).isDirectory()).toBe(true);
  });

  it('refuses a path through a file with ENOTDIR', async () => {
    const file = join(root, `${name}-file`);
    writeFileSync(file, 'x');
    await expect(make(join(file, 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  // Node's recursive mkdir spins for ever here (procfs says ENOENT for a parent that exists).
  it.runIf(process.platform === 'linux')('ends with an error under /proc instead of looping', async () => {
    await expect(make('/proc/faultline-no-such-folder/below')).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
  });
});
