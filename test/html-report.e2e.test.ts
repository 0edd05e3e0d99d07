// The HTML report in a real browser (Debian's chromium through playwright-core): pages rendered from
// the golden journals, from a real run (an HTTP server frozen under traffic) and the history of a
// folder of journals open with no console error and no request leaving the file; every chart is drawn
// with its series and the faults' shaded windows; the verdict cards match the journal; the keyboard
// reaches the charts; the history lists runs by time. Screenshots are kept in test-artifacts/html.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { Journal } from '../src/engine/journal.js';
import { renderHtml } from '../src/report/html.js';
import { resultLook } from '../src/report/html-run.js';
import { runTimeline, type ChartPayload } from '../src/report/html-timeline.js';
import { launchChromium, requireChromium, type LaunchedBrowser } from './support/browser.js';
import { REPO_ROOT, runCli, waitFor } from './support/cli.js';
import { JOURNAL_FIXTURES, loadFixture } from './support/journals.js';
import { freePort } from './support/ports.js';
import { historyJournals } from './support/synthetic-journals.js';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'html');

let launched: LaunchedBrowser | undefined;
async function browser(ctx: TestContext): Promise<Browser> {
  const executable = await requireChromium(ctx);
  launched ??= await launchChromium(executable);
  return launched.browser;
}
afterAll(async () => launched?.close());

interface OpenedReport {
  page: Page;
  /** Console errors, uncaught exceptions and any request that is not for the file itself. */
  problems: string[];
}

async function open(ctx: TestContext, file: string, colorScheme: 'light' | 'dark' = 'light'): Promise<OpenedReport> {
  const page = await (await browser(ctx)).newPage({ viewport: { width: 1280, height: 900 }, colorScheme });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const self = pathToFileURL(file).href;
  page.on('request', (request) => {
    if (request.url() !== self && !request.url().startsWith('data:')) problems.push(`request: ${request.url()}`);
  });
  await page.goto(self);
  return { page, problems };
}

interface DrawnChart {
  id: string;
  series: number;
  bands: number;
  markers: number;
  legend: string[];
}

/** What each chart's last draw put on its canvas, once every chart on the page has drawn. */
async function drawnCharts(page: Page): Promise<DrawnChart[]> {
  // Browser-side code as text: this project compiles without the DOM's types.
  await page.waitForFunction(`document.querySelectorAll('[data-chart]').length === document.querySelectorAll('[data-chart][data-drawn="true"]').length`, null, { timeout: 15_000 });
  return page.evaluate(`window.faultlineCharts.map((chart) => ({
    id: chart.spec.id,
    series: chart.plot.series.length - 1,
    bands: Number(chart.root.dataset.bands),
    markers: Number(chart.root.dataset.markers),
    legend: chart.plot.series.slice(1).map((s) => s.label),
  }))`);
}

/** The charts a run's page must show: every series, every fault window over the traffic, every mark within it. */
function expectedCharts(timeline: ChartPayload): DrawnChart[] {
  const first = timeline.x[0] ?? 0;
  const last = timeline.x.at(-1) ?? 0;
  return timeline.charts.map((chart) => ({
    id: chart.id,
    series: chart.series.length,
    bands: timeline.bands.filter((band) => band.toS >= first && band.fromS <= last).length,
    markers: timeline.markers.filter((mark) => mark.atS >= first && mark.atS <= last).length,
    legend: chart.series.map((s) => s.label),
  }));
}

async function verdictCards(page: Page): Promise<string[][]> {
  return page.$$eval('[data-verdict]', (cards) => cards.map((card) => [card.getAttribute('data-verdict') ?? '', card.getAttribute('data-result') ?? '', card.querySelector('.result')?.textContent ?? '']));
}

const cardsOf = (journal: Journal) => journal.verdicts.map((v) => [v.name, v.result, `${resultLook(v.result).icon} ${resultLook(v.result).label}`]);

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Checks one run's page against its journal, in both themes and in print. */
async function checkRunPage(ctx: TestContext, journal: Journal, file: string, name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    const { page, problems } = await open(ctx, file, scheme);
    expect(await drawnCharts(page)).toEqual(expectedCharts(runTimeline(journal)));
    expect(await verdictCards(page)).toEqual(cardsOf(journal));
    expect(await page.evaluate(`Number(document.getElementById('fault-strip')?.dataset.bands ?? 0)`)).toBe(runTimeline(journal).bands.length);
    await screenshot(page, `${name}-${scheme}`);
    if (scheme === 'light') {
      // Printing draws the charts again in the print colours.
      await page.emulateMedia({ media: 'print' });
      await page.waitForTimeout(100);
      expect(await drawnCharts(page)).toEqual(expectedCharts(runTimeline(journal)));
      await screenshot(page, `${name}-print`);
    }
    expect(problems).toEqual([]);
    await page.close();
  }
}

