// The experiment loader: reads a YAML or JSON file, refuses hostile input early and cheaply, then
// validates the document (schema, substitution, drivers) and reports every problem at once, each at
// its line and column. Also reads --var assignments and var files, and lists a folder's experiments.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { FaultlineError, InvalidInputError, type InputProblem } from '../core/errors.js';
import type { DriverRegistry } from '../drivers/registry.js';
import { experimentSchema, type Experiment } from './schema.js';
import { expansionBudget, isPlainObject, mergeVars, type ExpansionBudget, parseScalarText, resolveSecrets, substituteVariables, type SecretSource, type SubstitutionContext } from './substitute.js';
import { verdictWarnings } from './verdict-warnings.js';
import {
  explainIssues,
  formatPath,
  stepReferencesOutsideActivities,
  driverNamesIn,
  validateAgainstDrivers,
  validateWellFormedParts,
  type DocumentIssue,
  type PathSegment,
} from './validate.js';

/** Experiment files are hand-written and small; anything larger is a mistake or an attack. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Deeper nesting than any experiment needs; the YAML parser recurses and would crash on 20,000 levels. */
export const MAX_NESTING = 64;
/** Keys, values and punctuation. Parsing time grows with tokens, not bytes: this keeps a load under a second. */
export const MAX_TOKENS = 50_000;
/** How many nodes aliases may expand to, against "billion laughs" documents. */
export const MAX_ALIAS_COUNT = 100;
/** Nesting after aliases are expanded: deeper than the text allows, still far from the stack's limit. */
export const MAX_EXPANDED_NESTING = 2 * MAX_NESTING;

export interface LoadOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** From --var key=value (dotted keys make nested objects: demo.without=timeouts) and --var-file; they override the file's vars. */
  vars?: Record<string, unknown>;
  registry: DriverRegistry;
}

export interface LoadedExperiment {
  /** Absolute path. */
  file: string;
  /** Validated and substituted, except ${steps.*} references, left as text for the engine. */
  experiment: Experiment;
  /** The document as written (before substitution), for the journal. */
  source: unknown;
  /** Resolved secret values, so outputs can redact them. */
  secretValues: string[];
  /** Faults that cannot make their verdict pass (too weak, reach unconfirmable): printed by validate and plan. */
  warnings?: InputProblem[];
  /** Each secret's name, value and source, so the ledger can hold a reference instead of the value. */
  secrets: { name: string; value: string; source: SecretSource }[];
}

