// Validation that turns schema failures into readable problems, and the second pass that checks an
// experiment against the drivers it names: every activity's reference and arguments, targets, step
// ids and ${steps.…} references. Problems carry a document path; the loader turns paths into line:col.
import type { z } from 'zod';
import { FaultlineError } from '../core/errors.js';
import { closestName } from '../core/closest-name.js';
import { formatDuration } from '../core/duration.js';
import type { DriverRegistry } from '../drivers/registry.js';
import { abortSchema, actionSchema, activitySchema, probeSchema, stepSchema, type Experiment } from './schema.js';
import { findStepReferences, hasStepReference, isPlainObject } from './substitute.js';

export type PathSegment = string | number;

/** A problem found in a document, located by path; the loader adds file, line and column. */
export interface DocumentIssue {
  path: PathSegment[];
  message: string;
  hint?: string | undefined;
  /** Point at the key itself rather than its value (unknown keys, unknown target drivers). */
  at?: 'key';
  /** Text inside the string value to point at, like the `${vars.port}` that failed. */
  needle?: string;
}

/** `method[2].with.jitter`; keys that are not plain words are quoted: `targets["my.host"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function valueAtPath(value: unknown, path: readonly PathSegment[]): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isPlainObject(current) && Object.hasOwn(current, String(segment))) current = current[String(segment)];
    else return undefined;
  }
  return current;
}

// ---- schema issues -------------------------------------------------------------------------------

type ZodIssue = z.core.$ZodIssue;

/** The parts of zod's schema definitions needed to find which keys an object accepts. */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  element?: z.ZodType;
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): SchemaDef => schema._zod.def as unknown as SchemaDef;
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let guard = 0; guard < 32; guard++) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = defOf(def.in).type === 'transform' && def.out ? def.out : def.in;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else break;
  }
  return current;
}

/** Among a union's options, the object one this value was meant to be: the one whose required keys it has. */
function unionOptionFor(schema: z.ZodType, value: unknown): z.ZodType | undefined {
  const options = (defOf(schema).options ?? []).map(unwrap);
  const objects = options.filter((option) => defOf(option).type === 'object');
  const fitting = objects.filter((option) =>
    Object.entries(defOf(option).shape ?? {}).every(
      ([key, field]) => field._zod.optin === 'optional' || (isPlainObject(value) && Object.hasOwn(value, key)),
    ),
  );
  return fitting[0] ?? objects[0];
}

/** The schema that checks the value at `path`; a union at the end is kept when `keepUnion`. */
function schemaAtPath(schema: z.ZodType, path: readonly PathSegment[], value: unknown, keepUnion = false): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  let currentValue = value;
  for (const segment of [...path, undefined]) {
    if (!current) return undefined;
    current = unwrap(current);
    if (segment === undefined && keepUnion) return current;
    if (defOf(current).type === 'union') current = unionOptionFor(current, currentValue);
    if (!current || segment === undefined) return current;
    const def = defOf(current);
    // Own properties only: a key named "constructor" must not find the prototype's.
    if (def.type === 'object') current = def.shape && Object.hasOwn(def.shape, String(segment)) ? def.shape[String(segment)] : undefined;
    else if (def.type === 'array') current = def.element;
    else if (def.type === 'record') current = def.valueType;
    else return undefined;
    currentValue = valueAtPath(currentValue, [segment]);
  }
  return current;
}

const EXPECTED_NAMES: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  array: 'a list',
  tuple: 'a list',
  null: 'null',
  undefined: 'nothing',
};

function expectedName(expected: string): string {
  return EXPECTED_NAMES[expected] ?? expected;
}

/** What a value is, for "found …" in messages; long texts are cut so a message stays one line. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function knownKeysHint(key: string, known: string[]): string | undefined {
  if (key === '<<') return 'YAML merge keys (<<) are not supported: repeat the keys, or share values through vars';
  if (known.length === 0) return undefined;
  const close = closestName(key, known);
  return close ? `did you mean ${close}? Known keys: ${known.join(', ')}` : `known keys: ${known.join(', ')}`;
}

/** Validates `value` with a zod schema and explains every failure; empty when valid. */
export function describeSchemaIssues(schema: z.ZodType, value: unknown, basePath: PathSegment[]): DocumentIssue[] {
  const result = schema.safeParse(value);
  return result.success ? [] : explainIssues(result.error.issues, schema, value, basePath);
}

