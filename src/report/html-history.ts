// The HTML history of many runs (`faultline report <folder> --format html`): per experiment, runs
// ordered by when they started, each verdict's result over time, p99 latency and error rate under
// each fault and the time to recover across runs, and what the latest run changed against the one
// before, so a regression between two releases stands out.
import { formatDuration } from '../core/duration.js';
import { formatRatio } from '../core/ratio.js';
import type { Journal } from '../engine/journal.js';
import { escapeHtml as esc } from './html-page.js';
import { resultLook, statusBadge, tallyResults, utc } from './html-run.js';
import type { ChartPayload, ChartSeries, ChartSpec } from './html-timeline.js';
import { verdictLabel } from './labels.js';

export interface RunGroup {
  file: string;
  title: string;
  /** Oldest first. */
  runs: Journal[];
}

/** Journals grouped by experiment file, each group's runs by start time (then run id), groups by their first run. */
export function groupRuns(journals: readonly Journal[]): RunGroup[] {
  const groups = new Map<string, Journal[]>();
  for (const journal of journals) groups.set(journal.experiment.file, [...(groups.get(journal.experiment.file) ?? []), journal]);
  const byTime = (a: Journal, b: Journal) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || a.runId.localeCompare(b.runId);
  return [...groups.entries()]
    .map(([file, runs]) => {
      const sorted = [...runs].sort(byTime);
      return { file, title: sorted.at(-1)!.experiment.title, runs: sorted };
    })
    .sort((a, b) => byTime(a.runs[0]!, b.runs[0]!));
}

/** `#3 05-04 09:30`: a run's number in its group and when it started (UTC). */
export function runTick(journal: Journal, index: number): string {
  return `#${index + 1} ${journal.startedAt.slice(5, 10)} ${journal.startedAt.slice(11, 16)}`;
}

/** Fault step keys as they appear across runs, with the latest name each had. */
function faultKeys(runs: readonly Journal[]): { key: string; name: string }[] {
  const names = new Map<string, string>();
  for (const run of runs) for (const window of run.windows) if (window.kind === 'fault' && window.fault) names.set(window.fault, run.faults.find((f) => f.key === window.fault)?.name ?? window.fault);
  return [...names.entries()].map(([key, name]) => ({ key, name }));
}

/** Each self-healing verdict's time to recover in seconds, by verdict label. */
function recoverySeries(runs: readonly Journal[]): ChartSeries[] {
  const labels = [...new Set(runs.flatMap((run) => run.verdicts.filter((v) => v.name === 'self-healing').map(verdictLabel)))];
  return labels.map((label) => ({
    label,
    values: runs.map((run) => {
      const value = run.verdicts.find((v) => verdictLabel(v) === label)?.evidence?.figures?.recoveryMs;
      return typeof value === 'number' ? Math.round(value) / 1000 : null;
    }),
  }));
}

export function historyPayload(group: RunGroup): ChartPayload {
  const { runs } = group;
  const faults = faultKeys(runs);
  const window = (run: Journal, key: string) => run.windows.find((w) => w.kind === 'fault' && w.fault === key);
  const p99: ChartSeries[] = faults.map(({ key, name }) => ({ label: name, values: runs.map((run) => window(run, key)?.latency?.p99 ?? null) }));
  const errors: ChartSeries[] = faults.map(({ key, name }) => ({
    label: name,
    values: runs.map((run) => {
      const rate = window(run, key)?.errorRate;
      return rate === undefined || rate === null ? null : Math.round(rate * 10_000) / 100;
    }),
  }));
  const baseline = (run: Journal) => run.windows.find((w) => w.kind === 'baseline');
  if (faults.length && runs.some((run) => baseline(run)?.latency)) p99.push({ label: 'baseline (no fault)', values: runs.map((run) => baseline(run)?.latency?.p99 ?? null) });
  const recovery = recoverySeries(runs);
  const charts: ChartSpec[] = [];
  const across = `across ${runs.length} runs, oldest first`;
  if (p99.length) charts.push({ id: 'p99', title: 'p99 latency under each fault', unit: 'ms', series: p99, description: `p99 latency of each fault's window ${across}` });
  if (errors.length) charts.push({ id: 'errors', title: 'Error rate under each fault', unit: '%', series: errors, description: `Error rate of each fault's window ${across}` });
  if (recovery.length) charts.push({ id: 'recovery', title: 'Time to recover', unit: 's', series: recovery, description: `Time to recover measured by each self-healing verdict ${across}` });
  return { x: runs.map((_, i) => i), xLabel: 'run (oldest first)', xTicks: runs.map(runTick), points: true, charts, bands: [], markers: [] };
}

