import { describe, expect, it } from 'vitest';
import { loadFixture } from '../../test/support/journals.js';
import { longRunJournal } from '../../test/support/synthetic-journals.js';
import { latencySparkline, sparkline } from './sparkline.js';

describe('latency sparkline', () => {
  it('scales from the lowest to the highest value and marks seconds without an answer', () => {
    expect(sparkline([10, 10, 80, null, 45])).toBe('▁▁█·▅');
    expect(sparkline([null, null])).toBe('··');
    expect(sparkline([5, 5])).toBe('▁▁');
  });

  it('keeps the worst second of each column when there are more seconds than columns', () => {
    const values = Array.from({ length: 600 }, (_, t) => (t === 301 ? 900 : 20));
    const line = sparkline(values, 60);
    expect(line).toHaveLength(60);
    expect(line.indexOf('█')).toBe(30);
    expect(line.replace('█', '')).toBe('▁'.repeat(59));
  });

  it('numbers each fault under the seconds it was live', async () => {
    const lines = latencySparkline(await loadFixture('passed-verdicts'));
    expect(lines).toEqual([
      'p99 per second  ▁▁▁▁▁▁▁█▁▁▁▁▁▁▁▁▁▁▁▁▃▁▁▁▁▁▁▁▁▁▁▁  48ms … 1.18s',
      'faults                 11111111111  222222222222  1 payments answers 800ms late, 2 kill payments-a',
    ]);
    expect(latencySparkline(await loadFixture('no-workload'))).toEqual([]);
  });

  it('fits a 10-minute run in 60 columns and puts long fault names on their own line', async () => {
    const lines = latencySparkline(longRunJournal(await loadFixture('passed-verdicts')));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^p99 per second  [▁-█]{60}  /);
    expect(lines[2]).toMatch(/^ {16}1 orders-db answers 800ms late, 2 payments resets/);
  });
});
