// The HTML page of one run: the verdicts first as cards (result, evidence, bounds), then the timeline
// (a strip of the faults' live windows and the workload's charts), the traffic by window, the faults
// with their targets and evidence of reach, the probes, and the command that reproduces the run.
import { formatDuration } from '../core/duration.js';
import { formatRatio } from '../core/ratio.js';
import type { ActivityRecord, FaultRecord, Journal, RunStatus } from '../engine/journal.js';
import type { FaultEffect, ReachEvidence } from '../drivers/types.js';
import type { VerdictRecord } from '../verdicts/types.js';
import { OUTCOME_CLASSES, type WorkloadWindow } from '../workload/types.js';
import { runTimeline, type ChartPayload } from './html-timeline.js';
import { escapeHtml as esc } from './html-page.js';
import { faultStatus, offset, reproduceCommand, STATUS_LABEL, verdictLabel, VERDICT_RESULT_LABEL } from './labels.js';
import { describeOutcome } from './terminal.js';

/** A verdict result's words, icon and style; a result this version does not know is shown as it is. */
export function resultLook(result: string): { label: string; icon: string; className: string } {
  const known = (VERDICT_RESULT_LABEL as Record<string, string>)[result];
  const label = known ?? result.toUpperCase().replace(/-/g, ' ');
  switch (result) {
    case 'pass':
      return { label, icon: '✔', className: 'r-pass' };
    case 'fail':
      return { label, icon: '✖', className: 'r-fail' };
    case 'not-exercised':
      return { label, icon: '○', className: 'r-not-exercised' };
    case 'unstable':
      return { label, icon: '≈', className: 'r-other' };
    default:
      return { label, icon: '?', className: 'r-other' };
  }
}

const STATUS_LOOK: Record<RunStatus, { icon: string; className: string }> = {
  passed: { icon: '✔', className: 'r-pass' },
  deviated: { icon: '✖', className: 'r-fail' },
  aborted: { icon: '⚠', className: 'r-not-exercised' },
  failed: { icon: '✖', className: 'r-fail' },
  'rollback-incomplete': { icon: '‼', className: 'r-fail' },
  interrupted: { icon: '■', className: 'r-not-exercised' },
};

export function statusBadge(status: string): string {
  const look = (STATUS_LOOK as Record<string, { icon: string; className: string }>)[status] ?? { icon: '?', className: 'r-other' };
  const label = (STATUS_LABEL as Record<string, string>)[status] ?? status.toUpperCase();
  return `<span class="status ${look.className}">${look.icon} ${esc(label)}</span>`;
}

/** `2026-05-04 09:30:00 UTC`. */
export const utc = (iso: string) => iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');

const num = (value: number) => value.toLocaleString('en-US');
const ms = (value: number | undefined | null) => (value === undefined || value === null ? '-' : formatDuration(value));

