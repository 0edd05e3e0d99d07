// A text sparkline of the workload's p99 latency per second for the terminal summary, with a row
// under it that numbers each fault's live window, so a spike can be read against the fault behind it.
import { formatDuration } from '../core/duration.js';
import type { Journal } from '../engine/journal.js';

const BARS = '▁▂▃▄▅▆▇█';
/** No answer at all in that second (an outage): not a low bar. */
const NO_ANSWER = '·';

/** Values squeezed into at most `width` columns, each the worst (highest) of the seconds it covers. */
function columns(values: readonly (number | null)[], width: number): (number | null)[] {
  if (values.length <= width) return [...values];
  const out: (number | null)[] = [];
  for (let c = 0; c < width; c++) {
    const slice = values.slice(Math.floor((c * values.length) / width), Math.floor(((c + 1) * values.length) / width));
    const present = slice.filter((v): v is number => v !== null);
    out.push(present.length ? Math.max(...present) : null);
  }
  return out;
}

export function sparkline(values: readonly (number | null)[], width = 60): string {
  const cols = columns(values, width);
  const present = cols.filter((v): v is number => v !== null);
  if (present.length === 0) return NO_ANSWER.repeat(cols.length);
  const low = Math.min(...present);
  const high = Math.max(...present);
  return cols.map((v) => (v === null ? NO_ANSWER : BARS[high === low ? 0 : Math.round(((v - low) / (high - low)) * (BARS.length - 1))])).join('');
}

/**
 * Two lines: `p99  ▁▁▁█▇▁▁▄▁  21ms … 1.18s` and `faults  ···1111···222`, or nothing without a workload.
 * The fault row puts each fault's number (its order in the journal) under the seconds it was live.
 */
export function latencySparkline(journal: Journal, width = 60): string[] {
  const workload = journal.workload;
  if (!workload || workload.seconds.length === 0) return [];
  const step = workload.secondsPerEntry || 1;
  const p99 = workload.seconds.map((s) => s.p99);
  const line = sparkline(p99, width);
  const present = p99.filter((v): v is number => v !== null);
  const range = present.length ? `  ${formatDuration(Math.min(...present))} … ${formatDuration(Math.max(...present))}` : '  no answers';
  const lines = [`p99 per second  ${line}${range}`];
  const applied = journal.faults.filter((f) => f.appliedAtMs !== undefined);
  if (applied.length > 0) {
    const endMs = workload.startMs + workload.seconds.length * step * 1000;
    const perColumnMs = (endMs - workload.startMs) / line.length;
    const row = Array.from({ length: line.length }, (_, c) => {
      const from = workload.startMs + c * perColumnMs;
      const to = from + perColumnMs;
      const live = applied.findLastIndex((f) => f.appliedAtMs! < to && (f.undoneAtMs ?? endMs) > from);
      return live === -1 ? ' ' : String((live + 1) % 10);
    }).join('');
    const legend = applied.map((f, i) => `${(i + 1) % 10} ${f.name}`).join(', ');
    const faultRow = `faults          ${row}`;
    // The names beside the row when they fit a wide terminal line, else on their own line under it.
    if (faultRow.length + legend.length + 2 <= 120) lines.push(`${faultRow}  ${legend}`);
    else lines.push(faultRow.trimEnd(), `                ${legend}`);
  }
  return lines;
}
