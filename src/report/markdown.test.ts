import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/cli.js';
import { expectGolden } from '../../test/support/golden.js';
import { goldenPath, JOURNAL_FIXTURES, loadFixture } from '../../test/support/journals.js';
import { renderMarkdown } from './markdown.js';

describe('Markdown report', () => {
  it.each(JOURNAL_FIXTURES)('renders %s as its golden file', async (name) => {
    expectGolden(goldenPath(`${name}.md`), renderMarkdown([await loadFixture(name)]));
  });

  it('puts several runs under one heading with a tally', async () => {
    const journals = await Promise.all(JOURNAL_FIXTURES.map(loadFixture));
    expectGolden(goldenPath('several-runs.md'), renderMarkdown(journals));
  });

  it('leads with the result and the verdict table, and says how to reproduce', async () => {
    const text = renderMarkdown([await loadFixture('deviated-timeouts')]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('## ❌ DEVIATED: Checkout \\| payments slow by 2.5s');
    expect(text.indexOf('| verdict | result | evidence |')).toBeLessThan(text.indexOf('**Faults**'));
    expect(text).toContain('| timeouts: checkout answers within 2.5s while payments is slow | ❌ FAIL | p99 latency 2.91s');
    expect(text).toContain('faultline run experiments/checkout-slow-payments.yaml --seed 42');
  });

  it('lists the probes that missed, during checks and repeats folded per probe', async () => {
    const text = renderMarkdown([await loadFixture('deviated-timeouts')]);
    expect(text).toContain('**Probes that missed** (2 of 6)');
    expect(text).toContain('- steady state during · checkout answers within 1s (1 of 2 checks): status 504, expected 200');
    expect(text).toContain('- steady state after · checkout answers within 1s: latency 1.42s, expected at most 1s');
  });

  it('escapes what GitHub would render as HTML or table syntax', async () => {
    const journal = await loadFixture('deviated-timeouts');
    const text = renderMarkdown([journal]);
    // A probe named `orders <list> & "cart" respond` must not become an HTML tag.
    expect(text).not.toContain('<list>');
    const probes = renderMarkdown([{ ...journal, experiment: { ...journal.experiment, title: 'a <b>c</b>\nd' } }]);
    expect(probes.split('\n')[0]).toBe('## ❌ DEVIATED: a &lt;b&gt;c&lt;/b&gt;<br>d');
  });

  it('shows the experiment path relative to the working folder when it is under it', async () => {
    const journal = await loadFixture('no-workload');
    expect(journal.experiment.file).toBe('/home/ci/faultline/experiments/quickstart.yaml');
    const text = renderMarkdown([journal], { cwd: '/home/ci/faultline' });
    expect(text).toContain('faultline run experiments/quickstart.yaml --seed 901');
    expect(renderMarkdown([journal], { cwd: '/elsewhere' })).toContain('faultline run /home/ci/faultline/experiments/quickstart.yaml --seed 901');
  });

  it('says a run error and its hint, and marks not-exercised verdicts', async () => {
    const text = renderMarkdown([await loadFixture('run-error-not-exercised')]);
    expect(text).toMatch(/^## 💥 RUN ERROR: Orders keep flowing/);
    expect(text).toContain('> **E\\_DRIVER**<br>hint: create the proxy first');
    expect(text).toContain('| timeouts | ⚪ NOT EXERCISED | its faults never took effect: slow-db apply-failed');
    expect(text).toContain('| orders-db answers 1s late | proxy orders-db | - | - | apply-failed: toxiproxy.latency: proxy "orders-db" not found');
  });
});

describe('the README', () => {
  it('shows the Markdown of a deviated run as faultline renders it', async () => {
    const readme = await readFile(`${REPO_ROOT}/README.md`, 'utf8');
    expect(readme).toContain(`\`\`\`\`markdown\n${renderMarkdown([await loadFixture('deviated-timeouts')])}\`\`\`\`\n`);
  });
});