/** What the latest run changed against the one before: verdict flips, and figures that got worse by half or more. */
export function regressions(group: RunGroup): string[] {
  const [previous, latest] = group.runs.slice(-2);
  if (!previous || !latest) return [];
  const found: string[] = [];
  for (const verdict of latest.verdicts) {
    const before = previous.verdicts.find((v) => verdictLabel(v) === verdictLabel(verdict));
    if (before && before.result !== verdict.result && verdict.result !== 'pass') {
      found.push(`${verdictLabel(verdict)}: ${resultLook(before.result).label} → ${resultLook(verdict.result).label} (${verdict.evidence.summary})`);
    }
  }
  for (const latestWindow of latest.windows.filter((w) => w.kind === 'fault' && w.fault)) {
    const before = previous.windows.find((w) => w.kind === 'fault' && w.fault === latestWindow.fault);
    if (!before) continue;
    const p99Now = latestWindow.latency?.p99;
    const p99Then = before.latency?.p99;
    if (p99Now !== undefined && p99Then !== undefined && p99Now >= p99Then * 1.5 && p99Now - p99Then >= 20) {
      found.push(`p99 under ${latestWindow.name.replace(/^fault /, '')}: ${formatDuration(p99Then)} → ${formatDuration(p99Now)}`);
    }
    const errNow = latestWindow.errorRate;
    const errThen = before.errorRate;
    if (errNow !== null && errThen !== null && errNow >= errThen * 1.5 && errNow - errThen >= 0.01) {
      found.push(`error rate under ${latestWindow.name.replace(/^fault /, '')}: ${formatRatio(errThen)} → ${formatRatio(errNow)}`);
    }
  }
  const recovery = recoverySeries([previous, latest]);
  for (const series of recovery) {
    const [then, now] = series.values;
    if (typeof then === 'number' && typeof now === 'number' && now >= then * 1.5 && now - then >= 0.5) found.push(`time to recover (${series.label}): ${then}s → ${now}s`);
    if (typeof then === 'number' && now === null) found.push(`time to recover (${series.label}): ${then}s → not recovered`);
  }
  return found;
}

