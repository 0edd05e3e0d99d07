// Tolerances: checks a probe's output against the experiment's `expect` and explains every miss as
// expected-versus-actual, so a deviation reads like `status: expected 200, got 503`.
import { isDeepStrictEqual } from 'node:util';
import { JSONPath } from 'jsonpath-plus';
import type { Matcher } from '../experiment/schema.js';
import { formatDuration } from '../core/duration.js';

export interface ToleranceMiss {
  /** The output field, with the JSONPath when one was used: `body $.items[0].id`. */
  field: string;
  expected: string;
  actual: string;
  message: string;
}

type MatcherObject = Exclude<Matcher, string | number | boolean | null>;

/** Longest rendering of an actual value in a miss; a 1 MiB body would drown the report. */
const MAX_SHOWN = 200;

/** Fields whose numbers are milliseconds, shown as durations: latency, duration, elapsedMs, timeToRecoverMs … */
const DURATION_FIELD = /^(latency|duration|elapsed|time)$|Ms$/i;

/** Every miss of `output` against `expect`; an empty list means the tolerances hold. */
export function checkExpectations(output: Record<string, unknown>, expect: Record<string, Matcher>): ToleranceMiss[] {
  const misses: ToleranceMiss[] = [];
  for (const [field, matcher] of Object.entries(expect)) {
    misses.push(...checkField(output, field, matcher));
  }
  return misses;
}

function checkField(output: Record<string, unknown>, field: string, matcher: Matcher): ToleranceMiss[] {
  const found = lookupField(output, field);
  const asDuration = DURATION_FIELD.test(field.split('.').pop() ?? field);
  // A probe that could not reach its target reports `error` beside a null status; say why beside the null.
  const reason = field !== 'error' && typeof output.error === 'string' ? output.error : undefined;
  const describe = (value: unknown): string => {
    const shown = showValue(value, asDuration);
    return reason !== undefined && (value === null || value === undefined) ? `${shown} (${reason})` : shown;
  };

  if (!found.present) {
    if (isMatcherObject(matcher) && matcher.exists === false) return [];
    const fields = Object.keys(output).filter((key) => output[key] !== undefined);
    return [
      miss(field, `a field "${field}"`, 'none', `${field}: no such output field; the output has ${fields.length ? fields.join(', ') : 'no fields'}`),
    ];
  }

  if (!isMatcherObject(matcher)) {
    return valuesEqual(found.value, matcher) ? [] : [miss(field, showValue(matcher, asDuration), describe(found.value))];
  }

  let value = found.value;
  let label = field;
  let selected = true;
  if (matcher.path !== undefined) {
    label = `${field} ${matcher.path}`;
    const selection = selectPath(value, matcher.path);
    if ('problem' in selection) return [miss(label, `a value at ${matcher.path}`, selection.problem)];
    selected = selection.values.length > 0;
    // One match is the value itself; several are compared as a list (`$.items[*].id`).
    value = selection.values.length === 1 ? selection.values[0] : selection.values.length === 0 ? undefined : selection.values;
  }

  const misses: ToleranceMiss[] = [];
  const present = selected && value !== undefined;
  if (matcher.exists !== undefined && matcher.exists !== present) {
    misses.push(miss(label, matcher.exists ? 'a value' : 'no value', describe(value)));
  }
  if (matcher.exists === false) return misses;
  if (!present && hasValueChecks(matcher)) {
    // Without a value the remaining checks cannot hold; one miss says so rather than one per check.
    if (matcher.exists === undefined) misses.push(miss(label, describeExpectation(matcher, asDuration), describe(value)));
    return misses;
  }

  if (matcher.equals !== undefined && !valuesEqual(value, matcher.equals)) {
    // A list of problems that should be empty (a prometheus probe's breaches) reads best as sentences.
    if (isEmptyList(matcher.equals) && isTextList(value)) misses.push(miss(label, 'none', value.join('; ')));
    else misses.push(miss(label, showValue(matcher.equals, asDuration), describe(value)));
  }
  if (matcher.oneOf !== undefined && !matcher.oneOf.some((candidate) => valuesEqual(value, candidate))) {
    misses.push(miss(label, `one of ${matcher.oneOf.map((c) => showValue(c, asDuration)).join(', ')}`, describe(value)));
  }
  if (matcher.min !== undefined || matcher.max !== undefined) {
    const number = asNumber(value);
    const inRange =
      number !== undefined && (matcher.min === undefined || number >= matcher.min) && (matcher.max === undefined || number <= matcher.max);
    if (!inRange) misses.push(miss(label, describeRange(matcher.min, matcher.max, asDuration), describe(value)));
  }
  if (matcher.matches !== undefined) {
    const pattern = compilePattern(matcher.matches);
    if (pattern instanceof RegExp) {
      if (!pattern.test(asText(value))) misses.push(miss(label, `to match /${matcher.matches}/`, describe(value)));
    } else {
      misses.push(miss(label, `a valid regular expression`, `/${matcher.matches}/ (${pattern.problem})`));
    }
  }
  if (matcher.contains !== undefined && !containsText(value, matcher.contains)) {
    misses.push(miss(label, `to contain ${JSON.stringify(matcher.contains)}`, describe(value)));
  }
  return misses;
}

