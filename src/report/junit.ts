// JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters): one <testsuite> per experiment
// run, one <testcase> per verdict, per steady-state probe (before, during, after), per method probe,
// and one for the run itself. A failed verdict or a missed probe is a <failure> carrying the evidence,
// a verdict that was not exercised is <skipped message="why">, a run error is an <error>.
//
// The XML is written here rather than with junit-report-builder: that library (5.x) cannot put a
// message on <skipped>, and why a verdict was not exercised is the one thing a reader of a skipped
// verdict needs. The format is four elements; escaping is below. Checked against the Jenkins xunit
// plugin's junit-10.xsd in junit.test.ts.
import { formatDuration } from '../core/duration.js';
import type { Journal } from '../engine/journal.js';
import type { VerdictRecord } from '../verdicts/types.js';
import { missReason, probeOutcomes, type ProbeOutcome } from './probes.js';
import { reproduceCommand, verdictLabel } from './labels.js';

interface Outcome {
  kind: 'failure' | 'error' | 'skipped';
  type?: string;
  message: string;
  body?: string;
}

interface TestCase {
  classname: string;
  name: string;
  timeMs?: number;
  outcome?: Outcome;
  systemOut?: string;
}

// XML 1.0 allows tab, newline, carriage return and everything from U+0020 except surrogates
// (paired ones are fine) and U+FFFE/U+FFFF; anything else makes the whole file unreadable.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function escapeText(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(text: string): string {
  // Newlines and tabs in attributes are normalised to spaces by XML parsers unless written as references.
  return escapeText(text).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeAttribute(String(value))}"`)
    .join('');
}

/** Seconds with millisecond precision, as the schema's SUREFIRE_TIME pattern allows. */
const seconds = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

/** ISO 8601 without zone or fraction, as Ant writes it; the journal's times are UTC. */
const timestamp = (iso: string) => iso.replace(/(\.\d+)?Z$/, '');

function evidenceText(verdict: VerdictRecord): string {
  const { evidence } = verdict;
  const lines = [evidence.summary, ''];
  for (const check of evidence.checks) lines.push(`${check.ok ? '✔' : '✖'} ${check.what}: ${check.measured} (bound ${check.bound})`);
  if (evidence.faults.length) lines.push(`faults: ${evidence.faults.join(', ')}`);
  if (evidence.windows.length) lines.push(`windows: ${evidence.windows.join(', ')}`);
  const figures = Object.entries(evidence.figures);
  if (figures.length) lines.push(`figures: ${figures.map(([name, value]) => `${name}=${value ?? 'n/a'}`).join(', ')}`);
  for (const r of evidence.reach ?? []) lines.push(`reach of ${r.fault} (${r.source}): ${r.reached === null ? 'cannot tell' : r.reached ? 'reached' : 'not reached'}: ${r.summary}`);
  for (const s of evidence.strength ?? []) lines.push(`strength of ${s.fault}: ${s.strong === null ? 'not checked' : s.strong ? 'strong enough' : 'too weak'}: ${s.summary}`);
  if (evidence.repetitions) lines.push(`repetitions: ${evidence.repetitions.join(', ')}`);
  if (evidence.hint) lines.push(`hint: ${evidence.hint}`);
  return lines.join('\n').trim();
}

function verdictCase(verdict: VerdictRecord): TestCase {
  const text = evidenceText(verdict);
  const base = { classname: 'faultline.verdicts', name: verdictLabel(verdict) };
  if (verdict.result === 'unstable') return { ...base, outcome: { kind: 'failure', type: 'verdict-unstable', message: `unstable: ${verdict.evidence.summary}`, body: text } };
  if (verdict.result === 'fail') return { ...base, outcome: { kind: 'failure', type: 'verdict-failed', message: verdict.evidence.summary, body: text } };
  if (verdict.result === 'not-exercised') return { ...base, outcome: { kind: 'skipped', message: `not exercised: ${verdict.evidence.summary}` }, systemOut: text };
  return { ...base, systemOut: text };
}

/** Misses listed in a failure body; a probe repeated hundreds of times stays readable. */
const LISTED_MISSES = 20;