/** Explains zod's issues for `value` (which `schema` rejected), located under `base`. */
export function explainIssues(issues: readonly ZodIssue[], schema: z.ZodType, root: unknown, base: PathSegment[]): DocumentIssue[] {
  const out: DocumentIssue[] = [];
  for (const issue of issues) {
    const relative = issue.path as PathSegment[];
    const path = [...base, ...relative];
    const found = valueAtPath(root, relative);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const objectSchema = schemaAtPath(schema, relative, root);
        const known = objectSchema && defOf(objectSchema).type === 'object' ? Object.keys(defOf(objectSchema).shape ?? {}) : [];
        for (const key of issue.keys) {
          out.push({ path: [...path, key], at: 'key', message: `unknown key "${key}"`, hint: knownKeysHint(key, known) });
        }
        break;
      }
      case 'invalid_union': {
        const unionSchema = schemaAtPath(schema, relative, root, true);
        const options = unionSchema ? defOf(unionSchema).options : undefined;
        const branch = bestUnionBranch(issue.errors);
        const option = branch === undefined ? undefined : options?.[branch];
        if (branch !== undefined && option) {
          out.push(...explainIssues(issue.errors[branch]!, option, found, path));
        } else {
          const expected = [...new Set(rootExpectations(issue.errors))];
          const only = expected.length === 1 ? Object.entries(EXPECTED_NAMES).find(([, name]) => name === expected[0])?.[0] : undefined;
          out.push({
            path,
            message: `expected ${joinAlternatives(expected)}, found ${describeValue(found)}`,
            hint: fieldHint(schema, relative, root, only, found) ?? `write ${joinAlternatives(expected)} here`,
          });
        }
        break;
      }
      case 'invalid_type': {
        const last = relative[relative.length - 1];
        const parent = valueAtPath(root, relative.slice(0, -1));
        if (found === undefined && typeof last === 'string' && isPlainObject(parent)) {
          const about = fieldHint(schema, relative, root, undefined, found);
          out.push({ path, message: `missing ${last}: expected ${expectedName(issue.expected)}`, hint: about ? `add ${last}: ${about}` : `add ${last}:` });
        } else {
          out.push({ path, message: `expected ${expectedName(issue.expected)}, found ${describeValue(found)}`, hint: fieldHint(schema, relative, root, issue.expected, found) });
        }
        break;
      }
      case 'invalid_value': {
        const allowed = issue.values.map((v) => JSON.stringify(v));
        const close = typeof found === 'string' ? closestName(found, issue.values.map(String)) : undefined;
        out.push({
          path,
          message: `expected ${allowed.length === 1 ? allowed[0] : `one of ${allowed.join(', ')}`}, found ${describeValue(found)}`,
          hint: close ? `did you mean ${JSON.stringify(close)}?` : (fieldHint(schema, relative, root, undefined, found) ?? 'write one of them exactly as shown: case matters'),
        });
        break;
      }
      case 'too_small':
      case 'too_big':
        out.push({ path, message: sizeMessage(issue, found), hint: fieldHint(schema, relative, root, undefined, found) ?? sizeHint(issue) });
        break;
      case 'invalid_format':
        out.push({ path, message: `${issue.message}, found ${describeValue(found)}`, hint: fieldHint(schema, relative, root, undefined, found) });
        break;
      default: {
        // A refinement may say how to fix what it refuses: addIssue({…, params: {hint}}).
        const hint = issue.code === 'custom' && typeof issue.params?.hint === 'string' ? issue.params.hint : undefined;
        out.push({ path, message: issue.message, hint: hint ?? fieldHint(schema, relative, root, undefined, found) });
      }
    }
  }
  // Every problem says where to look next, even when nothing more specific is known.
  return out.map((issue) => (issue.hint ? issue : { ...issue, hint: '`faultline schema` prints what each key accepts' }));
}

