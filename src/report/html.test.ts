import { describe, expect, it } from 'vitest';
import { expectGolden } from '../../test/support/golden.js';
import { goldenPath, JOURNAL_FIXTURES, loadFixture } from '../../test/support/journals.js';
import { historyJournals, longRunJournal } from '../../test/support/synthetic-journals.js';
import { groupRuns, historyPayload, regressions } from './html-history.js';
import { htmlParts, renderHtml } from './html.js';
import { escapeHtml, jsonForScript } from './html-page.js';
import { runTimeline } from './html-timeline.js';

describe('HTML report of one run', () => {
  it.each(JOURNAL_FIXTURES)('renders %s as its golden body and chart data', async (name) => {
    const parts = htmlParts([await loadFixture(name)]);
    expectGolden(goldenPath(`${name}.html`), `${parts.body}\n${JSON.stringify(parts.data, null, 1)}\n`);
  });

  it('is one self-contained file: everything inline, nothing fetched, no network allowed', async () => {
    const html = renderHtml([await loadFixture('passed-verdicts')]);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toContain('sourceMappingURL');
    expect(html).toContain(`content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'`);
    // uPlot's browser build, inline.
    expect(html).toMatch(/<script>\/\*! https:\/\/github\.com\/leeoniya\/uPlot \(v[\d.]+\) \*\/\s*var uPlot=/);
    expect(html).toContain('@media (prefers-color-scheme: dark)');
    expect(html).toContain('@media print');
  });

  it('puts the verdicts first, each with its evidence, bounds and result in words', async () => {
    const { body } = htmlParts([await loadFixture('deviated-timeouts')]);
    expect(body.indexOf('id="verdicts"')).toBeLessThan(body.indexOf('id="timeline"'));
    expect(body).toContain('<article class="card r-fail" data-verdict="timeouts" data-result="fail"');
    expect(body).toContain('<p class="result">✖ FAIL</p>');
    expect(body).toMatch(/<td>p99 latency<\/td><td>≤ 2\.5s<\/td><td>2\.91s<\/td><td><span class="bad">broken<\/span><\/td>/);
  });

  it('shows a verdict result it does not know as it is, never as a pass', async () => {
    const journal = await loadFixture('passed-verdicts');
    journal.verdicts[0]!.result = 'unstable' as never;
    journal.verdicts[1]!.result = 'something-new' as never;
    const { body } = htmlParts([journal]);
    expect(body).toContain('<article class="card r-other" data-verdict="timeouts" data-result="unstable"');
    expect(body).toContain('<p class="result">≈ UNSTABLE</p>');
    expect(body).toContain('<p class="result">? SOMETHING NEW</p>');
    expect(body).toContain('(2 pass, 1 unstable, 1 something new)');
  });

  it('escapes whatever the journal holds', async () => {
    const journal = await loadFixture('deviated-timeouts');
    journal.experiment.title = '<img src=x onerror=alert(1)> & "quotes"';
    journal.faults[0]!.name = '</script><script>alert(1)</script>';
    const html = renderHtml([journal]);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;');
    expect(html).not.toContain('</script><script>alert(1)');
    expect(jsonForScript({ a: '</script>' })).toBe('{"a":"\\u003c/script>"}');
    expect(escapeHtml(`'`)).toBe('&#39;');
  });

  it('shows the faults with their effect and evidence of reach, exact counts when the driver injects', async () => {
    const journal = await loadFixture('passed-verdicts');
    journal.faults[0]!.effect = { delayMs: 800 };
    journal.faults[0]!.reach = { source: 'injected', reached: true, summary: '120 of 200 requests delayed', counts: { seen: 200, faulted: 120, passed: 80 } };
    journal.faults[1]!.reach = { source: 'driver', reached: null, summary: 'Toxiproxy runs without -proxy-metrics' };
    const { body } = htmlParts([journal]);
    expect(body).toContain('+800ms per request');
    expect(body).toContain('<span class="ok">reached</span> <span class="muted">(injected)</span><br>120 of 200 requests delayed<br><span class="muted">seen 200 · faulted 120 · passed 80</span>');
    expect(body).toContain('<span class="unknown">cannot tell</span>');
  });

  it('stays under 500 KB for a 10-minute run at 1,000 requests a second', async () => {
    const journal = longRunJournal(await loadFixture('passed-verdicts'));
    expect(journal.workload!.seconds).toHaveLength(600);
    const html = renderHtml([journal]);
    expect(Buffer.byteLength(html)).toBeLessThan(500 * 1024);
    const timeline = runTimeline(journal);
    expect(timeline.bands).toHaveLength(4);
    expect(timeline.charts.find((c) => c.id === 'errors')!.series.map((s) => s.label)).toEqual(['all errors', '5xx', 'timeout', 'connection-error']);
  });
});