function probeCase(probe: ProbeOutcome): TestCase {
  const base = { classname: probe.phase === 'method' ? 'faultline.method' : `faultline.steady-state.${probe.phase}`, name: probe.name, timeMs: probe.durationMs };
  if (probe.result === 'skipped') return { ...base, outcome: { kind: 'skipped', message: 'did not run to a result (cancelled or skipped)' } };
  if (probe.result === 'met') return base;
  const first = missReason(probe.misses[0]!);
  const message = probe.checks === 1 ? first : `${probe.misses.length} of ${probe.checks} checks missed; first: ${first}`;
  const listed = probe.misses.slice(0, LISTED_MISSES).map((record) => `${record.startedAt} ${record.name}: ${record.status}: ${missReason(record)}`);
  if (probe.misses.length > LISTED_MISSES) listed.push(`… and ${probe.misses.length - LISTED_MISSES} more (see the journal)`);
  return { ...base, outcome: { kind: 'failure', type: probe.misses[0]!.status, message, body: listed.join('\n') } };
}

/** The run as a whole: a run error, an incomplete rollback or an interrupt is an error; an abort a failure. */
function runCase(journal: Journal): TestCase {
  const base = { classname: 'faultline.run', name: 'run', timeMs: journal.durationMs };
  const faults = journal.faults.map((f) => `${f.key}: ${f.status}${f.error ? ` (${f.error.message})` : ''}`);
  const body = [journal.error ? `${journal.error.code}: ${journal.error.message}` : journal.reason, journal.error?.hint ? `hint: ${journal.error.hint}` : '', faults.length ? `faults: ${faults.join('; ')}` : '']
    .filter(Boolean)
    .join('\n');
  switch (journal.status) {
    case 'aborted':
      return { ...base, outcome: { kind: 'failure', type: 'aborted', message: journal.reason, body } };
    case 'failed':
    case 'rollback-incomplete':
    case 'interrupted':
      return { ...base, outcome: { kind: 'error', type: journal.error?.code ?? journal.status, message: journal.reason, body } };
    default:
      return { ...base, systemOut: `${journal.status}: ${journal.reason} (${formatDuration(journal.durationMs)})` };
  }
}

export function junitTestCases(journal: Journal): TestCase[] {
  return [...journal.verdicts.map(verdictCase), ...probeOutcomes(journal).map(probeCase), runCase(journal)];
}

function renderCase(test: TestCase): string {
  const open = `    <testcase${attributes({ classname: test.classname, name: test.name, time: test.timeMs === undefined ? undefined : seconds(test.timeMs) })}`;
  const children: string[] = [];
  if (test.outcome) {
    const { kind, type, message, body } = test.outcome;
    const tag = `<${kind}${attributes({ type, message })}`;
    children.push(body ? `      ${tag}>${escapeText(body)}</${kind}>` : `      ${tag}/>`);
  }
  if (test.systemOut) children.push(`      <system-out>${escapeText(test.systemOut)}</system-out>`);
  return children.length === 0 ? `${open}/>` : `${open}>\n${children.join('\n')}\n    </testcase>`;
}

function count(tests: TestCase[], kind: Outcome['kind']): number {
  return tests.filter((test) => test.outcome?.kind === kind).length;
}

function renderSuite(journal: Journal): { xml: string; tests: number; failures: number; errors: number } {
  const tests = junitTestCases(journal);
  const failures = count(tests, 'failure');
  const errors = count(tests, 'error');
  const properties: Record<string, string> = {
    'faultline.version': journal.faultline,
    'faultline.runId': journal.runId,
    'faultline.file': journal.experiment.file,
    'faultline.seed': String(journal.seed),
    'faultline.status': journal.status,
    'faultline.reason': journal.reason,
    'faultline.startedAt': journal.startedAt,
    'faultline.reproduce': reproduceCommand(journal),
  };
  const lines = [
    `  <testsuite${attributes({
      name: journal.experiment.title,
      tests: tests.length,
      failures,
      errors,
      skipped: count(tests, 'skipped'),
      time: seconds(journal.durationMs),
      timestamp: timestamp(journal.startedAt),
      file: journal.experiment.file,
    })}>`,
    '    <properties>',
    ...Object.entries(properties).map(([name, value]) => `      <property${attributes({ name, value })}/>`),
    '    </properties>',
    ...tests.map(renderCase),
    '  </testsuite>',
  ];
  return { xml: lines.join('\n'), tests: tests.length, failures, errors };
}

/** One JUnit document for one or more runs (several experiments of one `faultline run`). */
export function renderJunit(journals: readonly Journal[]): string {
  const suites = journals.map(renderSuite);
  const sum = (pick: (suite: (typeof suites)[number]) => number) => suites.reduce((total, suite) => total + pick(suite), 0);
  const time = journals.reduce((total, journal) => total + journal.durationMs, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes({ name: 'faultline', tests: sum((s) => s.tests), failures: sum((s) => s.failures), errors: sum((s) => s.errors), time: seconds(time) })}>`,
    ...suites.map((suite) => suite.xml),
    '</testsuites>',
    '',
  ].join('\n');
}
