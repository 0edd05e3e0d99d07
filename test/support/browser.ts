// A real browser for the HTML report tests: Debian's chromium (installed by the test environment),
// driven by playwright-core pointed at the system binary, since no browser download is possible here.
// Each launch gets a new empty profile (playwright makes one per launch in the temp folder and removes
// it on close; it refuses --user-data-dir) and every background network feature off.
import type { TestContext } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { findChromium } from '../../testenv/chromium.js';
import { isCI } from './testenv.js';

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(executablePath: string): Promise<LaunchedBrowser> {
  const browser = await chromium.launch({ executablePath, args: ARGS, timeout: 60_000 });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

/** The system chromium, or a skipped test (a failed one under CI=true) with the reason. */
export async function requireChromium(ctx?: TestContext): Promise<string> {
  const found = await findChromium();
  if (found) return found;
  const message = 'chromium is needed by this test: it is not installed; `npm run testenv -- up` installs it';
  if (isCI() || !ctx) throw new Error(message);
  process.stderr.write(`skipped "${ctx.task.name}": ${message}\n`);
  ctx.skip(message);
  throw new Error('unreachable: ctx.skip() throws');
}