/** Throws InvalidInputError with every problem found, or FaultlineError('E_FILE') when the file cannot be read. */
export async function loadExperiment(file: string, options: LoadOptions): Promise<LoadedExperiment> {
  const path = resolve(options.cwd, file);
  const text = await readSourceText(path);
  const parsed = parseSource(path, text);
  const source = parsed.value;
  const fail = (issues: DocumentIssue[]): never => {
    throw new InvalidInputError(toProblems(issues, parsed));
  };
  if (source === undefined) {
    fail([{ path: [], message: `the file holds no experiment (${text.trim() === '' ? 'it is empty' : 'only comments'})`, hint: 'faultline init writes a commented starter experiment' }]);
  }
  if (!isPlainObject(source)) {
    fail([
      {
        path: [],
        message: `expected a mapping of experiment keys (version, title, method, …), found ${kindOf(source)}`,
        hint: 'an experiment starts with keys such as version: 1 and title: …; faultline init writes a commented starter experiment',
      },
    ]);
  }
  const document = source as Record<string, unknown>;

  const issues: DocumentIssue[] = [];
  const budget = expansionBudget();
  const secrets = await resolveSecrets(document.secrets, { dir: dirname(path), env: options.env });
  issues.push(...secrets.issues);
  const fileVars = isPlainObject(document.vars)
    ? (substituteVariables(document.vars, context(budget, options.env, {}, {}, ['env']), ['vars'], issues) as Record<string, unknown>)
    : {};
  const vars = mergeVars(fileVars, options.vars ?? {});
  const everywhere = context(budget, options.env, vars, secrets.values, ['env', 'vars', 'secrets', 'steps']);

  const substituted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) {
    if (key === 'secrets') substituted[key] = value;
    else if (key === 'vars') substituted[key] = isPlainObject(value) ? vars : value;
    else substituted[key] = substituteVariables(value, everywhere, [key], issues);
  }
  if (!('vars' in document) && Object.keys(vars).length > 0) substituted.vars = vars;
  const substitutionProblems = [...issues];

  const result = experimentSchema.safeParse(substituted);
  const schemaIssues = result.success ? [] : explainIssues(result.error.issues, experimentSchema, substituted, []);
  // The checks against drivers, verdicts and step ids read the experiment's shape, so they run on
  // the checked experiment; when the schema failed, only on the parts that are well-formed by
  // themselves (a document of the wrong shape would crash them or make them report nonsense).
  const checkSemantics = () =>
    result.success
      ? validateAgainstDrivers(result.data, options.registry)
      : validateWellFormedParts(substituted, options.registry).filter(notWithin(schemaIssues));
  // Only the drivers the document names load; when something is wrong, every driver, so that a
  // "did you mean" hint can name an entry of a driver the document does not use.
  await options.registry.load(driverNamesIn(substituted));
  let semanticIssues = checkSemantics();
  if ((semanticIssues.length > 0 || schemaIssues.length > 0) && options.registry.partial) {
    await options.registry.loadAll();
    semanticIssues = checkSemantics();
  }
  // A string whose substitution failed is reported once, not again as a value of the wrong type.
  issues.push(
    ...[...schemaIssues, ...semanticIssues].filter(notWithin(substitutionProblems)),
    ...stepReferencesOutsideActivities(substituted),
  );
  if (issues.length === 0 && !result.success) {
    // Never refuse a document without saying why.
    issues.push({ path: [], message: 'the experiment does not match the format', hint: '`faultline schema` prints the JSON Schema of experiment files' });
  }
  if (issues.length > 0 || !result.success) fail(issues);

  return {
    file: path,
    experiment: result.data!,
    source,
    secretValues: [...new Set(Object.values(secrets.values).filter((value) => value !== ''))],
    warnings: toProblems(verdictWarnings(result.data!, options.registry), parsed),
    secrets: Object.entries(secrets.values).map(([name, value]) => ({ name, value, source: secrets.sources[name]! })),
  };
}

function context(
  budget: ExpansionBudget,
  env: Readonly<Record<string, string | undefined>>,
  vars: Record<string, unknown>,
  secrets: Record<string, string>,
  allowed: SubstitutionContext['allowed'] extends ReadonlySet<infer N> ? N[] : never,
): SubstitutionContext {
  return { env, vars, secrets, allowed: new Set(allowed), budget };
}

/**
 * Keeps the issues that lie outside every one of `reported`'s paths. Linear: a hostile file can hold
 * tens of thousands of problems, and comparing each with each took seconds.
 */
function notWithin(reported: readonly DocumentIssue[]): (issue: DocumentIssue) => boolean {
  const key = (path: readonly PathSegment[]) => path.map((segment) => JSON.stringify(String(segment))).join('/');
  const paths = new Set(reported.map((issue) => key(issue.path)));
  return (issue) => !issue.path.some((_segment, index) => paths.has(key(issue.path.slice(0, index + 1)))) && !paths.has('');
}