function verdictMatrix(group: RunGroup, panel: number): string {
  const labels = [...new Set(group.runs.flatMap((run) => run.verdicts.map(verdictLabel)))];
  if (labels.length === 0) return '<p class="muted">These runs hold no verdicts.</p>';
  const head = group.runs.map((run, i) => `<th scope="col" class="num" title="${esc(`run ${run.runId}`)}">${esc(runTick(run, i))}</th>`).join('');
  const rows = labels.map((label) => {
    let previous: string | undefined;
    const cells = group.runs.map((run) => {
      const verdict = run.verdicts.find((v) => verdictLabel(v) === label);
      if (!verdict) {
        previous = undefined;
        return '<td class="cell muted">–</td>';
      }
      const look = resultLook(verdict.result);
      const changed = previous !== undefined && previous !== verdict.result;
      previous = verdict.result;
      const words = `${label}, run ${run.runId}: ${look.label}${changed ? ' (changed)' : ''}. ${verdict.evidence?.summary ?? ''}`;
      return `<td class="cell ${look.className}${changed ? ' changed' : ''}" data-result="${esc(verdict.result)}" title="${esc(words)}" aria-label="${esc(words)}">${look.icon} ${esc(look.label)}${changed ? ' ◆' : ''}</td>`;
    });
    return `<tr><th scope="row">${esc(label)}</th>${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="history" id="verdict-history-${panel}"><thead><tr><th scope="col">verdict</th>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></div><p class="hint">◆ and a frame: the result changed from the run before.</p>`;
}

function runsTable(group: RunGroup, panel: number): string {
  const rows = group.runs.map((run, i) => {
    const verdicts = tallyResults(run.verdicts.map((v) => v.result)) || '-';
    return `<tr data-run-id="${esc(run.runId)}" data-started="${esc(run.startedAt)}"><td class="num">${i + 1}</td><td>${esc(utc(run.startedAt))}</td><td><code>${esc(run.runId)}</code></td><td>${statusBadge(run.status)}</td><td>${esc(verdicts)}</td><td class="num">${esc(formatDuration(run.durationMs))}</td><td class="num">${run.seed}</td><td>${esc(run.faultline ?? '')}</td></tr>`;
  });
  return `<div class="scroll"><table class="runs" id="runs-${panel}"><thead><tr><th scope="col" class="num">#</th><th scope="col">started</th><th scope="col">run</th><th scope="col">result</th><th scope="col">verdicts</th><th scope="col" class="num">duration</th><th scope="col" class="num">seed</th><th scope="col">faultline</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`;
}

function groupSection(group: RunGroup, panel: number, payload: ChartPayload): string {
  const first = group.runs[0]!;
  const last = group.runs.at(-1)!;
  const changes = regressions(group);
  const callout =
    group.runs.length < 2
      ? ''
      : changes.length
        ? `<div class="callout" role="note"><strong>⚠ The latest run got worse than the one before</strong><ul>${changes.map((c) => `<li>${esc(c)}</li>`).join('')}</ul></div>`
        : '<div class="callout calm" role="note">No verdict got worse and no figure under a fault rose by half or more since the run before.</div>';
  const charts = payload.charts.map(
    (chart) =>
      `<figure aria-labelledby="h${panel}-${chart.id}"><figcaption id="h${panel}-${chart.id}">${esc(chart.title)} <span class="muted">(${esc(chart.unit)})</span></figcaption><div class="chart" data-panel="${panel}" data-chart="${chart.id}" tabindex="0" role="group" aria-label="${esc(chart.title)} chart; arrow keys move through the runs"><noscript>Charts need JavaScript; the tables hold the results by run.</noscript></div><p class="hint">${esc(chart.description)}</p></figure>`,
  );
  return [
    `<section class="experiment" id="experiment-${panel}" aria-labelledby="experiment-${panel}-h" data-runs="${group.runs.length}">`,
    `<h2 id="experiment-${panel}-h">${esc(group.title)}</h2>`,
    `<p class="meta"><span><code>${esc(group.file)}</code></span><span>${group.runs.length} run${group.runs.length === 1 ? '' : 's'}</span><span>${esc(utc(first.startedAt))} → ${esc(utc(last.startedAt))}</span></p>`,
    callout,
    '<h3>Verdicts over time</h3>',
    verdictMatrix(group, panel),
    ...(charts.length ? ['<h3>Under each fault, run by run</h3>', ...charts] : []),
    '<h3>Runs</h3>',
    runsTable(group, panel),
    '</section>',
  ].join('\n');
}

export function renderHistoryBody(journals: readonly Journal[]): { body: string; panels: ChartPayload[]; title: string } {
  const groups = groupRuns(journals);
  const panels = groups.map(historyPayload);
  const title = groups.length === 1 ? `History: ${groups[0]!.title}` : `History of ${groups.length} experiments`;
  const toc =
    groups.length > 1 ? `<nav class="toc" aria-label="Experiments">${groups.map((g, i) => `<a href="#experiment-${i}">${esc(g.title)}</a>`).join('')}</nav>` : '';
  const body = [
    '<main>',
    '<header>',
    `<h1>${esc(title)}</h1>`,
    `<p class="meta"><span>${journals.length} journals</span><span>runs ordered by start time, oldest first</span></p>`,
    toc,
    '</header>',
    ...groups.map((group, i) => groupSection(group, i, panels[i]!)),
    '</main>',
  ].join('\n');
  return { body, panels, title };
}