function miss(field: string, expected: string, actual: string, message?: string): ToleranceMiss {
  return { field, expected, actual, message: message ?? `${field}: expected ${expected}, got ${actual}` };
}

function isMatcherObject(matcher: Matcher): matcher is MatcherObject {
  return typeof matcher === 'object' && matcher !== null;
}

function hasValueChecks(matcher: MatcherObject): boolean {
  return (
    matcher.equals !== undefined ||
    matcher.oneOf !== undefined ||
    matcher.min !== undefined ||
    matcher.max !== undefined ||
    matcher.matches !== undefined ||
    matcher.contains !== undefined
  );
}

/**
 * A field is a key of the output; when no key has that exact name, a dotted name walks into nested
 * objects (`headers.content-type`, `json.status`), so common cases need no JSONPath.
 */
function lookupField(output: Record<string, unknown>, field: string): { present: boolean; value: unknown } {
  if (Object.hasOwn(output, field) && output[field] !== undefined) return { present: true, value: output[field] };
  if (!field.includes('.')) return { present: false, value: undefined };
  let current: unknown = output;
  for (const part of field.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, part)) return { present: false, value: undefined };
    current = (current as Record<string, unknown>)[part];
  }
  return current === undefined ? { present: false, value: undefined } : { present: true, value: current };
}

/** JSONPath over the value; a string is parsed as JSON first, so `body` works as well as `json`. */
function selectPath(value: unknown, path: string): { values: unknown[] } | { problem: string } {
  let document = value;
  if (typeof value === 'string') {
    try {
      document = JSON.parse(value);
    } catch {
      return { problem: `text that is not JSON: ${showValue(value, false)}` };
    }
  }
  if (typeof document !== 'object' || document === null) return { problem: `${showValue(document, false)}, which has no fields` };
  try {
    // 'safe' evaluates filter expressions without eval(): experiment files must not run code.
    const values = JSONPath({ path, json: document, wrap: true, eval: 'safe' }) as unknown[];
    return { values };
  } catch (error) {
    return { problem: `an invalid JSONPath (${error instanceof Error ? error.message : String(error)})` };
  }
}

function isEmptyList(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}

function isTextList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string');
}

function valuesEqual(actual: unknown, expected: unknown): boolean {
  if (isDeepStrictEqual(actual, expected)) return true;
  // YAML may hand over `"200"` where the output holds 200 (or a header's "42" against 42): same value, different type.
  if ((typeof actual === 'number' && typeof expected === 'string') || (typeof actual === 'string' && typeof expected === 'number')) {
    return String(actual) === String(expected);
  }
  return false;
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  // Numeric text (a content-length header, a command's stdout) counts as its number.
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value) ?? String(value);
}

function containsText(value: unknown, needle: string): boolean {
  if (Array.isArray(value)) return value.some((item) => valuesEqual(item, needle) || asText(item) === needle);
  return asText(value).includes(needle);
}

function compilePattern(source: string): RegExp | { problem: string } {
  try {
    return new RegExp(source);
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

function describeRange(min: number | undefined, max: number | undefined, asDuration: boolean): string {
  const show = (n: number): string => showValue(n, asDuration);
  if (min !== undefined && max !== undefined) return `between ${show(min)} and ${show(max)}`;
  if (min !== undefined) return `at least ${show(min)}`;
  return `at most ${show(max ?? 0)}`;
}

/** The whole matcher in words, for a value that is missing altogether. */
function describeExpectation(matcher: MatcherObject, asDuration: boolean): string {
  const parts: string[] = [];
  if (matcher.equals !== undefined) parts.push(showValue(matcher.equals, asDuration));
  if (matcher.oneOf !== undefined) parts.push(`one of ${matcher.oneOf.map((c) => showValue(c, asDuration)).join(', ')}`);
  if (matcher.min !== undefined || matcher.max !== undefined) parts.push(describeRange(matcher.min, matcher.max, asDuration));
  if (matcher.matches !== undefined) parts.push(`to match /${matcher.matches}/`);
  if (matcher.contains !== undefined) parts.push(`to contain ${JSON.stringify(matcher.contains)}`);
  return parts.join(' and ');
}

/** A value as a reader wants to see it: numbers bare, text quoted, durations with units, long values cut. */
function showValue(value: unknown, asDuration: boolean): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && asDuration && Number.isFinite(value)) {
    // Below 10s whole milliseconds compare best at a glance (500ms vs 1203ms); above, 1m30s reads better.
    return value < 10_000 ? `${Math.round(value)}ms` : formatDuration(value);
  }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}… (${text.length} characters)` : text;
}