/** Turns `--var a.b=1` assignments into nested vars: {a: {b: 1}}. Values read as in YAML: numbers, true/false, else text. */
export function parseVarAssignments(assignments: string[]): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  const example = 'for example --var port=8080 or --var demo.without=timeouts';
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq === -1) throw new FaultlineError('E_INPUT', `--var "${assignment}": expected key=value`, { hint: example });
    const key = assignment.slice(0, eq).trim();
    const names = key.split('.');
    // __proto__ would reach (and pollute) the prototype of every object.
    if (!names.every((name) => /^[A-Za-z_][\w-]*$/.test(name) && name !== '__proto__')) {
      throw new FaultlineError('E_INPUT', `--var "${assignment}": "${key}" is not a var name`, {
        hint: `names are letters, digits, - and _, joined by dots for nested vars; ${example}`,
      });
    }
    let target = vars;
    for (const [index, name] of names.entries()) {
      if (index === names.length - 1) {
        target[name] = parseScalarText(assignment.slice(eq + 1));
        break;
      }
      const next = Object.hasOwn(target, name) ? target[name] : undefined;
      if (next !== undefined && !isPlainObject(next)) {
        throw new FaultlineError('E_INPUT', `--var "${assignment}": ${names.slice(0, index + 1).join('.')} is already set to a value`, {
          hint: 'a var is either a value or holds nested vars, not both',
        });
      }
      target = isPlainObject(next) ? next : (target[name] = {});
    }
  }
  return vars;
}

/** Reads a --var-file: a YAML or JSON mapping of vars. An empty file holds no vars. */
export async function readVarFile(path: string): Promise<Record<string, unknown>> {
  const text = await readSourceText(path, 'var');
  const parsed = parseSource(path, text);
  if (parsed.value === undefined) return {};
  if (!isPlainObject(parsed.value)) {
    throw new InvalidInputError(toProblems([{ path: [], message: `expected a mapping of var names to values, found ${kindOf(parsed.value)}` }], parsed));
  }
  return parsed.value;
}

/** Finds experiment files in a folder (*.yaml, *.yml, *.json), sorted, for `faultline run <folder>`. */
export async function findExperimentFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw fileError(dir, error);
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (!/\.(ya?ml|json)$/i.test(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())) files.push(path);
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---- reading ------------------------------------------------------------------------------------

function fileError(path: string, error: unknown): FaultlineError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new FaultlineError('E_FILE', `${path} does not exist`, { cause: error, hint: 'check the path; it is relative to the current folder' });
  if (code === 'ENOTDIR') return new FaultlineError('E_FILE', `${path} is not a folder`, { cause: error, hint: 'a part of the path before the last one is a file: check the path' });
  if (code === 'EACCES' || code === 'EPERM') return new FaultlineError('E_FILE', `${path} cannot be read: permission denied`, { cause: error, hint: 'check the permissions of the file and of the folders above it' });
  if (code === 'EISDIR') return new FaultlineError('E_FILE', `${path} is a folder, not a file`, { cause: error, hint: 'faultline run <folder> runs every experiment in a folder; validate and plan take files' });
  if (code === 'ELOOP') return new FaultlineError('E_FILE', `${path} cannot be read: its symbolic links form a loop`, { cause: error, hint: 'point the link at the experiment file itself (ls -l shows where it leads)' });
  if (code === 'ENAMETOOLONG') return new FaultlineError('E_FILE', `${path.slice(0, 80)}… cannot be read: the path is too long`, { cause: error, hint: 'check the path' });
  return new FaultlineError('E_FILE', `${path} cannot be read (${code ?? 'unknown error'})`, { cause: error, hint: 'check that the path names a readable experiment file' });
}