describe('the HTML report of a run, in chromium', () => {
  it.for(JOURNAL_FIXTURES)('draws %s: its charts, shaded fault windows and verdict cards, with no console error', async (name, ctx) => {
    const journal = await loadFixture(name);
    const dir = await mkdtemp(join(tmpdir(), 'faultline-html-'));
    const file = join(dir, `${name}.html`);
    await writeFile(file, renderHtml([journal]));
    await checkRunPage(ctx, journal, file, name);
  });

  it('can be read with the keyboard: a chart takes focus and the arrow keys move through the seconds; Enter hides a line', async (ctx) => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-html-keys-'));
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtml([await loadFixture('passed-verdicts')]));
    const { page, problems } = await open(ctx, file);
    await drawnCharts(page);
    // From the top of the page, Tab reaches the first chart after the links before it.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(`document.activeElement?.getAttribute('data-chart') === 'latency'`);
    }
    expect(reached).toBe(true);
    const p99Value = () => page.locator('[data-chart="latency"] .u-legend tr.u-series').nth(2).locator('.u-value').textContent();
    expect(await p99Value()).toBe('-');
    for (let i = 0; i < 8; i++) await page.keyboard.press('ArrowRight');
    expect(await p99Value()).toBe('1.18 s');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('window.faultlineCharts[0].plot.series[1].show')).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('the HTML history of many runs, in chromium', () => {
  it('lists runs by start time, draws each figure under each fault across runs, and marks what changed', async (ctx) => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-html-history-'));
    await mkdir(join(dir, 'journals'));
    const journals = historyJournals(await loadFixture('passed-verdicts'));
    // File names in another order than time, as CI artifacts named by job might be.
    for (const [i, journal] of journals.entries()) await writeFile(join(dir, 'journals', `run-${String.fromCharCode(97 + i)}.json`), JSON.stringify(journal));
    const result = await runCli(['report', join(dir, 'journals'), '--format', 'html', '--output', join(dir, 'history.html')]);
    expect(result.code).toBe(0);
    const { page, problems } = await open(ctx, join(dir, 'history.html'));
    const charts = await drawnCharts(page);
    expect(charts.map((c) => [c.id, c.series, c.bands])).toEqual([
      ['p99', 3, 0],
      ['errors', 2, 0],
      ['recovery', 1, 0],
    ]);
    const started = await page.$$eval('table.runs tr[data-started]', (rows) => rows.map((row) => row.getAttribute('data-started')!));
    expect(started).toHaveLength(5);
    expect(started).toEqual([...started].sort());
    expect(await page.$$eval('table.runs tr[data-run-id]', (rows) => rows.map((row) => row.getAttribute('data-run-id')))).toEqual(
      [...journals].sort((a, b) => a.startedAt.localeCompare(b.startedAt)).map((j) => j.runId),
    );
    expect(await page.locator('.callout li').first().textContent()).toMatch(/^timeouts: checkout stays fast while payments is slow: PASS → FAIL/);
    await screenshot(page, 'history');
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('the HTML report of a real run, in chromium', () => {
  let server: ChildProcess | undefined;
  afterAll(() => {
    if (server?.pid) {
      process.kill(server.pid, 'SIGCONT');
      server.kill('SIGKILL');
    }
  });

  it('shows a server frozen under traffic: the freeze shaded over the latency and errors, the verdicts as the run judged them', async (ctx) => {
    await requireChromium(ctx);
    const dir = await mkdtemp(join(tmpdir(), 'faultline-html-real-'));
    const port = await freePort();
    server = spawn(process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`], { stdio: 'ignore' });
    await writeFile(join(dir, 'server.pid'), `${server.pid}\n`);
    await waitFor('the server to answer', () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false));
    await writeFile(
      join(dir, 'freeze.yaml'),
      [
        'version: 1',
        'title: a lone server frozen under traffic',
        'workload:',
        `  url: "http://127.0.0.1:${port}/"`,
        '  rate: 40',
        '  timeout: 3s',
        '  before: 1s',
        '  after: 1s',
        'method:',
        '  - id: freeze',
        '    name: freeze the server (SIGSTOP)',
        '    fault: process.stop',
        `    with: { pidfile: ${join(dir, 'server.pid')} }`,
        '    at: 1s',
        '    duration: 2s',
        '  - name: wait for the traffic after the freeze',
        '    probe: command',
        '    with: { run: "true" }',
        '    at: 4s',
        'verdicts:',
        '  timeouts:',
        '    faults: [freeze]',
        '    latency: { p99: 1s }',
        '  retries:',
        '    faults: [freeze]',
        '    errorRate: 50%',
        '  failover:',
        '    faults: [freeze]',
        '    successRate: 50%',
        '    longestGap: 500ms',
        '',
      ].join('\n'),
    );
    const result = await runCli(['run', join(dir, 'freeze.yaml'), '--ledger-dir', join(dir, 'ledger'), '--journal', join(dir, 'journal.json'), '--html'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`html: ${join(dir, 'journal.html')}`);
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as Journal;
    // Requests wait out the 2 s freeze: p99 far above 1 s, a gap far above 500 ms.
    expect(journal.verdicts.map((v) => v.name)).toEqual(['timeouts', 'retries', 'failover']);
    expect(journal.verdicts.find((v) => v.name === 'timeouts')!.result).toBe('fail');
    expect(journal.verdicts.find((v) => v.name === 'failover')!.result).toBe('fail');
    expect(runTimeline(journal).bands).toHaveLength(1);
    await checkRunPage(ctx, journal, join(dir, 'journal.html'), 'real-run');
  });
});