function table(header: string[], rows: string[][], numeric: readonly number[] = []): string {
  const th = header.map((h, i) => `<th scope="col"${numeric.includes(i) ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function verdictCard(verdict: VerdictRecord, journal: Journal): string {
  const look = resultLook(verdict.result);
  const evidence = verdict.evidence ?? { summary: '', faults: [], windows: [], checks: [], figures: {} };
  const faultNames = (evidence.faults ?? []).map((key) => journal.faults.find((f) => f.key === key)?.name ?? key);
  const checks = (evidence.checks ?? []).map((check) => [
    esc(check.what),
    esc(check.bound),
    esc(check.measured),
    check.ok ? '<span class="ok">held</span>' : '<span class="bad">broken</span>',
  ]);
  return [
    `<article class="card ${look.className}" data-verdict="${esc(verdict.name)}" data-result="${esc(verdict.result)}" aria-label="${esc(`${verdictLabel(verdict)}: ${look.label}`)}">`,
    `<h3>${esc(verdict.name)}${verdict.title ? `<span class="muted">: ${esc(verdict.title)}</span>` : ''}</h3>`,
    `<p class="result">${look.icon} ${esc(look.label)}</p>`,
    `<p>${esc(evidence.summary)}</p>`,
    checks.length ? table(['check', 'bound', 'measured', ''], checks) : '',
    faultNames.length || evidence.windows?.length
      ? `<p class="meta">${faultNames.length ? `<span>faults: ${esc(faultNames.join(', '))}</span>` : ''}${evidence.windows?.length ? `<span>windows: ${esc(evidence.windows.join(', '))}</span>` : ''}</p>`
      : '',
    '</article>',
  ].join('\n');
}

const RESULT_ORDER = ['pass', 'fail', 'not-exercised', 'unstable'];

/** `2 pass, 1 fail`: known results in a fixed order, then any others as they come. */
export function tallyResults(results: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const result of results) counts.set(result, (counts.get(result) ?? 0) + 1);
  const rank = (result: string) => (RESULT_ORDER.includes(result) ? RESULT_ORDER.indexOf(result) : RESULT_ORDER.length);
  return [...counts.entries()]
    .sort((a, b) => rank(a[0]) - rank(b[0]))
    .map(([result, n]) => `${n} ${resultLook(result).label.toLowerCase()}`)
    .join(', ');
}

function verdictsSection(journal: Journal): string {
  const verdicts = journal.verdicts ?? [];
  const tally = tallyResults(verdicts.map((v) => v.result));
  return [
    '<section id="verdicts" aria-labelledby="verdicts-h">',
    `<h2 id="verdicts-h">Verdicts${verdicts.length ? ` <span class="muted">(${esc(tally)})</span>` : ''}</h2>`,
    verdicts.length ? `<div class="cards">\n${verdicts.map((v) => verdictCard(v, journal)).join('\n')}\n</div>` : '<p class="muted">This experiment declares no verdicts.</p>',
    '</section>',
  ].join('\n');
}

/** 1, 2, 5, 10, 20, 50 … seconds: the tick spacing nearest above `rough`. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 0.001)));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? 10 * power;
}

/** The faults' live windows as bars on one time line: readable in print, without script, and by a screen reader. */
function faultStrip(timeline: ChartPayload, step: number): string {
  const { bands, markers } = timeline;
  if (bands.length === 0 && markers.length === 0) return '';
  const from = Math.min(0, ...(timeline.x.length ? [timeline.x[0]! - step / 2] : []), ...bands.map((b) => b.fromS));
  const to = Math.max(from + 1, ...(timeline.x.length ? [timeline.x.at(-1)! + step / 2] : []), ...bands.map((b) => b.toS), ...markers.map((m) => m.atS));
  const pct = (s: number) => `${(((s - from) / (to - from)) * 100).toFixed(2)}%`;
  const rows = bands.map((band, i) => {
    const words = `${band.label}: live from +${band.fromS}s to +${band.toS}s (${band.end === 'undone' ? 'undone' : band.end})`;
    return `<div class="row"><span class="label" title="${esc(band.label)}">${i + 1} ${esc(band.label)}</span><div class="lane"><span class="bar${band.end === 'undone' ? '' : ' open-end'}" style="left:${pct(band.fromS)};width:calc(${pct(band.toS)} - ${pct(band.fromS)})" role="img" aria-label="${esc(words)}" title="${esc(words)}"></span></div></div>`;
  });
  const marks = markers.map(
    (mark) =>
      `<div class="row"><span class="label">${mark.kind === 'abort' ? '⚠' : '✔'} ${esc(mark.label)}</span><div class="lane"><span class="mark${mark.kind === 'recovered' ? ' recovered' : ''}" style="left:${pct(mark.atS)}" role="img" aria-label="${esc(`${mark.label} at +${mark.atS}s`)}" title="${esc(`+${mark.atS}s`)}"></span></div></div>`,
  );
  const stepS = niceStep((to - from) / 6);
  const ticks: number[] = [];
  for (let t = Math.ceil(from / stepS) * stepS; t <= to && ticks.length < 20; t += stepS) ticks.push(t);
  const axis = `<div class="row" aria-hidden="true"><span class="label muted">seconds from the method start</span><div class="axis">${ticks
    .map((t) => `<span style="left:${pct(t)}">${t > 0 ? '+' : ''}${t}s</span>`)
    .join('')}</div></div>`;
  return `<div class="strip" id="fault-strip" data-bands="${bands.length}" data-markers="${markers.length}">\n${[...rows, ...marks, axis].join('\n')}\n</div>`;
}

function timelineSection(journal: Journal, timeline: ChartPayload): string {
  const step = journal.workload?.secondsPerEntry ?? 1;
  const parts = ['<section id="timeline" aria-labelledby="timeline-h">', '<h2 id="timeline-h">Timeline</h2>'];
  if (timeline.bands.length || timeline.markers.length) {
    parts.push('<h3>Faults over the run</h3>', faultStrip(timeline, step));
  }
  if (timeline.charts.length === 0) {
    parts.push('<p class="muted">No workload: this run drove no traffic, so there is no latency, error or throughput to chart.</p>');
  } else {
    const workload = journal.workload!;
    parts.push(
      `<p class="meta"><span>${esc(workload.method)} ${esc(workload.url)}</span><span>${workload.rate !== undefined ? `${num(workload.rate)} req/s (open model)` : `${num(workload.concurrency ?? 0)} users (closed model)`}</span><span>timeout ${ms(workload.timeoutMs)}</span>${step > 1 ? `<span>one point per ${step} s</span>` : ''}</p>`,
      '<p class="hint">Shaded and numbered: each fault\'s live window (a solid right edge is its undo). Click or focus a chart and use the arrow keys to read each second; Enter on a legend row hides or shows its line.</p>',
    );
    for (const chart of timeline.charts) {
      parts.push(
        `<figure aria-labelledby="chart-${chart.id}-h" aria-describedby="chart-${chart.id}-d">`,
        `<figcaption id="chart-${chart.id}-h">${esc(chart.title)} <span class="muted">(${esc(chart.unit)})</span></figcaption>`,
        `<div class="chart" data-chart="${chart.id}" tabindex="0" role="group" aria-label="${esc(chart.title)} chart; arrow keys move through the seconds"><noscript>Charts need JavaScript; the tables below hold the same figures by window.</noscript></div>`,
        `<p class="hint" id="chart-${chart.id}-d">${esc(chart.description)}</p>`,
        '</figure>',
      );
    }
  }
  parts.push('</section>');
  return parts.join('\n');
}

function windowsSection(journal: Journal): string {
  if (journal.windows.length === 0) return '';
  const classes = OUTCOME_CLASSES.filter((c) => !['2xx', '3xx'].includes(c) && journal.windows.some((w) => (w.outcomes?.[c] ?? 0) > 0));
  const rows = journal.windows.map((w: WorkloadWindow) => [
    `${w.kind === 'total' ? '<strong>' : ''}${esc(w.name)}${w.kind === 'total' ? '</strong>' : ''}`,
    offset(w.startMs).replace('+-', '-'),
    offset(w.endMs).replace('+-', '-'),
    num(w.requests),
    w.requests === 0 ? '-' : `${formatRatio(w.successRate)} <span class="muted">(${num(w.ok)}/${num(w.requests)})</span>`,
    w.errorRate === null ? '-' : formatRatio(w.errorRate),
    ...classes.map((c) => num(w.outcomes?.[c] ?? 0)),
    `${w.throughput}`,
    ms(w.latency?.p50),
    ms(w.latency?.p99),
    ms(w.latency?.max),
    ms(w.longestGapMs),
  ]);
  const header = ['window', 'from', 'to', 'requests', 'success', 'errors', ...classes, 'req/s', 'p50', 'p99', 'max', 'longest gap'];
  const numeric = header.map((_, i) => i).filter((i) => i > 0);
  return ['<section id="windows" aria-labelledby="windows-h">', '<h2 id="windows-h">Traffic by window</h2>', table(header, rows, numeric), '</section>'].join('\n');
}

export function describeEffect(effect: FaultEffect | undefined): string {
  if (!effect) return '-';
  const parts: string[] = [];
  if (effect.outage) parts.push(effect.outage === 'refused' ? 'outage (connections refused)' : 'outage (black hole)');
  if (effect.delayMs !== undefined) parts.push(effect.delayMs === null || !Number.isFinite(effect.delayMs) ? 'black hole' : `+${formatDuration(effect.delayMs)} per request`);
  if (effect.failShare !== undefined) parts.push(`${formatRatio(effect.failShare)} of ${effect.perConnection ? 'connections' : 'requests'} fail`);
  return parts.join(', ') || '-';
}

export function describeReach(reach: ReachEvidence | undefined): string {
  if (!reach) return '<span class="muted">no driver evidence</span>';
  const verdict =
    reach.reached === true ? '<span class="ok">reached</span>' : reach.reached === false ? '<span class="bad">not reached</span>' : '<span class="unknown">cannot tell</span>';
  const counts = reach.counts ? `<br><span class="muted">seen ${num(reach.counts.seen)} · faulted ${num(reach.counts.faulted)} · passed ${num(reach.counts.passed)}</span>` : '';
  return `${verdict} <span class="muted">(${esc(reach.source)})</span><br>${esc(reach.summary)}${counts}`;
}

function faultsSection(journal: Journal): string {
  if (journal.faults.length === 0) return '';
  const rows = journal.faults.map((f: FaultRecord, i) => [
    String(i + 1),
    `${esc(f.name)}<br><code class="muted">${esc(f.ref)}</code>`,
    esc(f.targets.join(', ') || '-'),
    offset(f.scheduledAtMs),
    offset(f.appliedAtMs),
    offset(f.undoneAtMs),
    `${f.status === 'apply-failed' || f.status === 'undo-failed' ? `<span class="bad">${esc(faultStatus(f))}</span>` : esc(faultStatus(f))}${f.error ? `<br><span class="muted">${esc(f.error.message)}</span>` : ''}`,
    esc(describeEffect(f.effect)),
    describeReach(f.reach),
  ]);
  return [
    '<section id="faults" aria-labelledby="faults-h">',
    '<h2 id="faults-h">Faults <span class="muted">(offsets from the start of the method)</span></h2>',
    table(['#', 'fault', 'targets', 'planned', 'applied', 'undone', 'status', 'effect', 'reach'], rows, [0, 3, 4, 5]),
    '</section>',
  ].join('\n');
}

const PROBE_PHASE_LABEL: Record<string, string> = { before: 'steady state before', during: 'steady state during', after: 'steady state after', method: 'method' };

function probeRow(record: ActivityRecord): string[] {
  const ok = record.status === 'succeeded';
  const idle = record.status === 'cancelled' || record.status === 'skipped';
  return [
    esc(PROBE_PHASE_LABEL[record.phase] ?? record.phase),
    esc(record.name),
    `<span class="${ok ? 'ok' : idle ? 'unknown' : 'bad'}">${esc(ok ? 'met' : record.status)}</span>`,
    record.attempts === undefined ? '-' : num(record.attempts),
    record.attempts === undefined ? '-' : ok ? ms(record.waitedMs) : `not met in ${ms(record.waitedMs)}`,
    ms(record.durationMs),
    esc(describeOutcome({ ...record, attempts: undefined } as ActivityRecord)),
  ];
}

function probesSection(journal: Journal): string {
  const probes = journal.activities.filter((a) => a.kind === 'probe');
  if (probes.length === 0) return '';
  return [
    '<section id="probes" aria-labelledby="probes-h">',
    `<h2 id="probes-h">Probes <span class="muted">(${probes.filter((p) => p.status === 'succeeded').length} of ${probes.length} met)</span></h2>`,
    table(['phase', 'probe', 'result', 'tries', 'time to meet', 'took', 'detail'], probes.map(probeRow), [3, 4, 5]),
    '</section>',
  ].join('\n');
}

function abortSection(journal: Journal): string {
  if (!journal.abort) return '';
  const misses = journal.abort.misses?.map((m) => `<li>${esc(m.message)}</li>`).join('') ?? '';
  return `<div class="callout" role="note"><strong>⚠ Aborted by ${esc(journal.abort.condition)}</strong> at ${esc(utc(journal.abort.at))}${misses ? `<ul>${misses}</ul>` : ''}</div>`;
}

function reproduceSection(journal: Journal): string {
  return [
    '<section id="reproduce" aria-labelledby="reproduce-h">',
    '<h2 id="reproduce-h">Reproduce</h2>',
    `<p>Replays the run's target selection (its seed); variables given with <code>--var</code> are not recorded.<button type="button" class="copy" data-copy="reproduce-command">copy</button></p>`,
    `<pre id="reproduce-command">${esc(reproduceCommand(journal))}</pre>`,
    '</section>',
  ].join('\n');
}