/** Reads a file as text, refusing folders, devices, oversized files and binary data before parsing. */
async function readSourceText(path: string, what: 'experiment' | 'var' = 'experiment'): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw fileError(path, error);
  }
  if (info.isDirectory()) {
    throw new FaultlineError('E_FILE', `${path} is a folder, not ${what === 'var' ? 'a var file' : 'an experiment file'}`, {
      hint: what === 'var' ? '--var-file takes a YAML or JSON file of name: value pairs' : 'name a .yaml, .yml or .json file; faultline run <folder> runs every experiment in a folder',
    });
  }
  // Reading a FIFO or a device could block forever or never end.
  if (!info.isFile()) throw new FaultlineError('E_FILE', `${path} is not a regular file (a device, pipe or socket)`, { hint: 'name a .yaml, .yml or .json file; to read from a pipe, save it to a file first' });
  const tooLarge = (size: number) =>
    new FaultlineError('E_FILE', `${path} is ${(size / 1024 / 1024).toFixed(1)} MiB; experiment files are limited to ${MAX_FILE_BYTES / 1024 / 1024} MiB`, {
      hint: 'keep large data out of the experiment file: let a command or probe read it',
    });
  if (info.size > MAX_FILE_BYTES) throw tooLarge(info.size);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw fileError(path, error);
  }
  if (bytes.length > MAX_FILE_BYTES) throw tooLarge(bytes.length);

  const binary = (offset: number, what: string) =>
    new InvalidInputError([
      {
        file: path,
        ...lineColumnAt(new TextDecoder().decode(bytes.subarray(0, offset)), Infinity),
        path: '',
        message: `the file holds binary data (${what}), not YAML or JSON text`,
        hint: 'experiment files are UTF-8 text; check that the right file was named',
      },
    ]);
  const nul = bytes.indexOf(0);
  if (nul !== -1) throw binary(nul, 'a NUL byte');
  try {
    // The decoder drops a leading byte-order mark, which editors on Windows add.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const lossy = new TextDecoder().decode(bytes);
    const bad = lossy.indexOf('\uFFFD');
    throw binary(Buffer.byteLength(lossy.slice(0, Math.max(bad, 0))), 'bytes that are not UTF-8');
  }
}

function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const end = Math.min(offset, text.length);
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: end - lineStart + 1 };
}

// ---- parsing ------------------------------------------------------------------------------------

interface ParsedSource {
  file: string;
  text: string;
  document: Document | undefined;
  lineCounter: LineCounter;
  /** The document as plain data; undefined when the file holds no document. */
  value: unknown;
}

function parseSource(file: string, text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const early = (offset: number, message: string, hint?: string): never => {
    throw new InvalidInputError([{ file, ...lineColumnAt(text, offset), path: '', message: shortenQuotes(message), hint: hint ?? 'JSON wants double-quoted keys and strings, a comma between items and none after the last' }]);
  };
  const limit = checkStructureLimits(text);
  if (limit) early(limit.offset, limit.message, limit.hint);
  if (extname(file).toLowerCase() === '.json') {
    const syntax = findJsonSyntaxError(text);
    if (syntax) early(syntax.offset, syntax.message, syntax.hint);
  }

  // uniqueKeys compares every key with every earlier one (25,000 keys took 10 s); findDuplicateKeys is linear.
  // The core schema whatever a %YAML 1.1 directive says: no !!binary, !!timestamp, !!set or merge
  // keys, whose values (a Buffer, a Date, a Set) are no experiment data.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, schema: 'core' });
  const parsed: ParsedSource = { file, text, document, lineCounter, value: undefined };
  const problems: InputProblem[] = [];
  const at = (offset: number, message: string, hint?: string) => {
    const { line, col } = lineCounter.linePos(offset);
    problems.push({ file, line, column: col, path: '', message, ...(hint ? { hint } : {}) });
  };
  // After the first syntax error the parser is lost and reports the rest of the file token by token
  // (60 errors for one unquoted ${…}); only the first error says anything true.
  const syntaxErrors = [...document.errors, ...document.warnings].sort((a, b) => a.pos[0] - b.pos[0]);
  const first = syntaxErrors[0];
  for (const error of syntaxErrors) {
    if (error !== first && error.code !== 'MULTIPLE_DOCS' && error.code !== 'TAB_AS_INDENT') continue;
    const explained = explainYamlError(error.code, error.message, lineText(text, lineCounter, error.pos[0]));
    at(error.pos[0], explained.message, explained.hint);
  }
  for (const problem of [...findKeyProblems(document, lineCounter), ...findSelfReferencingAliases(document)]) at(problem.offset, problem.message, problem.hint);
  if (problems.length > 0) throw new InvalidInputError(sortProblems(problems));
  if (document.contents === null) return parsed;

  try {
    parsed.value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const firstAlias = aliasNodes(document)[0];
    const offset = firstAlias?.range?.[0] ?? 0;
    if (message.includes('Excessive alias count')) {
      at(offset, `aliases expand to more than ${MAX_ALIAS_COUNT} nodes; the file looks like an alias bomb ("billion laughs")`, 'use anchors and aliases sparingly, or repeat the values');
    } else if (message.includes('Unresolved alias')) {
      const name = /: (\S+)$/.exec(message)?.[1];
      const alias = aliasNodes(document).find((node) => node.source === name) ?? firstAlias;
      at(alias?.range?.[0] ?? 0, `alias *${name ?? '?'} refers to no anchor`, 'define the anchor (&name) before the alias (*name)');
    } else {
      at(offset, `the document cannot be read: ${message}`, 'check the anchors (&name) and aliases (*name) of the document');
    }
    throw new InvalidInputError(problems);
  }
  // Aliases can nest a document deeper than its text does; every later pass recurses through it.
  const deep = pathDeeperThan(parsed.value, MAX_EXPANDED_NESTING);
  if (deep) {
    throw new InvalidInputError(
      toProblems([{ path: deep, message: `aliases nest the document more than ${MAX_EXPANDED_NESTING} levels deep`, hint: 'experiments need only a few levels; repeat the values instead of nesting aliases' }], parsed),
    );
  }
  return parsed;
}

