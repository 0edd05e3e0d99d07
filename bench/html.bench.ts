// The HTML report's size and speed on the largest journal a 10-minute run at 1,000 requests a second
// makes (600 per-second entries, four faults, a probe every 5 s), side by side with the Markdown
// report of the same journal: render time (median and fastest of the rounds, after one warm-up),
// the page's size and the journal's; then, when chromium is installed, the time from opening the
// file to every chart drawn. The bound the issue sets: under 1 s and under 500 KB. Run with
// `npm run bench:html` (BENCH_ROUNDS, BENCH_SECONDS, BENCH_RATE to change the defaults).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { findChromium } from '../testenv/chromium.js';
import { launchChromium } from '../test/support/browser.js';
import { renderHtml } from '../src/report/html.js';
import { renderMarkdown } from '../src/report/markdown.js';
import { loadFixture } from '../test/support/journals.js';
import { longRunJournal } from '../test/support/synthetic-journals.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const seconds = Number(process.env.BENCH_SECONDS ?? 600);
const rate = Number(process.env.BENCH_RATE ?? 1000);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function time(render: () => string): { ms: number[]; bytes: number } {
  let bytes = Buffer.byteLength(render()); // warm-up: the first render also reads uPlot from disk
  const ms: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    bytes = Buffer.byteLength(render());
    ms.push(performance.now() - started);
  }
  return { ms, bytes };
}

const journal = longRunJournal(await loadFixture('passed-verdicts'), seconds, rate);
const journalBytes = Buffer.byteLength(JSON.stringify(journal, null, 2));
const html = time(() => renderHtml([journal]));
const markdown = time(() => renderMarkdown([journal]));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const row = (name: string, r: { ms: number[]; bytes: number }) => `${name.padEnd(10)} median ${median(r.ms).toFixed(1).padStart(7)} ms   fastest ${Math.min(...r.ms).toFixed(1).padStart(7)} ms   ${kb(r.bytes).padStart(10)}`;
console.log(`journal: ${seconds} s at ${rate} req/s, ${journal.workload!.seconds.length} per-second entries, ${journal.faults.length} faults, ${journal.activities.length} activities; ${kb(journalBytes)} as written`);
console.log(`${rounds} rounds after a warm-up`);
console.log(row('html', html));
console.log(row('markdown', markdown));
console.log(`html / markdown time: ${(median(html.ms) / median(markdown.ms)).toFixed(1)}x`);
const withinTime = median(html.ms) < 1000;
const withinSize = html.bytes < 500 * 1024;
console.log(`bound: render < 1 s ${withinTime ? 'held' : 'BROKEN'}, file < 500 KB ${withinSize ? 'held' : 'BROKEN'}`);

const chromium = await findChromium();
if (!chromium) {
  console.log('chromium: not installed (npm run testenv -- up installs it); browser drawing time not measured');
} else {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-html-bench-'));
  // Beside the 10-minute page, the 32-second fixture's: what opening any page costs on this machine.
  const pages = { '10-minute run': journal, '32-second run': await loadFixture('passed-verdicts') };
  const { browser, close } = await launchChromium(chromium);
  try {
    for (const [name, run] of Object.entries(pages)) {
      const file = join(dir, `${name.replace(/\W+/g, '-')}.html`);
      await writeFile(file, renderHtml([run]));
      const drawn: number[] = [];
      // Alternating would be fairer, but pages are independent; the first round warms the browser.
      for (let round = 0; round <= Math.min(rounds, 5); round++) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const started = performance.now();
        await page.goto(pathToFileURL(file).href);
        await page.waitForFunction(`document.querySelectorAll('[data-chart][data-drawn="true"]').length === 3`, null, { timeout: 30_000 });
        if (round > 0) drawn.push(performance.now() - started);
        await page.close();
      }
      console.log(`chromium, ${name}: open the file to all 3 charts drawn, median ${median(drawn).toFixed(0)} ms, fastest ${Math.min(...drawn).toFixed(0)} ms (${drawn.length} rounds)`);
    }
  } finally {
    await close();
  }
}