describe('the run timeline', () => {
  it('shades each applied fault from when it took effect to its undo, and marks the time to recover', async () => {
    const timeline = runTimeline(await loadFixture('passed-verdicts'));
    expect(timeline.bands).toEqual([
      { label: 'payments answers 800ms late', fromS: 5.012, toS: 15.02, end: 'undone' },
      { label: 'kill payments-a', fromS: 18.034, toS: 30, end: 'irreversible' },
    ]);
    expect(timeline.markers).toEqual([{ kind: 'recovered', atS: 21.248, label: 'recovered in 3.21s' }]);
    expect(timeline.x[0]).toBe(-1.5);
    expect(timeline.charts.map((c) => [c.id, c.series.length])).toEqual([['latency', 2], ['errors', 1], ['throughput', 2]]);
  });

  it('marks an abort trip, and draws no chart without a workload', async () => {
    const journal = await loadFixture('passed-verdicts');
    journal.abort = { condition: 'gateway is down', at: '2026-05-04T09:30:10.500Z', misses: [] };
    expect(runTimeline(journal).markers[0]).toEqual({ kind: 'abort', atS: 8.5, label: 'abort: gateway is down' });
    const none = runTimeline(await loadFixture('no-workload'));
    expect(none.charts).toEqual([]);
  });

  it('leaves a fault that never took effect unshaded', async () => {
    expect(runTimeline(await loadFixture('run-error-not-exercised')).bands).toEqual([]);
  });
});

describe('HTML history of many runs', () => {
  it('orders runs by start time whatever the order of the files', async () => {
    const journals = historyJournals(await loadFixture('passed-verdicts'));
    const [group] = groupRuns(journals);
    expect(group!.runs.map((r) => r.runId)).toEqual(['20260504-history-1', '20260505-history-2', '20260506-history-3', '20260507-history-4', '20260508-history-5']);
    const { body } = htmlParts(journals);
    const started = [...body.matchAll(/data-started="([^"]+)"/g)].map((m) => m[1]!);
    expect(started).toEqual([...started].sort());
  });

  it('draws p99 and error rate under each fault and the time to recover, run by run', async () => {
    const [group] = groupRuns(historyJournals(await loadFixture('passed-verdicts')));
    const payload = historyPayload(group!);
    expect(payload.xTicks).toEqual(['#1 05-04 09:30', '#2 05-05 10:30', '#3 05-06 11:30', '#4 05-07 12:30', '#5 05-08 13:30']);
    const p99 = payload.charts.find((c) => c.id === 'p99')!;
    expect(p99.series.map((s) => s.label)).toEqual(['payments answers 800ms late', 'kill payments-a', 'baseline (no fault)']);
    expect(p99.series[0]!.values).toEqual([1180, 1220, 1260, 1300, 2910]);
    expect(payload.charts.find((c) => c.id === 'recovery')!.series[0]!.values).toEqual([3.214, 3.114, 3.014, 2.914, 7.4]);
  });

  it('says what the latest run made worse, and marks each verdict that changed', async () => {
    const journals = historyJournals(await loadFixture('passed-verdicts'));
    const [group] = groupRuns(journals);
    expect(regressions(group!)).toEqual([
      'timeouts: checkout stays fast while payments is slow: PASS → FAIL (p99 latency 2.91s, bound ≤ 2.5s while slow-payments was live, 200 requests)',
      'p99 under slow-payments: 1.3s → 2.91s',
      'error rate under slow-payments: 0.5% → 3%',
      'time to recover (self-healing: payments-a is replaced): 2.914s → 7.4s',
    ]);
    const { body } = htmlParts(journals);
    expect(body.match(/class="cell r-fail changed"/g)).toHaveLength(1);
    expect(body).toContain('data-result="unstable"');
    expect(body.match(/<td class="cell [^"]*changed"/g)).toHaveLength(3);
  });

  it('keeps each experiment apart when a folder holds several', async () => {
    const journals = await Promise.all(JOURNAL_FIXTURES.map(loadFixture));
    const parts = htmlParts(journals);
    expect(parts.title).toBe('History of 4 experiments: faultline');
    expect(parts.data.panels).toHaveLength(4);
    expect(parts.body.match(/<section class="experiment"/g)).toHaveLength(4);
  });
});