/** The path to a value nested deeper than `limit` levels, if any; it never descends past the limit. */
function pathDeeperThan(value: unknown, limit: number, path: PathSegment[] = []): PathSegment[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (path.length >= limit) return path;
  const entries: [PathSegment, unknown][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  for (const [key, item] of entries) {
    const found = pathDeeperThan(item, limit, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/**
 * An alias inside the node its anchor names (`vars: &v { self: *v }`) makes a value that contains
 * itself, which every pass after parsing would follow forever. An alias refers to the last anchor of
 * its name before it, so one pass in document order finds them all without resolving each alias.
 */
function findSelfReferencingAliases(document: Document): { offset: number; message: string; hint: string }[] {
  const found: { offset: number; message: string; hint: string }[] = [];
  const anchors = new Map<string, Node>();
  visit(document, {
    Node: (_key, node) => {
      if (isAlias(node)) {
        const anchored = anchors.get(node.source);
        const [start = 0, , end = 0] = anchored?.range ?? [];
        const at = node.range?.[0] ?? 0;
        if (anchored && start <= at && at < end) {
          found.push({ offset: at, message: `alias *${node.source} is inside the value of its own anchor &${node.source}: the value would contain itself`, hint: 'an alias can only repeat a value defined before it, outside it' });
        }
      } else if (node.anchor) {
        anchors.set(node.anchor, node);
      }
    },
  });
  return found;
}

function aliasNodes(document: Document) {
  const found: Extract<Node, { source: string }>[] = [];
  visit(document, { Alias: (_key, node) => void found.push(node) });
  return found;
}

function lineText(text: string, lineCounter: LineCounter, offset: number): string {
  const { line } = lineCounter.linePos(offset);
  const start = lineCounter.lineStarts[line - 1] ?? 0;
  const end = text.indexOf('\n', start);
  return text.slice(start, end === -1 ? undefined : end);
}

const UNCLOSED_BRACKET_HINT = 'a { or [ opened above is not closed: end it with } or ] (or write the items as indented lines without brackets)';

function explainYamlError(code: string, message: string, line: string): { message: string; hint?: string } {
  if (/end with a [}\]]|Block collections are not allowed within flow collections/.test(message)) return { message, hint: UNCLOSED_BRACKET_HINT };
  // `{ url: ${vars.url} }`: in a flow mapping the braces of an unquoted ${…} read as YAML syntax.
  if (/[{[]/.test(line) && /[:,[{]\s*\$\{/.test(line)) {
    return { message, hint: 'inside { } or [ ], quote a value that holds ${…}: url: "${vars.url}"' };
  }
  switch (code) {
    case 'MULTIPLE_DOCS':
      return { message: 'a second document starts here; a file holds one experiment', hint: 'split it into one file per experiment; faultline run <folder> runs them in order' };
    case 'TAB_AS_INDENT':
      return { message: 'tabs are not allowed as indentation in YAML', hint: 'indent with spaces' };
    case 'MULTILINE_IMPLICIT_KEY':
      // `title x`: a key whose ':' is missing reads as the start of a key that runs on to the next line.
      if (/^\s*[\w.-]+[ \t]+[^:#]*$/.test(line) && !line.includes(': ')) {
        return { message: `"${line.trim()}" has no ": " after its key`, hint: `write it as key: value, for example ${line.trim().replace(/\s+/, ': ')}` };
      }
      return { message, hint: 'check the indentation here and on the line above; a value on the same line as its key cannot start a nested mapping' };
    case 'BAD_INDENT':
    case 'BLOCK_AS_IMPLICIT_KEY':
      if (/end with a [}\]]/.test(message)) return { message, hint: UNCLOSED_BRACKET_HINT };
      return { message, hint: 'check the indentation here and on the line above; a value on the same line as its key cannot start a nested mapping' };
    case 'MISSING_CHAR':
      if (/[}\]]/.test(message) && !/quote/i.test(message)) return { message, hint: UNCLOSED_BRACKET_HINT };
      return { message, hint: 'a quoted text must end with the same quote on the same or a later line' };
    case 'TAG_RESOLVE_FAILED':
      return { message, hint: 'faultline reads plain YAML; remove the tag' };
    default:
      return { message, hint: 'check the YAML syntax here and on the line above: indentation, quotes, brackets, and ": " after each key' };
  }
}

/** Duplicate keys in any mapping, in linear time, and keys that would reach an object's prototype. */
function findKeyProblems(document: Document, lineCounter: LineCounter): { offset: number; message: string; hint: string }[] {
  const found: { offset: number; message: string; hint: string }[] = [];
  visit(document, {
    Map: (_key, map) => {
      const seen = new Map<string, number>();
      for (const pair of map.items) {
        const key = keyText(pair.key);
        const offset = (pair.key as Node | null)?.range?.[0] ?? map.range?.[0] ?? 0;
        if (key === '__proto__') {
          found.push({ offset, message: 'the key "__proto__" is not allowed', hint: 'in JavaScript it would replace the prototype of the mapping: rename the key' });
          continue;
        }
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, offset);
          continue;
        }
        const { line, col } = lineCounter.linePos(first);
        found.push({ offset, message: `duplicate key "${key}": it is already set at line ${line}, column ${col}`, hint: 'remove one of the two' });
      }
    },
  });
  return found;
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

/**
 * Measures nesting and size with yaml's lexer before parsing: the lexer is lazy, so a hostile file is
 * refused after a few tokens, while the parser and composer would recurse 20,000 levels deep (and
 * can exhaust memory). Block nesting is tracked through the columns where collections start.
 */
function checkStructureLimits(text: string): { offset: number; message: string; hint: string } | undefined {
  const open: { column: number; kind: 'map' | 'seq' }[] = [];
  const openCollection = (column: number, kind: 'map' | 'seq') => {
    let top = open[open.length - 1];
    // A key at a sequence's column means the sequence (the value of the previous key) ended.
    if (kind === 'map' && top?.kind === 'seq' && top.column === column) {
      open.pop();
      top = open[open.length - 1];
    }
    if (top?.column === column && top.kind === kind) return;
    open.push({ column, kind });
  };
  let flowDepth = 0;
  let offset = 0;
  let column = 0;
  let tokens = 0;
  let atLineStart = true;
  let nodeColumn: number | undefined;
  let nodeOffset = 0;
  let scalarNext = false;
  for (const token of new Lexer().lex(text)) {
    if (++tokens > MAX_TOKENS) {
      return {
        offset,
        message: `the file has more than ${MAX_TOKENS.toLocaleString('en')} tokens (keys, values and punctuation); experiment files are far smaller`,
        hint: 'split it into several experiments, or move bulk data into a file a command or probe reads',
      };
    }
    // Control tokens of the lexer take no room in the text; \x1f announces a scalar's source.
    if (token === '\x1f') {
      scalarNext = true;
      continue;
    }
    if (token === '\x02' || token === '\x18') continue;
    const startColumn = column;
    const startOffset = offset;
    offset += token.length;
    const newline = token.lastIndexOf('\n');
    column = newline === -1 ? column + token.length : token.length - newline - 1;
    const isScalar = scalarNext;
    scalarNext = false;
    if (!isScalar) {
      if (token === '\n' || token === '\r\n') {
        atLineStart = true;
        nodeColumn = undefined;
        continue;
      }
      if (/^[ \t]*$/.test(token) || token.startsWith('#')) continue;
    }
    if (atLineStart && flowDepth === 0) {
      while ((open[open.length - 1]?.column ?? -1) > startColumn) open.pop();
    }
    atLineStart = false;
    const indicator = isScalar ? undefined : token;
    // Where the collection that may have become too deep starts: a mapping at its key.
    let collectionOffset = startOffset;
    const nodeStarts = () => {
      if (nodeColumn !== undefined) return;
      nodeColumn = startColumn;
      nodeOffset = startOffset;
    };
    if (flowDepth === 0 && (indicator === '-' || indicator === '?' || indicator === ':')) {
      if (indicator === ':' && nodeColumn !== undefined) collectionOffset = nodeOffset;
      openCollection(indicator === ':' ? (nodeColumn ?? startColumn) : startColumn, indicator === '-' ? 'seq' : 'map');
      nodeColumn = undefined;
    } else if (indicator === '[' || indicator === '{') {
      nodeStarts();
      flowDepth++;
    } else if (indicator === ']' || indicator === '}') {
      flowDepth = Math.max(0, flowDepth - 1);
    } else {
      nodeStarts();
    }
    if (newline !== -1 && newline === token.length - 1) {
      atLineStart = true;
      nodeColumn = undefined;
    }
    if (open.length + flowDepth > MAX_NESTING) {
      return {
        offset: collectionOffset,
        message: `the document is nested more than ${MAX_NESTING} levels deep`,
        hint: 'experiments need only a few levels; check for runaway brackets or indentation',
      };
    }
  }
  return undefined;
}

/**
 * Strict JSON syntax, for .json files: YAML (which parses JSON with positions) would accept trailing
 * commas, comments and single quotes, and V8's JSON.parse does not always say where it failed.
 */
function findJsonSyntaxError(text: string): { offset: number; message: string; hint?: string } | undefined {
  let i = 0;
  const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const skipSpace = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const found = () => (i >= text.length ? 'the end of the file' : JSON.stringify(text[i]));
  const fail = (message: string, hint?: string) => ({ offset: i, message, ...(hint ? { hint } : {}) });
  const notJsonHint = () =>
    text[i] === "'"
      ? 'JSON strings use double quotes'
      : text[i] === '/' || text[i] === '#'
        ? 'JSON has no comments; write the experiment in YAML to use them'
        : /[A-Za-z_]/.test(text[i] ?? '')
          ? 'text must be in double quotes'
          : undefined;

  const string = () => {
    const start = i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return undefined;
      }
      if (c === '\\') {
        const escape = text[i + 1] ?? '';
        if (escape === 'u' ? !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)) : !'"\\/bfnrt'.includes(escape) || escape === '') {
          return fail(`invalid escape \\${escape} in a string`, 'valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX');
        }
        i += escape === 'u' ? 6 : 2;
        continue;
      }
      if (c < ' ') return fail('a control character (such as a tab or a line break) inside a string', 'write it as \\t or \\n');
      i++;
    }
    i = start;
    return fail('a string that never ends: the closing " is missing');
  };

  const value = (depth: number): { offset: number; message: string; hint?: string } | undefined => {
    skipSpace();
    if (depth > MAX_NESTING) return fail(`the document is nested more than ${MAX_NESTING} levels deep`);
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      skipSpace();
      if (text[i] === close) {
        i++;
        return undefined;
      }
      for (;;) {
        skipSpace();
        if (c === '{') {
          if (text[i] !== '"') {
            return text[i] === '}'
              ? fail('expected a property name after ",", found "}"', 'JSON allows no trailing comma')
              : fail(`expected a double-quoted property name, found ${found()}`, notJsonHint());
          }
          const bad = string();
          if (bad) return bad;
          skipSpace();
          if (text[i] !== ':') return fail(`expected ":" after the property name, found ${found()}`);
          i++;
        } else if (text[i] === ']') {
          return fail('expected a value after ",", found "]"', 'JSON allows no trailing comma');
        }
        const bad = value(depth + 1);
        if (bad) return bad;
        skipSpace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === close) {
          i++;
          return undefined;
        }
        return fail(`expected "," or "${close}" after ${c === '{' ? 'a property value' : 'a list item'}, found ${found()}`, i < text.length ? 'a comma may be missing' : undefined);
      }
    }
    if (c === '"') return string();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return undefined;
      }
    }
    NUMBER_RE.lastIndex = i;
    const number = NUMBER_RE.exec(text);
    if (number) {
      i += number[0].length;
      return undefined;
    }
    return fail(`expected a value, found ${found()}`, notJsonHint());
  };

  const bad = value(0);
  if (bad) return bad;
  skipSpace();
  return i < text.length ? fail(`unexpected ${found()} after the end of the JSON document`) : undefined;
}

