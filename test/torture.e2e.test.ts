// The interruption campaign, short: a few randomized runs across the drivers whose servers are up,
// each interrupted at a random moment by SIGINT, a double SIGINT, SIGTERM or SIGKILL; nothing may be
// left applied on the real servers, no run may crash, and exit codes agree with journals.
// `npm run torture` runs the long version (300 by default).
import { describe, expect, it } from 'vitest';
import { summarize, torture } from '../bench/torture.js';

describe('interruption campaign (short)', () => {
  it('10 interrupted runs leave nothing applied and never crash', async () => {
    const seed = Number(process.env.TORTURE_SEED ?? Date.now() % 2 ** 31);
    // Printed so a failure can be replayed with TORTURE_SEED.
    console.log(`torture seed ${seed}`);
    // In the fixed port range of this suite's Toxiproxy listeners (21320-21329).
    const { results } = await torture({ runs: 10, concurrency: 2, seed, basePort: 21326 });
    const report = summarize(results);
    console.log(report);
    expect(results).toHaveLength(10);
    expect(results.filter((r) => r.leftBehind.length > 0 || r.afterRecover.length > 0), report).toEqual([]);
    expect(results.filter((r) => r.problems.length > 0), report).toEqual([]);
  }, 600_000);
});
