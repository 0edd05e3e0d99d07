// Variable substitution in experiment files: ${env.NAME}, ${env.NAME:-default}, ${vars.a.b} and
// ${secrets.name} are resolved at load time; ${steps.<id>…} refers to a step's output and is left as
// text for the engine, which resolves it (src/engine/references.ts) when the step has run.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { FaultlineError } from '../core/errors.js';
import { closestName } from '../core/closest-name.js';
import type { DocumentIssue, PathSegment } from './validate.js';

/** A `$${` escape, a complete `${…}` expression (with its inner text) or a `${` that never closes. */
interface ExpressionMatch {
  index: number;
  /** As written: `$${`, `${…}` or `${`. */
  text: string;
  /** Between the braces; undefined for an escape or an unclosed `${`. */
  inner: string | undefined;
}

/**
 * The escapes and expressions of a text, left to right, in linear time. (A regular expression for
 * this rescanned the rest of the text for each `${` that never closes: quadratic, seconds on a
 * text of 3,000 of them.)
 */
function expressionsIn(text: string): ExpressionMatch[] {
  const found: ExpressionMatch[] = [];
  // The next "}" at or after the current position; -1 once there is none left.
  let close = 0;
  let i = text.indexOf('$');
  while (i !== -1) {
    if (text.startsWith('$${', i)) {
      found.push({ index: i, text: '$${', inner: undefined });
      i = text.indexOf('$', i + 3);
      continue;
    }
    if (!text.startsWith('${', i)) {
      i = text.indexOf('$', i + 1);
      continue;
    }
    if (close !== -1 && close < i + 2) close = text.indexOf('}', i + 2);
    if (close === -1) {
      found.push({ index: i, text: '${', inner: undefined });
      i = text.indexOf('$', i + 2);
    } else {
      found.push({ index: i, text: text.slice(i, close + 1), inner: text.slice(i + 2, close) });
      i = text.indexOf('$', close + 1);
    }
  }
  return found;
}
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STEP_REF_RE = /(?<!\$)\$\{\s*steps\./;
const NAMESPACES = ['env', 'vars', 'secrets', 'steps'] as const;
/** A secret file is a token or a password, never a large file. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export type Namespace = (typeof NAMESPACES)[number];

export interface SubstitutionContext {
  env: Readonly<Record<string, string | undefined>>;
  vars: Record<string, unknown>;
  secrets: Readonly<Record<string, string>>;
  /** Namespaces usable here; `vars` may use only env, for instance. */
  allowed: ReadonlySet<Namespace>;
  /** What substitution may still add, shared by every string of a document. */
  budget?: ExpansionBudget;
}

/**
 * What substitution may add to one document in all. A 20 KB var used a hundred thousand times (or a
 * list of 20,000 used in 20,000 places) would expand a small file into gigabytes: an expansion bomb.
 */
export const MAX_EXPANDED_CHARACTERS = 16 * 1024 * 1024;
export const MAX_EXPANDED_VALUES = 100_000;

export interface ExpansionBudget {
  characters: number;
  values: number;
  exhausted: boolean;
}

export function expansionBudget(): ExpansionBudget {
  return { characters: MAX_EXPANDED_CHARACTERS, values: MAX_EXPANDED_VALUES, exhausted: false };
}

/** How many values (items, mappings, scalars) `value` holds, counting no further than `limit`. */
function countValues(value: unknown, limit: number): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && count <= limit) {
    const next = pending.pop();
    count++;
    if (Array.isArray(next)) pending.push(...next);
    else if (isPlainObject(next)) pending.push(...Object.values(next));
  }
  return count;
}

/** Takes what a substituted value adds from the budget; false (and one problem) once it is spent. */
function chargeExpansion(value: unknown, context: SubstitutionContext, path: PathSegment[], issues: DocumentIssue[]): boolean {
  const budget = context.budget;
  if (!budget) return true;
  if (budget.exhausted) return false;
  if (typeof value === 'string') budget.characters -= value.length;
  else if (typeof value === 'object' && value !== null) budget.values -= countValues(value, budget.values);
  if (budget.characters >= 0 && budget.values >= 0) return true;
  budget.exhausted = true;
  issues.push({
    path,
    message: `variables expand to more than ${MAX_EXPANDED_CHARACTERS / 1024 / 1024} MiB of text or ${MAX_EXPANDED_VALUES.toLocaleString('en')} values in all: the file looks like an expansion bomb`,
    hint: 'use large vars in fewer places',
  });
  return false;
}

/**
 * Reads text the way users mean it on a command line or in an environment variable: true, false and
 * numbers that read back the same become booleans and numbers; everything else stays text, so ids
 * like 007 and versions like 1.10 survive.
 */
export function parseScalarText(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const number = Number(text);
    if (Number.isFinite(number) && String(number) === text) return number;
  }
  return text;
}

/** Deep-merges plain mappings; later values win, so --var overrides the file's vars. */
export function mergeVars(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const existing = Object.hasOwn(merged, key) ? merged[key] : undefined;
    merged[key] = isPlainObject(existing) && isPlainObject(value) ? mergeVars(existing, value) : value;
  }
  return merged;
}