/** What a field is for, from its schema's description (`.meta({description})`), if it has one. */
function fieldDescription(schema: z.ZodType, path: readonly PathSegment[], root: unknown): string | undefined {
  let field: z.ZodType | undefined = schema;
  if (path.length > 0) {
    // The field as declared, before unwrapping: `.optional().meta(…)` puts the description on the wrapper.
    const parent = schemaAtPath(schema, path.slice(0, -1), root);
    const def = parent ? defOf(parent) : undefined;
    const segment = String(path[path.length - 1]);
    if (def?.type === 'object') field = def.shape && Object.hasOwn(def.shape, segment) ? def.shape[segment] : undefined;
    else if (def?.type === 'array') field = def.element;
    else if (def?.type === 'record') field = def.valueType;
    else field = undefined;
  }
  for (let guard = 0; field && guard < 8; guard++) {
    if (field.description) return field.description;
    const def = defOf(field);
    field = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
  }
  return undefined;
}

/** A hint for a value of the wrong shape: how to write what was expected, and what the field is for. */
function fieldHint(schema: z.ZodType, path: readonly PathSegment[], root: unknown, expected: string | undefined, found: unknown): string | undefined {
  const about = fieldDescription(schema, path, root);
  return [howToWrite(expected, found), about].filter((part) => part !== undefined).join('; ') || undefined;
}

function howToWrite(expected: string | undefined, found: unknown): string | undefined {
  if (expected === 'array') return 'write a list: one item per line, each starting with "- ", or [a, b]';
  if (expected === 'object' || expected === 'record') return 'write a mapping: key: value pairs, indented under this key, or { key: value }';
  if (found === null) return 'nothing after a key (or a lone "-") is null: write the value';
  if (typeof found === 'number' && !Number.isFinite(found)) return 'write a finite number: .nan and .inf are not values faultline can use';
  if (expected === 'string' && found !== undefined && typeof found !== 'object') return `put it in quotes to make it text: "${String(found)}"`;
  if (typeof found === 'object') return 'write a single value on the same line as the key, not a list or a mapping; quote text that holds ": " or starts with [ or {';
  return undefined;
}

function sizeHint(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  if (issue.origin === 'array') return issue.code === 'too_small' ? 'add items to the list' : 'remove items from the list';
  if (issue.origin === 'string') return issue.code === 'too_small' ? 'write some text here, or leave the key out if it is optional' : 'shorten the text';
  return 'use a value within the bound';
}

/** The branch the user most likely meant: not a plain type mismatch, and with the fewest problems. */
function bestUnionBranch(branches: readonly (readonly ZodIssue[])[]): number | undefined {
  let best: number | undefined;
  for (const [index, branch] of branches.entries()) {
    const mismatch = branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_union'));
    if (mismatch) continue;
    if (best === undefined || branch.length < branches[best]!.length) best = index;
  }
  return best;
}

function rootExpectations(branches: readonly (readonly ZodIssue[])[]): string[] {
  const names: string[] = [];
  for (const branch of branches) {
    for (const issue of branch) {
      if (issue.path.length !== 0) continue;
      if (issue.code === 'invalid_type') names.push(expectedName(issue.expected));
      else if (issue.code === 'invalid_union') names.push(...rootExpectations(issue.errors));
    }
  }
  return names;
}

function joinAlternatives(names: string[]): string {
  if (names.length <= 1) return names[0] ?? 'something else';
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function sizeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, found: unknown): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  const word = small ? 'at least' : 'at most';
  if (issue.origin === 'array') {
    return `expected ${word} ${bound} item${bound === 1 ? '' : 's'}, found ${Array.isArray(found) ? found.length : describeValue(found)}`;
  }
  if (issue.origin === 'string') {
    return small && bound === 1 ? 'expected non-empty text' : `expected text of ${word} ${bound} characters, found ${describeValue(found)}`;
  }
  const sign = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
  return `expected a number ${sign} ${bound}, found ${describeValue(found)}`;
}

// ---- second pass: drivers, targets, step ids and references -------------------------------------

type ActivityKind = 'fault' | 'action' | 'probe';

