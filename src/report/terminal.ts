// The terminal view of a run: live progress from the engine's events while it runs (on a TTY a
// spinner line with the phase, the traffic's last second and the faults in effect; plain lines
// otherwise), then a summary computed from the journal alone.
import type { ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import { formatDuration } from '../core/duration.js';
import type { ActivityRecord, Journal, RunStatus } from '../engine/journal.js';
import type { RunEvent } from '../engine/run.js';
import type { VerdictResult } from '../verdicts/types.js';
import { faultStatus, offset, STATUS_LABEL, verdictLabel, verdictResultText, WINDOW_COLUMNS, windowRow } from './labels.js';
import { latencySparkline } from './sparkline.js';
import { LiveStatus } from './terminal-live.js';

export interface TerminalReporterOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  colors: ChalkInstance;
  /** Spinners only on an interactive terminal; CI logs get plain lines. */
  interactive: boolean;
}

const STATUS_COLOR: Record<RunStatus, 'green' | 'red' | 'yellow' | 'magenta'> = {
  passed: 'green',
  deviated: 'red',
  aborted: 'yellow',
  failed: 'red',
  'rollback-incomplete': 'magenta',
  interrupted: 'yellow',
};

/** One short line of what an activity found: the numbers a person looks for first. */
export function describeOutcome(record: ActivityRecord): string {
  const parts: string[] = [];
  const output = (record.output ?? {}) as Record<string, unknown>;
  if (typeof output.status === 'number') parts.push(`status ${output.status}`);
  if (typeof output.exitCode === 'number') parts.push(`exit ${output.exitCode}`);
  if (typeof output.connected === 'boolean') parts.push(output.connected ? 'connected' : 'not connected');
  if (typeof output.latency === 'number') parts.push(formatDuration(output.latency));
  if (typeof output.error === 'string' && output.error) parts.push(output.error);
  if (record.attempts !== undefined) parts.push(`${record.attempts} tr${record.attempts === 1 ? 'y' : 'ies'} in ${formatDuration(record.waitedMs ?? 0)}`);
  if (record.targets?.length) parts.push(`→ ${record.targets.join(', ')}`);
  if (record.misses?.length) parts.push(record.misses.map((m) => m.message).join('; '));
  if (record.error) parts.push(record.error.message);
  return parts.join(', ');
}

export class TerminalReporter {
  private spinner: Ora | undefined;
  private makeSpinner: typeof import('ora').default | undefined;
  private readonly running = new Map<string, string>();
  private readonly live = new LiveStatus();
  /** Redraws the live line while it shows, so the faults' ages and a silence keep counting. */
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly options: TerminalReporterOptions) {
    // ora is loaded only for a terminal, and in the background: until it is there, lines print without a spinner.
    if (options.interactive) {
      void import('ora').then(
        (module) => (this.makeSpinner = module.default),
        () => undefined,
      );
    }
  }

  private line(text: string): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      this.options.stream.write(`${text}\n`);
      this.spinner.render();
    } else {
      this.options.stream.write(`${text}\n`);
    }
  }

  private updateSpinner(): void {
    // A terminal of no width (a pty nobody sized, as `script` makes without a terminal): ora would
    // count the lines to clear as width ÷ 0 and never finish clearing them.
    if (!this.options.interactive || (this.options.stream as { columns?: number }).columns === 0) return;
    if (this.running.size === 0 && !this.live.active) {
      this.spinner?.stop();
      clearInterval(this.ticker);
      this.ticker = undefined;
      return;
    }
    if (!this.ticker) {
      this.ticker = setInterval(() => this.updateSpinner(), 500);
      this.ticker.unref();
    }
    const status = this.live.render();
    const activities = [...this.running.values()].join(' · ');
    const text = [status && this.options.colors.dim(status), activities].filter(Boolean).join('\n  ');
    if (!this.spinner) {
      if (!this.makeSpinner) return;
      this.spinner = this.makeSpinner({ stream: this.options.stream, text, discardStdin: false });
    }
    this.spinner.text = text;
    if (!this.spinner.isSpinning) this.spinner.start();
  }

  onEvent(event: RunEvent): void {
    const c = this.options.colors;
    if (this.live.update(event)) this.updateSpinner();
    switch (event.type) {
      case 'phase':
        this.line(c.bold(event.title));
        break;
      case 'activity-start':
        if (event.phase === 'abort-check') break;
        this.running.set(event.key, event.name);
        this.updateSpinner();
        break;
      case 'activity': {
        this.running.delete(event.record.key);
        this.updateSpinner();
        this.line(`  ${this.icon(event.record)} ${event.record.name}${this.detail(event.record)}`);
        // What an undo found (a target gone, a toxic vanished with a restarted server) is worth seeing at once.
        if (event.record.kind === 'undo') for (const log of event.record.logs ?? []) this.line(c.dim(`      ${log}`));
        break;
      }
      case 'fault':
      case 'workload':
        break;
      case 'abort':
        this.line(c.yellow(`  ⚠ abort: ${event.reason}`));
        break;
      case 'note':
        this.line(c.dim(`  ${event.message}`));
        break;
    }
  }

  private icon(record: ActivityRecord): string {
    const c = this.options.colors;
    if (record.kind === 'fault') return record.status === 'succeeded' ? c.yellow('⚡') : c.red('✖');
    if (record.kind === 'undo') return record.status === 'succeeded' ? c.cyan('↺') : c.red('✖');
    switch (record.status) {
      case 'succeeded':
        return c.green('✔');
      case 'cancelled':
      case 'skipped':
        return c.dim('○');
      default:
        return c.red('✖');
    }
  }

  private detail(record: ActivityRecord): string {
    const text = describeOutcome(record);
    const time = this.options.colors.dim(` ${formatDuration(record.durationMs)}`);
    return (text ? this.options.colors.dim(` (${text})`) : '') + time;
  }

  /** The closing summary; reads only the journal. */
  summary(journal: Journal, journalPath?: string): void {
    this.spinner?.stop();
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.options.stream.write(renderSummary(journal, this.options.colors, journalPath));
  }
}

