import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { expectGolden } from '../../test/support/golden.js';
import { goldenPath, JOURNAL_FIXTURES, loadFixture } from '../../test/support/journals.js';
import { renderSummary, renderTable } from './terminal.js';

const plain = new Chalk({ level: 0 });

describe('terminal summary', () => {
  it.each(JOURNAL_FIXTURES)('renders %s as its golden file', async (name) => {
    expectGolden(goldenPath(`${name}.txt`), renderSummary(await loadFixture(name), plain, `/tmp/${name}.journal.json`));
  });

  it('leads with the verdict table when there are verdicts', async () => {
    const lines = renderSummary(await loadFixture('deviated-timeouts'), plain).split('\n');
    expect(lines[1]).toBe('Checkout | payments slow by 2.5s');
    expect(lines[2]).toMatch(/^ {2}verdict +result +evidence$/);
    expect(lines[3]).toMatch(/^ {2}timeouts: checkout answers within 2\.5s while pa… +FAIL +p99 latency 2\.91s, bound ≤ 2\.5s; requests dropped 3 \(all slots held by slow requests\), bound = 0 while slow-payments was live, 200 requests$/);
  });

  it('colours the verdict result without breaking the columns', async () => {
    const coloured = renderSummary(await loadFixture('deviated-timeouts'), new Chalk({ level: 1 }));
    expect(coloured).toContain('\u001b[1m\u001b[31mFAIL  \u001b[39m\u001b[22m');
    expect(coloured).toContain('\u001b[1m\u001b[32mPASS  \u001b[39m\u001b[22m');
    const stripped = coloured.replace(/\u001b\[\d+m/g, '');
    expect(stripped).toBe(renderSummary(await loadFixture('deviated-timeouts'), plain));
  });

  it('cuts wide cells but can leave the last column whole', () => {
    const long = 'x'.repeat(60);
    expect(renderTable(['a', 'b'], [[long, long]])).toBe(`  a${' '.repeat(47)}  b\n  ${'x'.repeat(47)}…  ${'x'.repeat(47)}…`);
    expect(renderTable(['a', 'b'], [[long, long]], { fullLastColumn: true })).toBe(`  a${' '.repeat(47)}  b\n  ${'x'.repeat(47)}…  ${long}`);
  });
});
