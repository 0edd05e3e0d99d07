// The HTML report's stylesheet: light and dark themes from the reader's preference (print always
// light), results told by words and icons as well as colour, visible keyboard focus, and page breaks
// that keep a card or a chart whole.
export const HTML_STYLE = String.raw`
:root {
  --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --panel: #f6f8fa; --grid: rgba(0,0,0,0.08);
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --idle: #6e5c00; --idle-bg: #fff8c5;
  --other: #6639ba; --other-bg: #fbefff; --band: rgba(154, 103, 0, 0.55); --band-fill: rgba(212, 167, 44, 0.10);
  --abort: #cf222e; --recover: #1a7f37; --focus: #0969da;
  /* Okabe-Ito: told apart with colour blindness; each series also has its own dash pattern. */
  --c1: #0072b2; --c2: #d55e00; --c3: #009e73; --c4: #cc79a7; --c5: #e69f00; --c6: #56b4e9; --c7: #000000;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --panel: #161b22; --grid: rgba(255,255,255,0.09);
    --pass: #3fb950; --pass-bg: #12261e; --fail: #f85149; --fail-bg: #2d1214; --idle: #d29922; --idle-bg: #272115;
    --other: #bc8cff; --other-bg: #221a33; --band: rgba(210, 153, 34, 0.7); --band-fill: rgba(210, 153, 34, 0.12);
    --abort: #f85149; --recover: #3fb950; --focus: #58a6ff;
    --c1: #56b4e9; --c2: #ff8c42; --c3: #3fd0a0; --c4: #e39ac7; --c5: #f0c419; --c6: #9ad0f5; --c7: #e6edf3;
  }
}
@media print {
  :root {
    --bg: #ffffff; --fg: #000000; --muted: #444; --line: #999; --panel: #ffffff; --grid: rgba(0,0,0,0.12);
    --pass: #000; --pass-bg: #fff; --fail: #000; --fail-bg: #fff; --idle: #000; --idle-bg: #fff; --other: #000; --other-bg: #fff;
    --band: rgba(0,0,0,0.6); --band-fill: rgba(0,0,0,0.04); --abort: #000; --recover: #000;
    --c1: #0072b2; --c2: #d55e00; --c3: #009e73; --c4: #cc79a7; --c5: #e69f00; --c6: #56b4e9; --c7: #000000;
  }
  nav.toc, .copy, .skip { display: none !important; }
  section, .card, figure, table { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  details > *:not(summary) { display: block; }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body { margin: 0 auto; max-width: 1200px; padding: 1.5rem; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 1.5rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.75rem; border-bottom: 1px solid var(--line); padding-bottom: 0.25rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
p { margin: 0.4rem 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
pre { background: var(--panel); border: 1px solid var(--line); padding: 0.6rem 0.8rem; overflow-x: auto; border-radius: 6px; white-space: pre-wrap; word-break: break-all; }
a { color: var(--focus); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -10000px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: 0.5rem; z-index: 10; }
.muted { color: var(--muted); }
.meta { color: var(--muted); font-size: 0.9rem; }
.meta span + span::before { content: " · "; }
nav.toc { margin: 0.75rem 0 0; font-size: 0.9rem; }
nav.toc a { margin-right: 1rem; }
.status { display: inline-block; font-weight: 700; padding: 0.1rem 0.6rem; border-radius: 999px; border: 2px solid currentColor; margin-right: 0.5rem; }
.r-pass { color: var(--pass); background: var(--pass-bg); }
.r-fail { color: var(--fail); background: var(--fail-bg); }
.r-not-exercised { color: var(--idle); background: var(--idle-bg); }
.r-other { color: var(--other); background: var(--other-bg); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 0.9rem; }
.card { border: 1px solid var(--line); border-left-width: 6px; border-radius: 8px; padding: 0.8rem 1rem; background: var(--panel); }
.card.r-pass { border-left-color: var(--pass); border-left-style: solid; }
.card.r-fail { border-left-color: var(--fail); border-left-style: double; border-left-width: 8px; }
.card.r-not-exercised { border-left-color: var(--idle); border-left-style: dashed; }
.card.r-other { border-left-color: var(--other); border-left-style: dotted; }
.card { color: var(--fg); }
.card h3 { margin: 0 0 0.35rem; font-size: 1rem; }
.card .result { font-weight: 800; letter-spacing: 0.03em; }
.card.r-pass .result { color: var(--pass); } .card.r-fail .result { color: var(--fail); }
.card.r-not-exercised .result { color: var(--idle); } .card.r-other .result { color: var(--other); }
.card table { margin-top: 0.5rem; font-size: 0.88rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
.ok::before { content: "✔ "; } .bad::before { content: "✖ "; } .unknown::before { content: "? "; }
.ok { color: var(--pass); } .bad { color: var(--fail); font-weight: 600; } .unknown { color: var(--muted); }
figure { margin: 0 0 1.25rem; }
figcaption { font-weight: 600; margin-bottom: 0.25rem; }
.chart { min-height: 240px; border-radius: 6px; }
.chart:focus-visible { outline-offset: 4px; }
.chart .u-legend { font-size: 0.85rem; }
.chart .u-legend tr.u-series { cursor: pointer; }
.hint { font-size: 0.82rem; color: var(--muted); }
.strip { position: relative; border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 0.5rem 0.25rem; background: var(--panel); }
.strip .row { display: grid; grid-template-columns: minmax(8rem, 16rem) 1fr; gap: 0.5rem; align-items: center; min-height: 1.8rem; }
.strip .lane { position: relative; height: 1.3rem; border-left: 1px solid var(--line); border-right: 1px solid var(--line); }
.strip .bar { position: absolute; top: 0; bottom: 0; min-width: 3px; border: 2px solid var(--band); background: repeating-linear-gradient(45deg, var(--band-fill), var(--band-fill) 4px, var(--band) 4px, var(--band) 6px); }
.strip .bar.open-end { border-right-style: dashed; }
.strip .mark { position: absolute; top: -0.2rem; bottom: -0.2rem; border-left: 3px dashed var(--abort); }
.strip .mark.recovered { border-left: 3px dotted var(--recover); }
.strip .axis { position: relative; height: 1.2rem; font-size: 0.78rem; color: var(--muted); }
.strip .axis span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
.strip .axis span:first-child { transform: none; }
.strip .label { font-size: 0.85rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.history td.cell { text-align: center; white-space: nowrap; font-weight: 700; font-size: 0.82rem; }
.history td.changed { outline: 3px solid var(--fg); outline-offset: -3px; }
.callout { border: 2px solid var(--fail); background: var(--fail-bg); border-radius: 8px; padding: 0.6rem 1rem; margin: 1rem 0; }
.callout.calm { border-color: var(--line); background: var(--panel); }
.callout ul { margin: 0.3rem 0 0; padding-left: 1.2rem; }
button.copy { font: inherit; font-size: 0.85rem; margin-left: 0.5rem; padding: 0.1rem 0.5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--panel); color: var(--fg); cursor: pointer; }
details summary { cursor: pointer; }
`;