const RESULT_COLOR: Record<VerdictResult, 'green' | 'red' | 'yellow'> = { pass: 'green', fail: 'red', 'not-exercised': 'yellow', unstable: 'red' };

/**
 * The summary of a run, from its journal alone: the verdicts first, then the faults with when they
 * were applied and undone, the traffic by window, and the result. `faultline report` prints the same.
 */
export function renderSummary(journal: Journal, colors: ChalkInstance, journalPath?: string): string {
  const c = colors;
  const tables: string[] = [];
  if (journal.verdicts.length > 0) {
    tables.push(
      renderTable(
        ['verdict', 'result', 'evidence'],
        journal.verdicts.map((v) => [verdictLabel(v), { text: verdictResultText(v), style: c.bold[RESULT_COLOR[v.result]] }, v.evidence.summary]),
        { fullLastColumn: true },
      ),
    );
    // What would let a verdict that proved nothing decide next time.
    for (const v of journal.verdicts) if (v.result !== 'pass' && v.evidence.hint) tables[0] += `\n  ${c.dim(`hint (${v.name}):`)} ${v.evidence.hint}`;
  }
  if (journal.faults.length > 0) {
    tables.push(
      // The reach column appears once a driver has told what its fault did ("503 to 37 of 190 requests").
      journal.faults.some((f) => f.reach)
        ? renderTable(
            ['fault', 'targets', 'applied', 'undone', 'status', 'reach'],
            journal.faults.map((f) => [f.name, f.targets.join(', ') || '-', offset(f.appliedAtMs), offset(f.undoneAtMs), faultStatus(f), f.reach?.summary ?? '-']),
          )
        : renderTable(
            ['fault', 'targets', 'applied', 'undone', 'status'],
            journal.faults.map((f) => [f.name, f.targets.join(', ') || '-', offset(f.appliedAtMs), offset(f.undoneAtMs), faultStatus(f)]),
          ),
    );
  }
  if (journal.windows.length > 0) tables.push(renderTable(WINDOW_COLUMNS, journal.windows.map(windowRow)));
  const spark = latencySparkline(journal);
  if (spark.length > 0) tables.push(spark.map((line) => `  ${line}`).join('\n'));
  const lines: string[] = ['', c.bold(journal.experiment.title), ...tables.flatMap((table, i) => (i === 0 ? [table] : ['', table]))];
  const probes = journal.activities.filter((a) => a.kind === 'probe');
  const missed = probes.filter((a) => a.status !== 'succeeded' && a.status !== 'cancelled').length;
  lines.push(`probes: ${probes.length - missed} met, ${missed} missed · faults: ${journal.faults.length} · duration ${formatDuration(journal.durationMs)}`);
  lines.push(`${c.bold[STATUS_COLOR[journal.status]](`Result: ${STATUS_LABEL[journal.status]}`)} — ${journal.reason}`);
  if (journalPath) lines.push(c.dim(`journal: ${journalPath}`));
  return `${lines.join('\n')}\n`;
}

/** A table cell: plain text, or text with a style applied after padding (colour codes have no width). */
export type TableCell = string | { text: string; style: (text: string) => string };

/** A plain text table; wide cells are cut so a row stays on one line, the last column too unless told. */
export function renderTable(header: string[], rows: TableCell[][], options: { fullLastColumn?: boolean } = {}): string {
  const cap = 48;
  const last = header.length - 1;
  const cut = (text: string, column: number) => (text.length > cap && !(options.fullLastColumn && column === last) ? `${text.slice(0, cap - 1)}…` : text);
  const cells = [header, ...rows].map((row) =>
    row.map((cell, column) => (typeof cell === 'string' ? { text: cut(cell, column), style: undefined } : { text: cut(cell.text, column), style: cell.style })),
  );
  const widths = header.map((_, i) => Math.max(...cells.filter((row) => !(options.fullLastColumn && i === last)).map((row) => row[i]?.text.length ?? 0)));
  return cells
    .map((row) => {
      const text = row.map((cell, i) => {
        const padded = i === last ? cell.text : cell.text.padEnd(widths[i]!);
        return cell.style ? cell.style(padded) : padded;
      });
      return `  ${text.join('  ')}`.trimEnd();
    })
    .join('\n');
}
