// A Markdown summary of runs, sized for a pull-request comment or a GitHub job summary: the result,
// the verdict table, the faults with when they were applied and undone, the traffic by window, the
// probes that missed, and the command that replays the run.
import { isAbsolute, relative, sep } from 'node:path';
import { formatDuration } from '../core/duration.js';
import type { Journal, RunStatus } from '../engine/journal.js';
import type { VerdictResult } from '../verdicts/types.js';
import { faultStatus, offset, reproduceCommand, STATUS_LABEL, verdictLabel, verdictResultText, WINDOW_COLUMNS, windowRow } from './labels.js';
import { missReason, probeOutcomes } from './probes.js';

export interface MarkdownOptions {
  /** Paths under this folder are shown relative to it (the repository root, in CI). */
  cwd?: string;
}

const STATUS_ICON: Record<RunStatus, string> = {
  passed: '✅',
  deviated: '❌',
  aborted: '⚠️',
  failed: '💥',
  'rollback-incomplete': '🚨',
  interrupted: '⏹️',
};

const RESULT_ICON: Record<VerdictResult, string> = { pass: '✅', fail: '❌', 'not-exercised': '⚪', unstable: '🔀' };

/** Rows beyond this are summarised: a GitHub comment holds 65,536 characters. */
const MAX_ROWS = 30;

/** Text that renders as itself in a table cell: no HTML tags, no emphasis, no column breaks. */
function inline(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|])/g, '\\$1')
    .replace(/\r?\n/g, '<br>');
}

function table(header: string[], rows: string[][]): string[] {
  const shown = rows.slice(0, MAX_ROWS);
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...shown.map((row) => `| ${row.join(' | ')} |`)];
  if (rows.length > MAX_ROWS) lines.push('', `… and ${rows.length - MAX_ROWS} more rows in the journal.`);
  return lines;
}

function displayPath(file: string, cwd: string | undefined): string {
  if (!cwd || !isAbsolute(file)) return file;
  const path = relative(cwd, file);
  return path.startsWith('..') || isAbsolute(path) ? file : path.split(sep).join('/');
}

/** The run's reason as a sentence: capitalised, ending in a full stop. */
const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;

/** `2026-05-04 09:30:00 UTC`. */
const utc = (iso: string) => iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');

function renderRun(journal: Journal, options: MarkdownOptions, level: string): string[] {
  const file = displayPath(journal.experiment.file, options.cwd);
  const lines: string[] = [
    `${level} ${STATUS_ICON[journal.status]} ${STATUS_LABEL[journal.status]}: ${inline(journal.experiment.title)}`,
    '',
    inline(sentence(journal.reason)),
    '',
    `\`${file}\` · started ${utc(journal.startedAt)} · ${formatDuration(journal.durationMs)} · seed ${journal.seed} · run \`${journal.runId}\``,
  ];
  if (journal.error) {
    const { code, message, hint } = journal.error;
    lines.push('', `> **${inline(code)}**${message === journal.reason ? '' : `: ${inline(message)}`}${hint ? `<br>hint: ${inline(hint)}` : ''}`);
  }
  if (journal.verdicts.length > 0) {
    lines.push(
      '',
      ...table(
        ['verdict', 'result', 'evidence'],
        journal.verdicts.map((v) => [inline(verdictLabel(v)), `${RESULT_ICON[v.result]} ${verdictResultText(v)}`, inline(v.evidence.summary)]),
      ),
    );
  }
  if (journal.faults.length > 0) {
    lines.push(
      '',
      '**Faults** (offsets from the start of the method)',
      '',
      ...(journal.faults.some((f) => f.reach)
        ? table(
            ['fault', 'targets', 'applied', 'undone', 'status', 'reach'],
            journal.faults.map((f) => [inline(f.name), inline(f.targets.join(', ') || '-'), offset(f.appliedAtMs), offset(f.undoneAtMs), inline(`${faultStatus(f)}${f.error ? `: ${f.error.message}` : ''}`), inline(f.reach?.summary ?? '-')]),
          )
        : table(
            ['fault', 'targets', 'applied', 'undone', 'status'],
            journal.faults.map((f) => [inline(f.name), inline(f.targets.join(', ') || '-'), offset(f.appliedAtMs), offset(f.undoneAtMs), inline(`${faultStatus(f)}${f.error ? `: ${f.error.message}` : ''}`)]),
          )),
    );
  }
  if (journal.windows.length > 0) {
    lines.push('', '**Traffic by window**', '', ...table(WINDOW_COLUMNS, journal.windows.map((w) => windowRow(w).map(inline))));
  }
  const probes = probeOutcomes(journal);
  const missed = probes.filter((p) => p.result === 'missed');
  if (missed.length > 0) {
    lines.push('', `**Probes that missed** (${missed.length} of ${probes.length})`, '');
    for (const probe of missed.slice(0, MAX_ROWS)) {
      const times = probe.checks > 1 ? ` (${probe.misses.length} of ${probe.checks} checks)` : '';
      lines.push(`- ${probe.phase === 'method' ? 'method' : `steady state ${probe.phase}`} · ${inline(probe.name)}${times}: ${inline(missReason(probe.misses[0]!))}`);
    }
    if (missed.length > MAX_ROWS) lines.push(`- … and ${missed.length - MAX_ROWS} more in the journal`);
  } else if (probes.length > 0) {
    lines.push('', `**Probes**: all ${probes.length} met.`);
  }
  lines.push('', '<details><summary>Reproduce</summary>', '', '```sh', reproduceCommand(journal, file), '```', '', '</details>');
  return lines;
}

/** The Markdown summary of one run, or of several (one `faultline run` of a folder) under one heading. */
export function renderMarkdown(journals: readonly Journal[], options: MarkdownOptions = {}): string {
  if (journals.length === 1) return `${renderRun(journals[0]!, options, '##').join('\n')}\n`;
  const counts = new Map<RunStatus, number>();
  for (const journal of journals) counts.set(journal.status, (counts.get(journal.status) ?? 0) + 1);
  const tally = [...counts.entries()].map(([status, n]) => `${n} ${STATUS_LABEL[status].toLowerCase()}`).join(', ');
  const lines = [`## faultline: ${journals.length} experiments (${tally})`];
  for (const journal of journals) lines.push('', ...renderRun(journal, options, '###'));
  return `${lines.join('\n')}\n`;
}
