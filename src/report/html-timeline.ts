// A run's timeline as the HTML report draws it: the workload's per-second series (throughput, error
// rate by class, p50/p99 latency) on one time axis, offsets from the method start in seconds, with
// each fault's live window, the undo times, abort trips and the time to recover as marks over it.
// Pure: journal in, plain data out; the page's script only draws what this computed.
import { formatDuration } from '../core/duration.js';
import type { Journal } from '../engine/journal.js';
import { OUTCOME_CLASSES, type OutcomeClass, type WorkloadSecond } from '../workload/types.js';

export type ChartUnit = 'ms' | 'req/s' | '%' | 's';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: ChartUnit;
  series: ChartSeries[];
  /** What the chart shows, in words, for screen readers and for readers without colour. */
  description: string;
}

/** A fault's live window: shaded on every chart and labelled with its name. */
export interface ChartBand {
  label: string;
  fromS: number;
  toS: number;
  /** Where the window ends: `undone` (an undo time), `kept`, `irreversible`, or `run end`. */
  end: 'undone' | 'kept' | 'irreversible' | 'run end';
}

export interface ChartMarker {
  kind: 'abort' | 'recovered';
  atS: number;
  label: string;
}

export interface ChartPayload {
  /** x values: seconds from the method start (a run) or run numbers (a history). */
  x: number[];
  xLabel: string;
  /** Tick labels by x value, for a history whose x is the run number. */
  xTicks?: string[];
  /** Draw a point on every value (a history has few); a run's seconds are drawn as lines. */
  points: boolean;
  charts: ChartSpec[];
  bands: ChartBand[];
  markers: ChartMarker[];
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** ms offset from the method start of an ISO time, when the method started. */
function offsetOf(journal: Pick<Journal, 'methodStartedAt'>, iso: string | undefined): number | undefined {
  if (!iso || !journal.methodStartedAt) return undefined;
  const at = Date.parse(iso) - Date.parse(journal.methodStartedAt);
  return Number.isFinite(at) ? at : undefined;
}

/** Where the run's time axis ends: the later of the traffic's end and the last undo. */
function runEndMs(journal: Journal): number {
  const ends = [journal.workload?.endMs ?? 0, ...journal.faults.flatMap((f) => [f.appliedAtMs ?? 0, f.undoneAtMs ?? 0])];
  const methodEnd = offsetOf(journal, journal.endedAt);
  return Math.max(...ends, ...(journal.workload ? [] : [methodEnd ?? 0]));
}

/** Each fault that took effect, from when it was applied to when it was undone (or the run ended). */
export function faultBands(journal: Journal): ChartBand[] {
  const end = runEndMs(journal);
  return journal.faults
    .filter((fault) => fault.appliedAtMs !== undefined)
    .map((fault) => {
      const window = journal.windows.find((w) => w.kind === 'fault' && w.fault === fault.key);
      const toMs = fault.undoneAtMs ?? (fault.status === 'irreversible' || fault.status === 'kept' ? undefined : window?.endMs) ?? end;
      const why: ChartBand['end'] = fault.undoneAtMs !== undefined ? 'undone' : fault.status === 'kept' ? 'kept' : fault.status === 'irreversible' ? 'irreversible' : 'run end';
      return { label: fault.name, fromS: round(fault.appliedAtMs! / 1000), toS: round(Math.max(toMs, fault.appliedAtMs!) / 1000), end: why };
    });
}

/** Abort trips and each self-healing verdict's time to recover, counted from the fault it judged. */
export function timelineMarkers(journal: Journal): ChartMarker[] {
  const markers: ChartMarker[] = [];
  const abortAt = offsetOf(journal, journal.abort?.at);
  if (journal.abort && abortAt !== undefined) markers.push({ kind: 'abort', atS: round(abortAt / 1000), label: `abort: ${journal.abort.condition}` });
  for (const verdict of journal.verdicts) {
    const recoveryMs = verdict.evidence?.figures?.recoveryMs;
    if (verdict.name !== 'self-healing' || typeof recoveryMs !== 'number') continue;
    const faultKey = verdict.evidence.faults.at(-1);
    const fault = journal.faults.find((f) => f.key === faultKey);
    if (fault?.appliedAtMs === undefined) continue;
    markers.push({ kind: 'recovered', atS: round((fault.appliedAtMs + recoveryMs) / 1000), label: `recovered in ${formatDuration(recoveryMs)}` });
  }
  return markers;
}

/** The error classes that failed at least once, in the fixed order of OUTCOME_CLASSES. */
function classesSeen(seconds: readonly WorkloadSecond[]): OutcomeClass[] {
  const seen = new Set<string>();
  for (const second of seconds) for (const [name, count] of Object.entries(second.errorClasses ?? {})) if (count) seen.add(name);
  return OUTCOME_CLASSES.filter((name) => seen.has(name));
}

/** The highest (or lowest) value of a series and where it is. */
function extreme(values: (number | null)[], x: number[], which: 'highest' | 'lowest'): { value: number; at: number } | undefined {
  let best: { value: number; at: number } | undefined;
  values.forEach((value, i) => {
    if (value !== null && (best === undefined || (which === 'highest' ? value > best.value : value < best.value))) best = { value, at: x[i]! };
  });
  return best;
}

/** `+5.5s`, `-1.5s`. */
export const signedSeconds = (s: number) => `${s < 0 ? '-' : '+'}${Math.abs(s)}s`;

/** The charts of one run; none without a workload. */
export function runTimeline(journal: Journal): ChartPayload {
  const bands = faultBands(journal);
  const markers = timelineMarkers(journal);
  const workload = journal.workload;
  if (!workload || workload.seconds.length === 0) return { x: [], xLabel: 'seconds from the method start', points: false, charts: [], bands, markers };
  const step = workload.secondsPerEntry || 1;
  const seconds = workload.seconds;
  // An entry holds what completed within [t, t + step): drawn at its middle.
  const x = seconds.map((s) => round(workload.startMs / 1000 + s.t + step / 2));
  const share = (count: number, of: number) => (of > 0 ? round((count / of) * 100, 2) : null);
  const latency: ChartSeries[] = [
    { label: 'p50', values: seconds.map((s) => s.p50) },
    { label: 'p99', values: seconds.map((s) => s.p99) },
  ];
  const throughput: ChartSeries[] = [
    { label: 'answered', values: seconds.map((s) => round(s.requests / step, 2)) },
    { label: 'succeeded', values: seconds.map((s) => round(s.ok / step, 2)) },
  ];
  const classes = classesSeen(seconds);
  const errors: ChartSeries[] = [{ label: 'all errors', values: seconds.map((s) => share(s.errors, s.requests)) }];
  // Journals written before errorClasses hold only the total; one class alone would repeat it.
  if (classes.length > 1 || (classes.length === 1 && seconds.some((s) => s.errors > 0 && !s.errorClasses))) {
    for (const name of classes) errors.push({ label: name, values: seconds.map((s) => share(s.errorClasses?.[name] ?? 0, s.requests)) });
  } else if (classes.length === 1) {
    errors[0]!.label = `all errors (${classes[0]})`;
  }
  const describe = (what: string, series: ChartSeries[], unit: ChartUnit, format: (v: number) => string, which: 'highest' | 'lowest') => {
    const top = extreme(series.at(-1)!.values, x, which);
    const during = top ? bands.find((b) => top.at >= b.fromS && top.at <= b.toS) : undefined;
    const faults = bands.length ? `; shaded: ${bands.map((b) => `${b.label} from ${signedSeconds(b.fromS)} to ${signedSeconds(b.toS)}`).join(', ')}` : '';
    return `${what} per ${step === 1 ? 'second' : `${step} seconds`} (${series.map((s) => s.label).join(', ')}, ${unit})${
      !top ? '' : top.value === 0 && which === 'highest' ? `; ${series.at(-1)!.label} 0 throughout` : `; ${which} ${series.at(-1)!.label} ${format(top.value)} at ${signedSeconds(top.at)}${during ? ` while ${during.label} was live` : ''}`
    }${faults}`;
  };
  return {
    x,
    xLabel: 'seconds from the method start',
    points: false,
    charts: [
      { id: 'latency', title: 'Latency', unit: 'ms', series: latency, description: describe('Latency', latency, 'ms', (v) => formatDuration(v), 'highest') },
      { id: 'errors', title: 'Error rate', unit: '%', series: errors, description: describe('Error rate', errors, '%', (v) => `${v}%`, 'highest') },
      { id: 'throughput', title: 'Throughput', unit: 'req/s', series: throughput, description: describe('Requests answered', throughput, 'req/s', (v) => `${v} req/s`, 'lowest') },
    ],
    bands,
    markers,
  };
}