interface Activity {
  path: PathSegment[];
  kind: ActivityKind;
  ref: string;
  with: Record<string, unknown> | undefined;
  id: string | undefined;
  /** Start offset for method steps, to catch a reference to a step that starts later. */
  at: number | undefined;
  spec: Record<string, unknown>;
}

/** The activity lists of an experiment; an item that is not a well-formed activity is left out (undefined). */
interface ActivitySections {
  setup?: readonly unknown[] | undefined;
  hypothesisProbes?: readonly unknown[] | undefined;
  abort?: readonly unknown[] | undefined;
  method?: readonly unknown[] | undefined;
  rollbacks?: readonly unknown[] | undefined;
  teardown?: readonly unknown[] | undefined;
}

/** Activities grouped in the order they run; ids of a group are known to every later group. */
function activityGroups(sections: ActivitySections): Activity[][] {
  const from = (items: readonly unknown[] | undefined, kindOf: (item: Record<string, unknown>) => ActivityKind, base: PathSegment[]) =>
    (items ?? []).flatMap((item, index): Activity[] => {
      // Items left out stay as holes, so every other item keeps its index (and its line in messages).
      if (!isPlainObject(item)) return [];
      const spec = item;
      const kind = kindOf(spec);
      if (typeof spec[kind] !== 'string') return [];
      return [
        {
          path: [...base, index],
          kind,
          ref: spec[kind],
          with: spec.with as Record<string, unknown> | undefined,
          id: typeof spec.id === 'string' ? spec.id : undefined,
          at: typeof spec.at === 'number' ? spec.at : undefined,
          spec,
        },
      ];
    });
  const actionOrProbe = (item: Record<string, unknown>): ActivityKind => ('action' in item ? 'action' : 'probe');
  const stepKind = (item: Record<string, unknown>): ActivityKind =>
    item.fault !== undefined ? 'fault' : item.action !== undefined ? 'action' : 'probe';
  return [
    from(sections.setup, actionOrProbe, ['setup']),
    from(sections.hypothesisProbes, () => 'probe', ['hypothesis', 'probes']),
    // Abort conditions start watching when the method starts, before any step of it has run.
    from(sections.abort, () => 'probe', ['abort']),
    from(sections.method, stepKind, ['method']),
    from(sections.rollbacks, () => 'action', ['rollbacks']),
    from(sections.teardown, actionOrProbe, ['teardown']),
  ];
}

/**
 * The drivers a document names, read from its raw shape (before or after the schema): every activity's
 * `driver.entry` (or bare `driver`), every `targets` key, and Prometheus when a verdict reads a metric.
 * The registry loads these before the document is checked or run.
 */
export function driverNamesIn(document: Record<string, unknown>): Set<string> {
  const list = (value: unknown) => (Array.isArray(value) ? value : undefined);
  const hypothesis = isPlainObject(document.hypothesis) ? document.hypothesis : {};
  const groups = activityGroups({
    setup: list(document.setup),
    hypothesisProbes: list(hypothesis.probes),
    abort: list(document.abort),
    method: list(document.method),
    rollbacks: list(document.rollbacks),
    teardown: list(document.teardown),
  });
  const names = new Set(groups.flat().map((activity) => activity.ref.split('.')[0]!));
  if (isPlainObject(document.targets)) for (const name of Object.keys(document.targets)) names.add(name);
  const verdicts = isPlainObject(document.verdicts) ? document.verdicts : {};
  if (Object.values(verdicts).some((verdict) => isPlainObject(verdict) && verdict.metric !== undefined)) names.add('prometheus');
  return names;
}

/** Checks a schema-valid experiment against the registry. Returns every problem found. */
export function validateAgainstDrivers(experiment: Experiment, registry: DriverRegistry): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  const groups = activityGroups({
    setup: experiment.setup,
    hypothesisProbes: experiment.hypothesis?.probes,
    abort: experiment.abort,
    method: experiment.method,
    rollbacks: experiment.rollbacks,
    teardown: experiment.teardown,
  });
  for (const activity of groups.flat()) issues.push(...checkActivity(activity, registry));
  issues.push(...checkTargets(experiment.targets, registry));
  issues.push(...checkStepIds(groups));
  issues.push(...checkVerdicts(experiment));
  issues.push(...checkAfter(experiment));
  return issues;
}

