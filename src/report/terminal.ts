// The terminal view of a run: live progress from the engine's events while it runs (a spinner on a
// TTY, plain lines otherwise), then a summary computed from the journal alone.
import type { ChalkInstance } from 'chalk';
import ora, { type Ora } from 'ora';
import { formatDuration } from '../engine/duration.js';
import type { ActivityRecord, FaultRecord, Journal, RunStatus } from '../engine/journal.js';
import type { RunEvent } from '../engine/run.js';

export interface TerminalReporterOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  colors: ChalkInstance;
  /** Spinners only on an interactive terminal; CI logs get plain lines. */
  interactive: boolean;
}

const STATUS_STYLE: Record<RunStatus, { label: string; color: 'green' | 'red' | 'yellow' | 'magenta' }> = {
  passed: { label: 'PASSED', color: 'green' },
  deviated: { label: 'DEVIATED', color: 'red' },
  aborted: { label: 'ABORTED', color: 'yellow' },
  failed: { label: 'RUN ERROR', color: 'red' },
  'rollback-incomplete': { label: 'ROLLBACK INCOMPLETE', color: 'magenta' },
  interrupted: { label: 'INTERRUPTED', color: 'yellow' },
};

export function statusLabel(status: RunStatus): string {
  return STATUS_STYLE[status].label;
}

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
  private readonly running = new Map<string, string>();

  constructor(private readonly options: TerminalReporterOptions) {}

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
    if (!this.options.interactive) return;
    if (this.running.size === 0) {
      this.spinner?.stop();
      return;
    }
    const text = [...this.running.values()].join(' · ');
    if (!this.spinner) this.spinner = ora({ stream: this.options.stream, text, discardStdin: false });
    this.spinner.text = text;
    if (!this.spinner.isSpinning) this.spinner.start();
  }

  onEvent(event: RunEvent): void {
    const c = this.options.colors;
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
    const c = this.options.colors;
    const out = (text = '') => this.options.stream.write(`${text}\n`);
    out();
    out(c.bold(`${journal.experiment.title}`));
    if (journal.faults.length > 0) {
      out(renderTable(
        ['fault', 'targets', 'applied', 'undone', 'status'],
        journal.faults.map((f) => [f.name, f.targets.join(', ') || '-', offset(f.appliedAtMs), offset(f.undoneAtMs), faultStatus(f)]),
      ));
    }
    const probes = journal.activities.filter((a) => a.kind === 'probe');
    const missed = probes.filter((a) => a.status !== 'succeeded' && a.status !== 'cancelled').length;
    out(`probes: ${probes.length - missed} met, ${missed} missed · faults: ${journal.faults.length} · duration ${formatDuration(journal.durationMs)}`);
    const style = STATUS_STYLE[journal.status];
    out(`${c.bold[style.color](`Result: ${style.label}`)} — ${journal.reason}`);
    if (journalPath) out(c.dim(`journal: ${journalPath}`));
  }
}

function offset(ms: number | undefined): string {
  return ms === undefined ? '-' : `+${formatDuration(ms)}`;
}

function faultStatus(fault: FaultRecord): string {
  return fault.status === 'irreversible' ? 'applied (no undo)' : fault.status;
}

/** A plain text table; wide cells are cut so a row stays on one line. */
export function renderTable(header: string[], rows: string[][]): string {
  const cap = 48;
  const cut = (text: string) => (text.length > cap ? `${text.slice(0, cap - 1)}…` : text);
  const cells = [header, ...rows].map((row) => row.map(cut));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells.map((row) => `  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}`).join('\n');
}
