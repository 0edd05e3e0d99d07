import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaultlineError } from '../core/errors.js';
import { fixturePath } from '../../test/support/journals.js';
import { parseJournal, readJournal } from './journal-file.js';

async function rejection(promise: Promise<unknown>): Promise<FaultlineError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FaultlineError);
  return error as FaultlineError;
}

describe('reading a saved journal', () => {
  it('reads a journal and fills in what older journals lack', async () => {
    const journal = await readJournal(fixturePath('no-workload'));
    expect(journal.status).toBe('passed');
    expect(journal.windows).toEqual([]);
    expect(journal.verdicts).toEqual([]);
  });

  it('says when the file is missing or a folder', async () => {
    const missing = await rejection(readJournal('/nonexistent/journal.json'));
    expect(missing.message).toBe('cannot read the journal /nonexistent/journal.json: no such file');
    expect(missing.exit).toBe('invalidInput');
    expect(missing.hint).toMatch(/\.faultline\/journals/);
    const folder = await rejection(readJournal(tmpdir()));
    expect(folder.message).toMatch(/it is a folder/);
  });

  it('says when the file is not JSON, not a journal, of another version, or incomplete', async () => {
    const notJson = await rejection(Promise.resolve().then(() => parseJournal('version: 1\n', 'j.yaml')));
    expect(notJson.message).toMatch(/^j\.yaml is not JSON: /);
    const notJournal = await rejection(Promise.resolve().then(() => parseJournal('{"title": "x"}', 'x.json')));
    expect(notJournal.message).toBe('x.json is not a faultline journal: it has no journalVersion');
    const newer = await rejection(Promise.resolve().then(() => parseJournal('{"journalVersion": 2}', 'new.json')));
    expect(newer.message).toBe('new.json has journalVersion 2; this faultline reads journalVersion 1');
    expect(newer.hint).toMatch(/upgrade faultline/);
    const truncated = await rejection(Promise.resolve().then(() => parseJournal('{"journalVersion": 1, "runId": "r", "status": "weird"}', 't.json')));
    expect(truncated.message).toMatch(/^t\.json is not a complete faultline journal: experiment: .*; startedAt: .*; durationMs: .* \(and \d+ more\)$/);
    expect(truncated.exit).toBe('invalidInput');
  });

  it('reads an array or a scalar as not a journal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-journal-'));
    await writeFile(join(dir, 'list.json'), '[1, 2]');
    expect((await rejection(readJournal(join(dir, 'list.json')))).message).toMatch(/has no journalVersion/);
  });
});
