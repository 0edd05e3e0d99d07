import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomically } from './atomic-file.js';

const root = mkdtempSync(join(tmpdir(), 'faultline-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeFileAtomically', () => {
  it('writes a new file in a new folder, and replaces a regular file whole', async () => {
    const path = join(root, 'new', 'journal.json');
    await writeFileAtomically(path, 'one');
    await writeFileAtomically(path, 'two');
    expect(readFileSync(path, 'utf8')).toBe('two');
    expect(readdirSync(join(root, 'new'))).toEqual(['journal.json']);
  });

  it('never replaces a device, and leaves no temporary file behind', async () => {
    await expect(writeFileAtomically('/dev/null', 'x')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    const link = join(root, 'to-null');
    symlinkSync('/dev/null', link);
    await expect(writeFileAtomically(link, 'x')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('refuses a folder', async () => {
    const folder = join(root, 'folder');
    await writeFileAtomically(join(folder, 'inside'), 'x');
    await expect(writeFileAtomically(folder, 'x')).rejects.toMatchObject({ code: 'EISDIR' });
    writeFileSync(join(root, 'plain'), 'x');
  });
});