/**
 * For a document the schema rejected: the driver checks of each activity that is well-formed by
 * itself, and of the targets, so a wrong argument is reported together with the schema's problems.
 * The checks that read the experiment as a whole (step ids, references, verdicts, after) wait for a
 * document of the right shape: run on a wrong one they would report nonsense, or crash.
 */
export function validateWellFormedParts(document: Record<string, unknown>, registry: DriverRegistry): DocumentIssue[] {
  const wellFormed = (items: unknown, schema: z.ZodType): unknown[] | undefined =>
    Array.isArray(items) ? items.map((item) => { const parsed = schema.safeParse(item); return parsed.success ? parsed.data : undefined; }) : undefined;
  const hypothesis = document.hypothesis;
  const groups = activityGroups({
    setup: wellFormed(document.setup, activitySchema),
    hypothesisProbes: wellFormed(isPlainObject(hypothesis) ? hypothesis.probes : undefined, probeSchema),
    abort: wellFormed(document.abort, abortSchema),
    method: wellFormed(document.method, stepSchema),
    rollbacks: wellFormed(document.rollbacks, actionSchema),
    teardown: wellFormed(document.teardown, activitySchema),
  });
  return [...groups.flat().flatMap((activity) => checkActivity(activity, registry)), ...checkTargets(document.targets, registry)];
}

/** `after` names a step declared earlier in the method, so steps can never wait on each other in a circle. */
export function checkAfter(experiment: Experiment): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  const earlier: string[] = [];
  experiment.method.forEach((step, index) => {
    if (step.after !== undefined && !earlier.includes(step.after)) {
      const later = experiment.method.some((other) => other.id === step.after);
      const close = closestName(step.after, earlier);
      issues.push({
        path: ['method', index, 'after'],
        message: later ? `step "${step.after}" comes later in the method; after names an earlier step` : `no earlier method step has the id "${step.after}"`,
        hint: close ? `did you mean ${close}?` : 'give the step to wait for an id:, and place it before this one',
      });
    }
    if (step.id !== undefined) earlier.push(step.id);
  });
  return issues;
}

/** Verdicts name fault and probe steps of the method by id, and the traffic verdicts need a workload. */
export function checkVerdicts(experiment: Experiment): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  const verdicts = experiment.verdicts ?? {};
  const steps = experiment.method.filter((step) => step.id !== undefined);
  const faultIds = steps.filter((step) => step.fault !== undefined).map((step) => step.id!);
  const probeIds = steps.filter((step) => step.probe !== undefined).map((step) => step.id!);
  const unknownId = (kind: string, id: string, known: string[]) => {
    const close = closestName(id, known);
    return {
      message: `no ${kind} step of the method has the id ${describeValue(id)}`,
      hint: close ? `did you mean ${close}?` : known.length ? `${kind} steps with ids: ${known.join(', ')}` : `give the ${kind} step an id: and name it here`,
    };
  };
  for (const name of ['timeouts', 'retries', 'failover', 'self-healing'] as const) {
    const verdict = verdicts[name];
    if (!verdict) continue;
    verdict.faults?.forEach((id, index) => {
      if (!faultIds.includes(id)) issues.push({ path: ['verdicts', name, 'faults', index], ...unknownId('fault', id, faultIds) });
    });
    // A retries verdict read from Prometheus alone needs no workload of faultline's own.
    const fromMetricOnly = name === 'retries' && verdicts.retries?.metric !== undefined && verdicts.retries.errorRate === undefined;
    if (name !== 'self-healing' && !experiment.workload && !fromMetricOnly) {
      issues.push({
        path: ['verdicts', name],
        at: 'key',
        message: `the ${name} verdict is judged on traffic, and the experiment declares no workload`,
        hint: 'add a workload: {url, rate} section that drives requests at the service',
      });
    }
  }
  const healing = verdicts['self-healing'];
  if (healing?.probe !== undefined && !probeIds.includes(healing.probe)) issues.push({ path: ['verdicts', 'self-healing', 'probe'], ...unknownId('probe', healing.probe, probeIds) });
  const timeouts = verdicts.timeouts;
  if (timeouts && experiment.workload) {
    for (const [key, bound] of Object.entries(timeouts.latency)) {
      // A hang cut short by the workload's own timeout would look like a fast answer.
      if (bound !== undefined && bound >= experiment.workload.timeout) {
        issues.push({
          path: ['verdicts', 'timeouts', 'latency', key],
          message: `the ${key} bound (${formatDuration(bound)}) must be below the workload's request timeout (${formatDuration(experiment.workload.timeout)})`,
          hint: 'raise workload.timeout above the bound, so a hanging request is seen for what it is',
        });
      }
    }
  }
  (experiment.abort ?? []).forEach((condition, index) => {
    if (condition.workload && !experiment.workload) {
      issues.push({ path: ['abort', index, 'workload'], at: 'key', message: 'this abort condition reads the workload, and the experiment declares none', hint: 'add a workload section, or use a probe' });
    }
  });
  return issues;
}