export function renderRunBody(journal: Journal, options: { timeline?: ChartPayload; heading?: string } = {}): { body: string; timeline: ChartPayload } {
  const timeline = options.timeline ?? runTimeline(journal);
  const error = journal.error
    ? `<div class="callout" role="alert"><strong>${esc(journal.error.code)}</strong>: ${esc(journal.error.message)}${journal.error.hint ? `<br><span class="muted">hint: ${esc(journal.error.hint)}</span>` : ''}</div>`
    : '';
  const header = [
    '<a class="skip" href="#verdicts">Skip to the verdicts</a>',
    '<header>',
    `<h1>${statusBadge(journal.status)}${esc(journal.experiment.title)}</h1>`,
    `<p>${esc(journal.reason)}</p>`,
    `<p class="meta"><span><code>${esc(journal.experiment.file)}</code></span><span>started ${esc(utc(journal.startedAt))}</span><span>${ms(journal.durationMs)}</span><span>seed ${journal.seed}</span><span>run <code>${esc(journal.runId)}</code></span><span>faultline ${esc(journal.faultline ?? '')}</span>${journal.dryRun ? '<span>dry run</span>' : ''}</p>`,
    journal.experiment.description ? `<p class="muted">${esc(journal.experiment.description)}</p>` : '',
    '<nav class="toc" aria-label="Sections"><a href="#verdicts">Verdicts</a><a href="#timeline">Timeline</a>' +
      `${journal.windows.length ? '<a href="#windows">Traffic by window</a>' : ''}${journal.faults.length ? '<a href="#faults">Faults</a>' : ''}<a href="#probes">Probes</a><a href="#reproduce">Reproduce</a></nav>`,
    '</header>',
  ].join('\n');
  const body = ['<main>', header, error, abortSection(journal), verdictsSection(journal), timelineSection(journal, timeline), windowsSection(journal), faultsSection(journal), probesSection(journal), reproduceSection(journal), '</main>']
    .filter(Boolean)
    .join('\n');
  return { body, timeline };
}