/** A mapping as parsed from YAML or JSON: not a list, and not a Date, Map or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** True when a string still holds a ${steps.…} reference for the engine to resolve. */
export function hasStepReference(text: string): boolean {
  return STEP_REF_RE.test(text);
}

/** The step ids a string refers to, with each `${…}` expression as written. */
export function findStepReferences(text: string): { id: string; path: string[]; expression: string }[] {
  const found: { id: string; path: string[]; expression: string }[] = [];
  for (const match of expressionsIn(text)) {
    const inner = match.inner?.trim();
    if (inner === undefined || !inner.startsWith('steps.')) continue;
    const [id = '', ...path] = inner.slice('steps.'.length).split('.');
    found.push({ id, path, expression: match.text });
  }
  return found;
}

/**
 * Resolves secrets declared as `{env: NAME}` or `{file: path}` (relative to the experiment's folder).
 * Shapes the schema rejects are skipped here: the schema pass reports them.
 */
export async function resolveSecrets(
  secrets: unknown,
  options: { dir: string; env: Readonly<Record<string, string | undefined>> },
): Promise<{ values: Record<string, string>; sources: Record<string, SecretSource>; issues: DocumentIssue[] }> {
  const values: Record<string, string> = {};
  // Where each secret comes from, for the ledger: `recover` reads it again there, the value is never written.
  const sources: Record<string, SecretSource> = {};
  const issues: DocumentIssue[] = [];
  if (!isPlainObject(secrets)) return { values, sources, issues };
  for (const [name, spec] of Object.entries(secrets)) {
    if (!isPlainObject(spec)) continue;
    const { env, file } = spec;
    if (typeof env === 'string' && file === undefined) {
      sources[name] = { env };
      const value = options.env[env];
      if (value === undefined) {
        issues.push({
          path: ['secrets', name, 'env'],
          message: `secret "${name}" comes from the environment variable ${env}, which is not set`,
          hint: `set it before running, e.g. ${env}=… faultline run …`,
        });
      } else {
        values[name] = value;
      }
    } else if (typeof file === 'string' && env === undefined) {
      const path = isAbsolute(file) ? file : resolve(options.dir, file);
      sources[name] = { file: path };
      const read = await readSecretFile(path);
      if (typeof read === 'string') values[name] = read;
      else issues.push({ path: ['secrets', name, 'file'], message: `secret "${name}": ${read.problem}`, hint: read.hint });
    }
  }
  return { values, sources, issues };
}

/** Where a secret's value is read: an environment variable's name, or an absolute file path. */
export type SecretSource = { env: string } | { file: string };

export async function readSecretFile(path: string): Promise<string | { problem: string; hint: string }> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return { problem: `${path} is not a file`, hint: 'point file: at a file holding only the secret' };
    if (info.size > MAX_SECRET_FILE_BYTES) {
      return { problem: `${path} is larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB`, hint: 'a secret file holds only the secret' };
    }
    // A trailing newline is an editor's doing, not part of the secret.
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? { problem: `file ${path} does not exist`, hint: 'secret files are read relative to the experiment\'s folder' }
      : { problem: `cannot read ${path} (${code ?? 'error'})`, hint: 'check the file\'s permissions' };
  }
}

/**
 * Substitutes every string inside `value` (keys are left alone). Problems are pushed to `issues`,
 * located at the string's path; a string with a problem is kept as written.
 */
export function substituteVariables(
  value: unknown,
  context: SubstitutionContext,
  path: PathSegment[],
  issues: DocumentIssue[],
): unknown {
  if (typeof value === 'string') return substituteString(value, context, path, issues);
  if (Array.isArray(value)) return value.map((item, index) => substituteVariables(item, context, [...path, index], issues));
  if (isPlainObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = substituteVariables(item, context, [...path, key], issues);
    return result;
  }
  return value;
}

