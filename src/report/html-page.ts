// The shell every HTML report shares: one self-contained document with its styles, the chart library
// (uPlot, read from node_modules at render time) and its drawing script inline, the data as JSON, and a
// content security policy that forbids any network request, so the file works offline and from a CI
// artifact exactly as it does on the machine that wrote it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { HTML_CLIENT_SCRIPT } from './html-client.js';
import { HTML_STYLE } from './html-style.js';

/** Text or an attribute value that renders as itself. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON that can sit inside a <script> element: no `</script>` or `<!--` can close it early. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** uPlot's browser build and its stylesheet, as shipped in its npm package. */
export function chartLibrary(): { script: string; style: string } {
  const require = createRequire(import.meta.url);
  const read = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
  // Its sourcemap comment would make a browser's devtools ask the network for the map.
  return { script: read('uPlot.iife.min.js').replace(/\/\/# sourceMappingURL=\S+\s*$/, ''), style: read('uPlot.min.css') };
}

// Nothing may be fetched: scripts and styles are inline, images are data: URLs, and no connection is allowed.
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'";

export interface PageParts {
  title: string;
  /** The page's body, already escaped. */
  body: string;
  /** What the drawing script reads: a ChartPayload, or nothing when the page has no chart. */
  data: unknown;
  generator: string;
}

export function renderPage(parts: PageParts): string {
  const library = chartLibrary();
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<meta name="generator" content="${escapeHtml(parts.generator)}">`,
    `<title>${escapeHtml(parts.title)}</title>`,
    `<style>${library.style}</style>`,
    `<style>${HTML_STYLE}</style>`,
    '</head>',
    '<body>',
    parts.body,
    `<script type="application/json" id="faultline-data">${jsonForScript(parts.data ?? null)}</script>`,
    `<script>${library.script}</script>`,
    `<script>${HTML_CLIENT_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