function checkActivity(activity: Activity, registry: DriverRegistry): DocumentIssue[] {
  const refPath = [...activity.path, activity.kind];
  let entry: { args: z.ZodType; reversible?: boolean };
  try {
    entry = activity.kind === 'probe' ? registry.resolveProbe(activity.ref).entry : registry.resolveAction(activity.ref).entry;
  } catch (error) {
    if (!(error instanceof FaultlineError)) throw error;
    return [{ path: refPath, message: error.message, hint: wrongKindHint(activity, registry) ?? error.hint }];
  }
  const issues: DocumentIssue[] = [];
  if (activity.kind === 'fault' && entry.reversible !== true && activity.spec['duration'] !== undefined) {
    // An irreversible fault (a kill) is welcome on the timeline and in the ledger, but nothing ends it.
    issues.push({
      path: [...activity.path, 'duration'],
      message: `${activity.ref} has no undo, so it cannot last for a duration`,
      hint: 'remove duration; what happens after it (the system healing itself) is judged by probes',
    });
  }
  if (activity.kind === 'action' && entry.reversible === true) {
    // Run as a plain action its undo would never run: the fault would be left behind (promise 1).
    issues.push({
      path: refPath,
      message: `${activity.ref} would be left applied: as an action nothing undoes it`,
      hint: `use fault: ${activity.ref} so that it is written to the ledger and undone`,
    });
  }
  const args = activity.with ?? {};
  const catalog = `\`faultline drivers ${activity.ref.split('.')[0]}\` lists the arguments of ${activity.ref}`;
  for (const issue of describeSchemaIssues(entry.args, args, [...activity.path, 'with'])) {
    // A ${steps.…} value is known only at run time; the engine validates the arguments again then.
    const value = valueAtPath(args, issue.path.slice(activity.path.length + 1));
    if (typeof value === 'string' && hasStepReference(value)) continue;
    issues.push({ ...issue, hint: issue.hint ?? catalog });
  }
  return issues;
}

function wrongKindHint(activity: Activity, registry: DriverRegistry): string | undefined {
  const other = activity.kind === 'probe' ? 'action' : 'probe';
  try {
    if (other === 'probe') registry.resolveProbe(activity.ref);
    else registry.resolveAction(activity.ref);
  } catch {
    return undefined;
  }
  return `${activity.ref} is ${other === 'probe' ? 'a probe' : 'an action'}: write ${other}: ${activity.ref}`;
}

function checkTargets(targets: unknown, registry: DriverRegistry): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  const known = registry.driverNames();
  for (const [name, settings] of Object.entries(isPlainObject(targets) ? targets : {})) {
    if (!registry.has(name)) {
      const close = closestName(name, known);
      issues.push({
        path: ['targets', name],
        at: 'key',
        message: `unknown driver "${name}" in targets`,
        hint: close ? `did you mean ${close}? Known drivers: ${known.join(', ')}` : `known drivers: ${known.join(', ') || 'none'}`,
      });
      continue;
    }
    const schema = registry.get(name).target;
    const catalog = `targets.${name} holds the ${name} driver's connection settings and what it may touch`;
    if (schema) issues.push(...describeSchemaIssues(schema, settings, ['targets', name]).map((issue) => ({ ...issue, hint: issue.hint ?? catalog })));
  }
  return issues;
}

