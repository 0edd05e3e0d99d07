import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomically } from '../core/atomic-file.js';
import { redactSecrets } from './journal.js';

describe('redactSecrets', () => {
  it('masks secrets anywhere, longest first', () => {
    const value = { a: 'token=abc123', b: ['abc', { c: 'abc123abc' }], n: 3 };
    expect(redactSecrets(value, ['abc', 'abc123'])).toEqual({ a: 'token=***', b: ['***', { c: '******' }], n: 3 });
  });
  it('ignores empty secrets', () => expect(redactSecrets('x', [''])).toBe('x'));
});

describe('writeFileAtomically', () => {
  it('leaves only the final file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'journal-'));
    await writeFileAtomically(join(dir, 'sub', 'j.json'), '{}');
    expect(await readFile(join(dir, 'sub', 'j.json'), 'utf8')).toBe('{}');
    expect(await readdir(join(dir, 'sub'))).toEqual(['j.json']);
  });
});
