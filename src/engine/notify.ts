// Webhooks about a run: start, abort, end, and a change of verdicts against the previous journal of
// the same experiment in the journal folder. A generic JSON body or a Slack-compatible {text}. A
// webhook is an observer: each call is bounded by its timeout, start and abort are sent without
// waiting, and a failure is journaled, never raised. URLs are never journaled (they may be secrets).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fetch } from 'undici';
import { errorMessage } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { NotifySpec } from '../experiment/schema.js';
import { redactSecrets, type Journal, type NotificationRecord } from './journal.js';

export type NotifyEvent = NotificationRecord['event'];

export interface VerdictChange {
  name: string;
  from: string | null;
  to: string | null;
}

/** Bound on reading earlier journals: a folder of thousands of runs must not delay the end. */
const MAX_JOURNALS_READ = 200;

export interface NotifierOptions {
  specs: NotifySpec[];
  secrets: readonly string[];
  clock: Clock;
  /** Where this experiment's earlier journals are, for verdict changes; absent: no comparison. */
  journalDir?: string;
}

export class Notifier {
  private readonly sent: Promise<void>[] = [];
  private readonly records: NotificationRecord[] = [];

  constructor(private readonly options: NotifierOptions) {}

  /** Sends without waiting: the run goes on while the webhook answers (or times out). */
  start(journal: Journal): void {
    this.send('start', journal, {});
  }

  abort(journal: Journal, condition: string, reason: string): void {
    this.send('abort', journal, { abort: { condition, reason } });
  }

  /** Sends the end and any verdict change, waits for every webhook (each bounded), and returns their records. */
  async end(journal: Journal): Promise<NotificationRecord[]> {
    if (this.options.specs.length === 0) return [];
    this.send('end', journal, {});
    if (this.options.specs.some((s) => s.on.includes('verdict-change'))) {
      const previous = await previousJournal(this.options.journalDir, journal).catch(() => undefined);
      // A previous journal that was edited into another shape tells no change; it must not fail the run.
      let changes: VerdictChange[] = [];
      try {
        changes = previous ? verdictChanges(previous, journal) : [];
      } catch {
        changes = [];
      }
      if (previous && changes.length > 0) this.send('verdict-change', journal, { changes, previous: { runId: previous.runId, status: previous.status } });
    }
    await Promise.all(this.sent);
    return this.records;
  }

  private send(event: NotifyEvent, journal: Journal, extra: Record<string, unknown>): void {
    for (const spec of this.options.specs) {
      if (!spec.on.includes(event)) continue;
      this.sent.push(this.post(spec, event, journal, extra));
    }
  }

  private async post(spec: NotifySpec, event: NotifyEvent, journal: Journal, extra: Record<string, unknown>): Promise<void> {
    const started = this.options.clock.now();
    const record: NotificationRecord = { event, target: spec.name ?? hostOf(spec.url), at: this.options.clock.date().toISOString(), ok: false, durationMs: 0 };
    try {
      const payload = redactSecrets(spec.format === 'slack' ? slackBody(event, journal, extra) : jsonBody(event, journal, extra), this.options.secrets);
      const response = await fetch(spec.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...spec.headers },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(spec.timeout),
      });
      await response.body?.cancel().catch(() => undefined);
      record.status = response.status;
      record.ok = response.ok;
      if (!response.ok) record.error = `HTTP ${response.status}`;
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      record.error = timedOut ? `no answer within ${spec.timeout} ms` : describe(error);
    }
    record.durationMs = Math.round(this.options.clock.now() - started);
    // Whatever the error says, it must not carry the URL's secret into the journal.
    this.records.push(redactSecrets(record, [...this.options.secrets, spec.url]));
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'webhook';
  }
}

function describe(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error && cause.message) return cause.message;
  return errorMessage(error);
}

function summaryOf(journal: Journal): { title: string; file: string } {
  return { title: journal.experiment.title, file: journal.experiment.file };
}

export function jsonBody(event: NotifyEvent, journal: Journal, extra: Record<string, unknown>): Record<string, unknown> {
  const ended = event === 'end' || event === 'verdict-change';
  return {
    event,
    runId: journal.runId,
    experiment: summaryOf(journal),
    startedAt: journal.startedAt,
    ...(ended ? { status: journal.status, reason: journal.reason, durationMs: journal.durationMs } : {}),
    ...(ended ? { verdicts: journal.verdicts.map((v) => ({ name: v.name, result: v.result, summary: v.evidence.summary })) } : {}),
    ...extra,
  };
}

const ICON: Record<string, string> = { passed: ':white_check_mark:', deviated: ':x:', aborted: ':warning:', failed: ':boom:', 'rollback-incomplete': ':rotating_light:', interrupted: ':octagonal_sign:' };

export function slackBody(event: NotifyEvent, journal: Journal, extra: Record<string, unknown>): { text: string } {
  const title = `*${journal.experiment.title}* (run ${journal.runId})`;
  const verdicts = journal.verdicts.map((v) => `• ${v.name}: ${v.result} — ${v.evidence.summary}`).join('\n');
  switch (event) {
    case 'start':
      return { text: `:test_tube: faultline started ${title}` };
    case 'abort': {
      const abort = extra.abort as { condition: string; reason: string };
      return { text: `:warning: faultline aborted ${title}: ${abort.reason}; faults are being undone` };
    }
    case 'end':
      return { text: `${ICON[journal.status] ?? ''} faultline ${journal.status}: ${title}: ${journal.reason}${verdicts ? `\n${verdicts}` : ''}` };
    case 'verdict-change': {
      const changes = (extra.changes as VerdictChange[]).map((c) => `• ${c.name}: ${c.from ?? 'absent'} → ${c.to ?? 'absent'}`).join('\n');
      return { text: `:arrows_counterclockwise: faultline verdicts changed for ${title}:\n${changes}` };
    }
  }
}

/** Verdicts (and the run status) whose result differs from the previous run's. */
export function verdictChanges(previous: Journal, current: Journal): VerdictChange[] {
  const changes: VerdictChange[] = [];
  if (previous.status !== current.status) changes.push({ name: 'status', from: previous.status, to: current.status });
  const names = new Set([...previous.verdicts.map((v) => v.name), ...current.verdicts.map((v) => v.name)]);
  for (const name of names) {
    const from = previous.verdicts.find((v) => v.name === name)?.result ?? null;
    const to = current.verdicts.find((v) => v.name === name)?.result ?? null;
    if (from !== to) changes.push({ name, from, to });
  }
  return changes;
}

/** The newest journal of the same experiment file in the folder, other than this run's. */
export async function previousJournal(dir: string | undefined, current: Journal): Promise<Journal | undefined> {
  if (!dir) return undefined;
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort().slice(-MAX_JOURNALS_READ);
  let newest: Journal | undefined;
  for (const file of files) {
    // Only regular files: a FIFO named like a journal would block the read for ever.
    if (!(await stat(join(dir, file)).catch(() => undefined))?.isFile()) continue;
    const journal = await readFile(join(dir, file), 'utf8')
      .then((text) => JSON.parse(text) as Journal)
      .catch(() => undefined);
    if (!journal || journal.runId === current.runId || journal.experiment?.file !== current.experiment.file || !Array.isArray(journal.verdicts)) continue;
    if (!newest || journal.startedAt > newest.startedAt) newest = journal;
  }
  return newest;
}