function substituteString(text: string, context: SubstitutionContext, path: PathSegment[], issues: DocumentIssue[]): unknown {
  if (!text.includes('${')) return text;
  // The engine resolves and unescapes every string that mentions ${steps. (escaped or not) when the
  // step has run, so their escapes must reach it intact; `$${steps.…}` then stays a literal.
  const keepEscapes = /\$\{\s*steps\./.test(text);
  const matches = expressionsIn(text);
  const only = matches.length === 1 ? matches[0] : undefined;
  const before = issues.length;

  if (only && only.text === text && only.inner !== undefined) {
    const resolved = resolveExpression(only.inner, context, { whole: true, expression: text, path, issues });
    if (issues.length > before || !chargeExpansion(resolved.value, context, path, issues)) return text;
    return resolved.value;
  }

  let out = '';
  let last = 0;
  // The same failing ${…} written 400 times in one text is one problem, not 400.
  const failed = new Set<string>();
  for (const match of matches) {
    out += text.slice(last, match.index);
    last = match.index + match.text.length;
    if (match.text === '$${') {
      out += keepEscapes ? '$${' : '${';
      continue;
    }
    if (match.inner === undefined) {
      if (failed.has(match.text)) continue;
      failed.add(match.text);
      issues.push({ path, needle: '${', message: 'unterminated ${: expected ${namespace.name}', hint: 'write $${ for a literal ${' });
      continue;
    }
    if (failed.has(match.text)) continue;
    const failures = issues.length;
    const resolved = resolveExpression(match.inner, context, { whole: false, expression: match.text, path, issues });
    if (issues.length > failures) failed.add(match.text);
    if (!chargeExpansion(resolved.value, context, path, issues)) return text;
    out += resolved.value;
  }
  out += text.slice(last);
  return issues.length > before ? text : out;
}

interface ExpressionSite {
  whole: boolean;
  expression: string;
  path: PathSegment[];
  issues: DocumentIssue[];
}

function resolveExpression(inner: string, context: SubstitutionContext, site: ExpressionSite): { value: unknown } {
  const body = inner.trim();
  const dot = body.indexOf('.');
  const namespace = dot === -1 ? body : body.slice(0, dot);
  const rest = dot === -1 ? '' : body.slice(dot + 1);
  const fail = (message: string, hint?: string): { value: unknown } => {
    site.issues.push({ path: site.path, needle: site.expression, message, ...(hint ? { hint } : {}) });
    return { value: site.expression };
  };

  if (!(NAMESPACES as readonly string[]).includes(namespace)) {
    const close = closestName(namespace, NAMESPACES);
    return fail(
      `unknown reference ${site.expression}: expected \${env.…}, \${vars.…}, \${secrets.…} or \${steps.…}`,
      close ? `did you mean \${${close}.${rest}}? Write $\${ for a literal \${` : 'write $${ for a literal ${',
    );
  }
  if (namespace === 'steps') return { value: site.expression };
  if (!context.allowed.has(namespace as Namespace)) {
    return fail(
      `${site.expression} cannot be used here: only ${[...context.allowed].map((n) => `\${${n}.…}`).join(', ')}`,
      'vars are read before secrets and other vars exist: refer to those where the value is used',
    );
  }
  if (rest === '') {
    return fail(`${site.expression} names no ${namespace === 'vars' ? 'var' : namespace === 'env' ? 'variable' : 'secret'}`, `write \${${namespace}.<name>}`);
  }

  if (namespace === 'env') {
    const separator = rest.indexOf(':-');
    const name = separator === -1 ? rest : rest.slice(0, separator);
    const fallback = separator === -1 ? undefined : rest.slice(separator + 2);
    if (!ENV_NAME_RE.test(name)) return fail(`"${name}" is not an environment variable name`, 'names are letters, digits and _');
    // Own properties only: ${env.constructor} must not reach the object's prototype.
    const value = Object.hasOwn(context.env, name) ? context.env[name] : undefined;
    // As in a shell, :- also replaces an empty value.
    const chosen = value === undefined || (value === '' && fallback !== undefined) ? fallback : value;
    if (chosen === undefined) {
      return fail(`environment variable ${name} is not set`, `set it, or give a default: \${env.${name}:-value}`);
    }
    return { value: site.whole ? parseScalarText(chosen) : chosen };
  }

  if (namespace === 'secrets') {
    // Own properties only: ${secrets.toString} must not expand to a function's source.
    const value = Object.hasOwn(context.secrets, rest) ? context.secrets[rest] : undefined;
    if (value === undefined) {
      const known = Object.keys(context.secrets);
      const close = closestName(rest, known);
      return fail(
        `unknown secret "${rest}"`,
        close ? `did you mean \${secrets.${close}}?` : `declare it under secrets: {${rest}: {env: NAME}}`,
      );
    }
    return { value };
  }

  const value = lookupVar(context.vars, rest.split('.'));
  if ('missing' in value) {
    const close = closestName(value.missing, value.known);
    const where = value.parent ? `${value.parent}.` : '';
    return fail(
      `unknown var "${rest}"`,
      close
        ? `did you mean \${vars.${where}${close}}?`
        : `define it under vars: in the file, or pass --var ${rest}=value${value.known.length ? ` (known here: ${value.known.join(', ')})` : ''}`,
    );
  }
  if (!site.whole && (typeof value.found === 'object' && value.found !== null)) {
    return fail(
      `vars.${rest} is a ${Array.isArray(value.found) ? 'list' : 'mapping'}, so it can only be a whole value, not part of a text`,
      `write "\${vars.${rest}}" alone as the value, or use one of its items: \${vars.${rest}.<key or index>}`,
    );
  }
  return { value: site.whole ? value.found : String(value.found) };
}

function lookupVar(vars: Record<string, unknown>, names: string[]): { found: unknown } | { missing: string; parent: string; known: string[] } {
  let current: unknown = vars;
  for (const [index, name] of names.entries()) {
    const parent = names.slice(0, index).join('.');
    if (Array.isArray(current) && /^\d+$/.test(name) && Number(name) < current.length) {
      current = current[Number(name)];
    } else if (isPlainObject(current) && Object.hasOwn(current, name)) {
      current = current[name];
    } else {
      return { missing: name, parent, known: isPlainObject(current) ? Object.keys(current) : [] };
    }
  }
  return { found: current };
}