// ---- locating problems --------------------------------------------------------------------------

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a text';
  return `a ${typeof value}`;
}

function sortProblems(problems: InputProblem[]): InputProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

function toProblems(issues: DocumentIssue[], parsed: ParsedSource): InputProblem[] {
  return sortProblems(
    issues.map((issue) => {
      const { line, col } = parsed.lineCounter.linePos(locate(issue, parsed));
      return {
        file: parsed.file,
        line,
        column: col,
        path: formatPath(issue.path),
        message: shortenQuotes(issue.message),
        ...(issue.hint ? { hint: shortenQuotes(issue.hint) } : {}),
      };
    }),
  );
}

/** Messages quote the values they refuse; a 200 KB value is cut, so the message stays readable. */
function shortenQuotes(text: string): string {
  const cut = (inner: string) => `${inner.slice(0, 37)}…${inner.slice(-20)} (${inner.length.toLocaleString('en')} characters)`;
  return text.replace(/"([^"\n]{80,})"/g, (_whole, inner: string) => `"${cut(inner)}"`).replace(/[^\s"]{120,}/g, cut);
}

/** The offset an issue points at: its node, its key, or the deepest part of its path that exists. */
function locate(issue: DocumentIssue, parsed: ParsedSource): number {
  const document = parsed.document;
  let node: unknown = document?.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  let reached = 0;
  for (const [index, segment] of issue.path.entries()) {
    if (isAlias(node) && document) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (!pair) break;
      const keyOffset = (pair.key as Node | null)?.range?.[0] ?? offset;
      if (index === issue.path.length - 1 && issue.at === 'key') {
        offset = keyOffset;
        reached = issue.path.length;
        break;
      }
      node = pair.value;
      offset = (pair.value as Node | null)?.range?.[0] ?? keyOffset;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      node = node.items[segment];
      offset = (node as Node | null)?.range?.[0] ?? offset;
    } else {
      break;
    }
    reached = index + 1;
  }
  if (issue.needle && reached === issue.path.length && isScalar(node) && node.range) {
    const at = parsed.text.slice(node.range[0], node.range[1]).indexOf(issue.needle);
    if (at !== -1) offset = node.range[0] + at;
  }
  return offset;
}
