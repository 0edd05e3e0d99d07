import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from './ledger-lock.js';

describe('withLock', () => {
  it('never lets two holders in at once, however often the lock changes hands', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-lock-'));
    const path = join(dir, 'ledger.jsonl.lock');
    let inside = 0;
    let most = 0;
    let done = 0;
    // Sixteen contenders (as sixteen ledgers, or processes, sharing a folder), 100 short holds each.
    const contender = async () => {
      for (let i = 0; i < 100; i++) {
        await withLock(path, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((resolve) => setImmediate(resolve));
          inside--;
          done++;
        });
      }
    };
    await Promise.all(Array.from({ length: 16 }, contender));
    expect(done).toBe(1600);
    expect(most).toBe(1);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
});