function checkStepIds(groups: Activity[][]): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  const all = new Map<string, Activity>();
  for (const activity of groups.flat()) {
    if (activity.id === undefined) continue;
    const first = all.get(activity.id);
    if (first) {
      issues.push({ path: [...activity.path, 'id'], message: `step id "${activity.id}" is already used by ${formatPath(first.path)}` });
    } else {
      all.set(activity.id, activity);
    }
  }

  const before = new Map<string, Activity>();
  for (const group of groups) {
    const inGroup = new Map<string, Activity>();
    for (const activity of group) {
      for (const { path, text } of stringsIn(activity.spec, activity.path)) {
        for (const ref of findStepReferences(text)) {
          if (ref.path[0] !== 'output' || ref.path.some((segment) => !/^[A-Za-z0-9_-]+$/.test(segment))) {
            issues.push({ path, needle: ref.expression, message: `${ref.expression} is not a step reference the engine can resolve`, hint: `write \${steps.${ref.id}.output.<field>}; \`faultline drivers\` lists each entry's outputs` });
            continue;
          }
          const target = before.get(ref.id) ?? inGroup.get(ref.id);
          const problem = stepReferenceProblem(ref.id, target, all, activity);
          if (problem) issues.push({ path, needle: ref.expression, message: `${ref.expression} ${problem.message}`, hint: problem.hint });
        }
      }
      if (activity.id !== undefined && !inGroup.has(activity.id)) inGroup.set(activity.id, activity);
    }
    for (const [id, activity] of inGroup) if (!before.has(id)) before.set(id, activity);
  }
  return issues;
}

function stepReferenceProblem(
  id: string,
  earlier: Activity | undefined,
  all: ReadonlyMap<string, Activity>,
  from: Activity,
): { message: string; hint?: string } | undefined {
  const anywhere = all.get(id);
  if (!anywhere) {
    const close = closestName(id, all.keys());
    return {
      message: `refers to no step: no step has id "${id}"`,
      hint: close ? `did you mean steps.${close}?` : 'give the step an id: field and refer to it as ${steps.<id>.output.<field>}',
    };
  }
  if (!earlier || earlier === from) {
    return {
      message: `refers to step "${id}" (${formatPath(anywhere.path)}), which has not run yet at this point`,
      hint: 'a step can use the outputs of steps that run before it',
    };
  }
  // `after: <id>` starts this step once that one has finished, whatever the offsets say.
  if (from.path[0] === 'method' && earlier.path[0] === 'method' && from.spec['after'] !== id && (earlier.at ?? 0) > (from.at ?? 0)) {
    return {
      message: `refers to step "${id}", which starts at ${formatDuration(earlier.at ?? 0)}, after this step (${formatDuration(from.at ?? 0)})`,
      hint: `add after: ${id} to start this step once that one has finished, or start this step later`,
    };
  }
  return undefined;
}

function* stringsIn(value: unknown, path: PathSegment[]): Generator<{ path: PathSegment[]; text: string }> {
  if (typeof value === 'string') {
    yield { path, text: value };
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* stringsIn(item, [...path, index]);
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) yield* stringsIn(item, [...path, key]);
  }
}

/** ${steps.…} anywhere outside an activity can never be resolved; say so rather than leave it as text. */
export function stepReferencesOutsideActivities(experiment: Record<string, unknown>): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  const activitySections = new Set(['setup', 'method', 'rollbacks', 'abort', 'teardown']);
  for (const [key, value] of Object.entries(experiment)) {
    if (activitySections.has(key)) continue;
    const scoped = key === 'hypothesis' && isPlainObject(value) ? { ...value, probes: undefined } : value;
    for (const { path, text } of stringsIn(scoped, [key])) {
      for (const ref of findStepReferences(text)) {
        issues.push({
          path,
          needle: ref.expression,
          message: `${ref.expression} can only be used inside setup, hypothesis probes, method, rollbacks, abort and teardown`,
          hint: 'a step\'s output exists once that step has run; use ${vars.<name>} for a value known before the run',
        });
      }
    }
  }
  return issues;
}
