import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger, foldLedger, needsUndo, parseLedger, type LedgerIntent } from './ledger.js';

function intent(id: string, undo: LedgerIntent['undo']): LedgerIntent {
  return { kind: 'intent', id, runId: 'r1', experiment: 'e.yaml', step: 's', action: 'process.stop', targets: ['pid 1'], undo, at: '2026-01-01T00:00:00Z' };
}
const undo = { driver: 'process', op: 'continue', args: { pid: 42 } };

describe('foldLedger', () => {
  it('keeps a fault open from its intent until it is undone', () => {
    const entries = foldLedger([intent('a', undo), { kind: 'applied', id: 'a', at: 't' }]);
    expect(entries[0]?.state).toBe('applied');
    expect(needsUndo(entries[0]!)).toBe(true);
    const undone = foldLedger([intent('a', undo), { kind: 'applied', id: 'a', at: 't' }, { kind: 'undone', id: 'a', at: 't', by: 'run' }]);
    expect(needsUndo(undone[0]!)).toBe(false);
  });

  it('treats an intent without outcome as possibly applied', () => {
    const [entry] = foldLedger([intent('a', undo)]);
    expect(entry?.state).toBe('applying');
    expect(needsUndo(entry!)).toBe(true);
  });

  it('still undoes a fault whose apply failed half-way', () => {
    const [entry] = foldLedger([intent('a', undo), { kind: 'apply-failed', id: 'a', at: 't', error: 'boom' }]);
    expect(needsUndo(entry!)).toBe(true);
  });

  it('never asks to undo an irreversible action', () => {
    const [entry] = foldLedger([intent('k', null), { kind: 'applied', id: 'k', at: 't' }]);
    expect(entry?.state).toBe('irreversible');
    expect(needsUndo(entry!)).toBe(false);
  });
});

describe('parseLedger', () => {
  it('ignores a torn last line', () => {
    const text = `${JSON.stringify(intent('a', undo))}\n{"kind":"appl`;
    expect(parseLedger(text, 'l')).toHaveLength(1);
  });
  it('refuses corruption in the middle', () => {
    const text = `garbage\n${JSON.stringify(intent('a', undo))}\n`;
    expect(() => parseLedger(text, 'l')).toThrow(/l:1: unreadable ledger record/);
  });
  it('refuses, by line, a whole record faultline never writes (edited), rather than crash on it later', () => {
    const good = JSON.stringify(intent('a', undo));
    const edited: [unknown, RegExp][] = [
      [null, /not a JSON object/],
      [{ kind: 'intent' }, /no "id"/],
      [{ ...intent('b', undo), targets: 'y' }, /"targets" is not a list of text/],
      [{ ...intent('b', undo), undo: { driver: 'process' } }, /"undo" is neither null nor/],
      [{ kind: 'claimed', id: 'a', at: 'now', by: 'someone', pid: 1 }, /"by" is not recover or guardian/],
      [{ kind: 'exploded', id: 'a', at: 'now' }, /unknown kind "exploded"/],
    ];
    for (const [record, message] of edited) {
      const text = `${good}\n${JSON.stringify(record)}\n`;
      expect(() => parseLedger(text, 'l')).toThrow(message);
      expect(() => parseLedger(text, 'l')).toThrow(/^l:2: not a ledger record faultline writes/);
    }
    expect(parseLedger(`${good}\n${JSON.stringify({ kind: 'undone', id: 'a', at: 'now', by: 'recover', notes: ['gone'] })}\n`, 'l')).toHaveLength(2);
  });
});

describe('Ledger', () => {
  it('appends records that a new reader folds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const ledger = new Ledger(dir);
    await Promise.all([ledger.append(intent('a', undo)), ledger.append(intent('b', undo))]);
    await ledger.append({ kind: 'undone', id: 'a', at: 't', by: 'run' });
    await ledger.close();
    const open = await new Ledger(dir).openEntries();
    expect(open.map((e) => e.intent.id)).toEqual(['b']);
  });

  it('compacts only when nothing is left to undo', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const ledger = new Ledger(dir);
    await ledger.append(intent('a', undo));
    await ledger.compact();
    expect((await readFile(ledger.file, 'utf8')).length).toBeGreaterThan(0);
    await ledger.append({ kind: 'undone', id: 'a', at: 't', by: 'recover' });
    await ledger.compact();
    expect(await readFile(ledger.file, 'utf8')).toBe('');
  });

  it('reads a missing ledger as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    expect(await new Ledger(join(dir, 'nope')).entries()).toEqual([]);
  });

  it('reports a corrupt ledger clearly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    await writeFile(join(dir, 'ledger.jsonl'), 'x\n{}\n');
    await expect(new Ledger(dir).entries()).rejects.toThrow(/unreadable ledger record/);
  });

  it('two writers sharing a folder lose no record while one of them compacts (each with its own handle, as two processes)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const settling = new Ledger(dir);
    const appending = new Ledger(dir);
    const settle = async () => {
      for (let i = 0; i < 30; i++) {
        await settling.append(intent(`s${i}`, undo));
        await settling.append({ kind: 'undone', id: `s${i}`, at: 't', by: 'run' });
        await settling.compact();
      }
    };
    const append = async () => {
      for (let i = 0; i < 30; i++) await appending.append(intent(`a${i}`, undo));
      await appending.close();
    };
    await Promise.all([settle(), append()]);
    const open = await new Ledger(dir).openEntries();
    expect(open.map((e) => e.intent.id).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`).sort());
  });

  it('a claim lets one process undo an entry; a claim by a live process is respected, one by a dead process is not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const ledger = new Ledger(dir);
    await ledger.append(intent('a', undo));
    expect(await ledger.claim('a', 'recover')).toBe('claimed');
    // Another live process (pid 1 always exists) holds it: this one must leave it.
    await ledger.append({ kind: 'claimed', id: 'a', at: 't', by: 'guardian', pid: 1 });
    expect(await ledger.claim('a', 'recover')).toEqual({ heldBy: 'guardian', pid: 1 });
    // Its claimer died before finishing: it can be taken again.
    await ledger.append({ kind: 'claimed', id: 'a', at: 't', by: 'guardian', pid: 2 ** 22 + 7 });
    expect(await ledger.claim('a', 'recover')).toBe('claimed');
    await ledger.append({ kind: 'undone', id: 'a', at: 't', by: 'recover' });
    expect(await ledger.claim('a', 'guardian')).toBe('settled');
    await ledger.close();
  });

  it('takes over a lock left by a process that died while holding it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const ledger = new Ledger(dir);
    await writeFile(ledger.lockFile, `${2 ** 22 + 7}\n`);
    await ledger.append(intent('a', undo));
    await ledger.close();
    expect((await ledger.entries()).map((e) => e.intent.id)).toEqual(['a']);
  });
});
