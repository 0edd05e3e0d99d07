// Generators of hostile experiment files for the loader's fuzz test: structural mutations of the
// example experiments (keys deleted, renamed, misspelt, added; values of the wrong type, empty, null,
// huge or deeply nested; subtrees moved between experiments), hostile substitutions, durations and
// shares, damage to the text (truncation, tabs, YAML syntax, self-referencing aliases) and to the
// bytes (flips, invalid UTF-8), and JSON variants. An input is data (a base and lists of mutations),
// so a failure can be printed, replayed from its seed and path, and read.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';

export interface Base {
  name: string;
  text: string;
  /** The document as data; undefined for bases that only exist as text (alias tricks). */
  value: unknown;
}

/** A secret file the kitchen-sink base reads, written beside the inputs by the test. */
export const SECRET_FILE = 'token.txt';
export const ENV = { FUZZ_TOKEN: 'fuzz-secret-value', FUZZ_EMPTY: '', FUZZ_PORT: '8080' } as const;

const KITCHEN_SINK = `version: 1
title: every section at once
description: a base for the fuzzer that uses each part of the format
tags: [fuzz]
vars:
  host: 127.0.0.1
  port: \${env.FUZZ_PORT:-8080}
  nested: { list: [1, 2, 3], deep: { deeper: x } }
secrets:
  token: { env: FUZZ_TOKEN }
  file: { file: ${SECRET_FILE} }
targets:
  process: { allow: { ports: [8081] } }
  toxiproxy: { url: "http://127.0.0.1:8474" }
settings: { timeout: 1m, rollbackStrategy: always, ledgerDir: .faultline, seed: 7 }
setup:
  - action: command
    with: { run: [echo, "\${secrets.token}"] }
    timeout: 5s
hypothesis:
  title: up
  continuous: { every: 1s }
  probes:
    - probe: http
      id: up
      with: { url: "http://\${vars.host}:\${vars.port}/" }
      expect: { status: 200, latency: { max: 500ms }, body: { path: "$.ok", equals: true } }
      until: { within: 5s, every: 250ms }
workload:
  url: "http://\${vars.host}:\${vars.port}/"
  rate: 10
  timeout: 2s
  success: [200, 3xx]
method:
  - id: slow
    fault: toxiproxy.latency
    with: { proxy: p, latency: 1s }
    at: 100ms
    duration: 1s
  - id: stop
    fault: process.stop
    with: { port: 8081 }
    after: slow
    repeat: { every: 2s, times: 2 }
    duration: 1s
  - id: kill
    fault: process.kill
    with: { port: 8081 }
    at: 5s
  - id: back
    probe: tcp
    with: { host: "\${vars.host}", port: 8081 }
    after: kill
    until: { within: 3s }
  - action: command
    with: { run: [echo, "\${steps.back.output.connected}"] }
    at: 9s
verdicts:
  timeouts: { faults: [slow], latency: { p99: 1s, max: 1500ms } }
  retries: { errorRate: 2% }
  failover: { faults: [stop], successRate: 0.5, longestGap: 1s }
  self-healing: { faults: [kill], probe: back, within: 3s }
abort:
  - probe: tcp
    with: { host: "\${vars.host}", port: 8080 }
    every: 1s
    failures: 2
  - workload: { errorRate: 50%, over: 5s, minRequests: 10 }
rollbacks:
  - action: command
    with: { run: [echo, rollback] }
teardown:
  - probe: http
    with: { url: "http://\${vars.host}:\${vars.port}/" }
`;

/** Text-only bases: what structural mutation of data cannot express. */
const TEXT_BASES: Record<string, string> = {
  'self-alias-vars': 'version: 1\ntitle: t\nvars: &v { self: *v }\nmethod:\n  - probe: http\n    with: { url: "http://127.0.0.1/" }\n',
  'self-alias-method': 'version: 1\ntitle: t\nmethod: &m\n  - probe: http\n    with: *m\n',
  'self-alias-verdicts': 'version: 1\ntitle: t\nmethod:\n  - probe: http\nverdicts: &v { timeouts: *v }\n',
  'alias-fanout': 'version: 1\ntitle: t\nvars:\n  a: &a [x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c]\nmethod:\n  - probe: http\n',
  'merge-key': 'version: 1\ntitle: t\nbase: &b { probe: http }\nmethod:\n  - <<: *b\n    id: x\n',
  'yaml-1.1': '%YAML 1.1\n---\nversion: 1\ntitle: !!binary aGVsbG8=\ntags: !!set { a, b }\nmethod: !!omap [ probe: http ]\nvars: { when: 2001-12-14 }\n',
  'proto-top': 'version: 1\ntitle: t\n__proto__: { polluted: true }\nmethod:\n  - probe: http\n',
  'proto-json': '{"version": 1, "title": "t", "__proto__": {"x": 1}, "method": [{"probe": "http"}]}',
  'misspelt-top': 'version: 1\ntitel: t\nmethd:\n  - probe: http\n',
  'empty-method': 'version: 1\ntitle: t\nmethod:\n',
  'empty-item': 'version: 1\ntitle: t\nmethod:\n  -\n',
  // Small files that substitution would expand to 18 MB of text, or to 100,000 values.
  'expansion-bomb-text': `version: 1\ntitle: t\nvars:\n  a: ${'x'.repeat(20_000)}\nmethod:\n  - probe: http\n    with:\n      url: "http://127.0.0.1/"\n      headers:\n${Array.from({ length: 30 }, (_, i) => `        h${i}: "${'${vars.a}'.repeat(30)}"\n`).join('')}`,
  'expansion-bomb-values': `version: 1\ntitle: t\nvars:\n  a: [${Array(1000).fill('1').join(', ')}]\ntags:\n${'  - ${vars.a}\n'.repeat(120)}method:\n  - probe: http\n`,
};

/** The example experiments, every fixture of a known mistake, a kitchen sink and the text tricks. */
export function loadBases(root: string): Base[] {
  const bases: Base[] = [];
  const add = (name: string, text: string) => {
    let value: unknown;
    try {
      value = parse(text, { maxAliasCount: 100 });
      // A self-referencing alias parses into a cycle: such bases are mutated as text only.
      JSON.stringify(value);
    } catch {
      value = undefined;
    }
    bases.push({ name, text, value });
  };
  for (const dir of ['experiments', 'fixtures/invalid']) {
    for (const file of readdirSync(join(root, dir)).sort()) {
      if (/\.(ya?ml|json)$/.test(file)) add(`${dir}/${file}`, readFileSync(join(root, dir, file), 'utf8'));
    }
  }
  add('kitchen-sink', KITCHEN_SINK);
  for (const [name, text] of Object.entries(TEXT_BASES)) add(`text:${name}`, text);
  return bases;
}

// ---- hostile values -----------------------------------------------------------------------------

const HUGE = 200_000;
const LONG = 20_000;

const DURATIONS = [
  '1e400s', `${'9'.repeat(400)}ms`, '-1s', '1m'.repeat(2000), '0.0000001ms', ' 1s ', '1d', '1.s', '.5s', '1..5s', '∞s',
  '99999999999999999999h', `1${'0'.repeat(30)}ms`, 'NaNms', '1e3ms', '0x10s', '1_000ms', '1h'.repeat(3000), '1s1', 's', '',
  `${'1'.repeat(LONG)}s`, '25d', '1000000h', 3e12, 1e300, -1, -0.5, 0, 0.0001, 2 ** 31, 2 ** 53 + 2,
];
const RATIOS = ['1000%', '-1%', '100.0001%', '1e3%', '%', '50 %', '0.5', ' 5%', '5%%', '∞%', `${'9'.repeat(400)}%`, '0%', '100%', 1.5, -0.1, 2, 1e-300];
const SUBSTITUTIONS = [
  '${vars.constructor}', '${vars.__proto__}', '${vars.__proto__.polluted}', '${vars.toString}', '${vars.hasOwnProperty}',
  '${secrets.toString}', '${secrets.constructor}', '${secrets.__proto__}', '${secrets.valueOf}',
  '${env.constructor}', '${env.__proto__}', '${env.toString:-x}', '${env.hasOwnProperty}',
  '${steps.constructor.output.x}', '${steps.__proto__.output.x}', '${steps.x}', '${steps.}', '${steps.back.output.__proto__}',
  '${}', '${', '}', '${vars.}', '${vars..a}', '$${vars.x}', '$$${vars.x}', '${vars.nested}', '${vars.nested.list.0}',
  '${vars.nested.list.99}', 'x${vars.nested}', '${ vars . host }', '${env.X:-${env.Y}}', '${env.FUZZ_TOKEN}', '${env.FUZZ_EMPTY:-}',
  '${env.UNSET_FUZZ_VAR}', '${env.1BAD}', '${secrets.token}', '${secrets.file}', '${secrets.missing}', '${other.x}', '${VARS.host}',
  `\${${'a'.repeat(LONG)}}`, `\${vars.${'a.'.repeat(5000)}b}`, '${vars.host}'.repeat(5000), `\${steps.${'x'.repeat(LONG)}.output.a}`,
  `\${vars.${'h'.repeat(LONG)}ost}`, '${env.'.repeat(3000),
];
const REFS = [
  'http.constructor', 'http.__proto__', 'http.toString', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf',
  'process.hasOwnProperty', 'toxiproxy.constructor', '.', 'http.', '.get', '', 'toxiproxy.latency.extra', 'toxiproxy.latency',
  'toxiproxy.latncy', 'process.kill', 'process.stop', 'docker.kill', 'docker.pause', 'kubernetes.pod-kill', 'http', 'tcp', 'command',
  'HTTP', `${'h'.repeat(LONG)}ttp`, `http.${'g'.repeat(LONG)}`,
];
const IDS = ['slow', 'kill', 'back', 'slow-a', 'kill-a', 'a-back', 'Upper', '1x', 'x y', `${'a'.repeat(LONG)}`, `${'a'.repeat(LONG - 1)}b`, 'constructor', '__proto__'];
const MISC_STRINGS = [
  'http://', 'http://[::1', 'ftp://x', 'http://127.0.0.1:99999/', `http://${'a'.repeat(LONG)}/`, 'true', 'null', '~', '0x1F', '1e400', '-', '---',
  '\t', '\u0000', '\uFFFF', '\uD800', '\u2028', '\r\n', 'é', '💥', '<<', '*a', '&a', '!!binary', '#', '"', "'", '\\', 'GET', 'always', '2xx', '9xx',
];
const HOSTILE_KEYS = [
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', '<<', '$schema', '0', 'title ', 'Title', '-',
  `${'k'.repeat(LONG)}`, `${'titl'.repeat(5000)}e`, 'x.y', '${vars.host}',
];

function nested(depth: number, inner: unknown, kind: 'list' | 'map'): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = kind === 'list' ? [value] : { n: value };
  return value;
}

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1, 1.5, -0.5, 1e300, -1e300, 2 ** 53 + 1, NaN, Infinity, -Infinity),
  fc.constantFrom<unknown>([], {}, [null], [[]], [{}], { '': null }, [1], ['x']),
  fc.constantFrom<unknown>(...DURATIONS, ...RATIOS),
  fc.constantFrom<unknown>(...SUBSTITUTIONS),
  fc.constantFrom<unknown>(...REFS, ...IDS, ...MISC_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(LONG, HUGE).map((n) => 'a'.repeat(n)),
  fc.record({ depth: fc.integer({ min: 1, max: 120 }), kind: fc.constantFrom<'list' | 'map'>('list', 'map') }).map(({ depth, kind }) => nested(depth, 'x', kind)),
  fc.jsonValue({ maxDepth: 3 }),
);

// ---- structural mutations -----------------------------------------------------------------------

type Path = (string | number)[];

export type StructuralMutation =
  | { kind: 'delete'; at: number }
  | { kind: 'rename'; at: number; how: KeyChange }
  | { kind: 'add'; at: number; key: KeyChange; value: unknown }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'graft'; at: number; from: number; fromAt: number }
  | { kind: 'wrap'; at: number; as: 'list' | 'map' | 'deep' }
  | { kind: 'empty'; at: number };

/** How a key changes: a typo at a position, or a hostile key. */
type KeyChange = { typo: 'insert' | 'delete' | 'swap' | 'case' | 'double'; index: number; char: string } | { hostile: string };

const keyChange: fc.Arbitrary<KeyChange> = fc.oneof(
  fc.record({
    typo: fc.constantFrom<'insert' | 'delete' | 'swap' | 'case' | 'double'>('insert', 'delete', 'swap', 'case', 'double'),
    index: fc.nat(64),
    char: fc.constantFrom('a', 'e', 's', '-', '_', '.', ' ', 'é'),
  }),
  fc.record({ hostile: fc.constantFrom(...HOSTILE_KEYS) }),
);

export const structuralMutation: fc.Arbitrary<StructuralMutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('rename' as const), at: fc.nat(), how: keyChange }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: keyChange, value: hostileValue }),
  { arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }), weight: 3 },
  fc.record({ kind: fc.constant('graft' as const), at: fc.nat(), from: fc.nat(), fromAt: fc.nat() }),
  fc.record({ kind: fc.constant('wrap' as const), at: fc.nat(), as: fc.constantFrom<'list' | 'map' | 'deep'>('list', 'map', 'deep') }),
  fc.record({ kind: fc.constant('empty' as const), at: fc.nat() }),
);

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every path in a document, root first, in a stable order. Bounded, so huge documents stay cheap. */
function pathsOf(value: unknown, limit = 5000): Path[] {
  const out: Path[] = [];
  const walk = (node: unknown, path: Path) => {
    if (out.length >= limit) return;
    out.push(path);
    if (Array.isArray(node)) node.forEach((item, index) => walk(item, [...path, index]));
    else if (isMapping(node)) for (const key of Object.keys(node)) walk(node[key], [...path, key]);
  };
  walk(value, []);
  return out;
}

function getAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const segment of path) node = (node as Record<string | number, unknown>)[segment];
  return node;
}

/** Sets an own property, even `__proto__`, so the mutation reaches the serialized text as written. */
function setOwn(target: Record<string | number, unknown> | unknown[], key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  setOwn(parent, path[path.length - 1]!, value);
  return root;
}

function changeKey(key: string, how: KeyChange): string {
  if ('hostile' in how) return how.hostile;
  const i = key.length === 0 ? 0 : how.index % key.length;
  switch (how.typo) {
    case 'insert':
      return key.slice(0, i) + how.char + key.slice(i);
    case 'delete':
      return key.slice(0, i) + key.slice(i + 1);
    case 'swap':
      return i + 1 < key.length ? key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2) : key + how.char;
    case 'case':
      return key.slice(0, i) + (key[i] ?? '').toUpperCase() + key.slice(i + 1);
    case 'double':
      return key.slice(0, i) + (key[i] ?? '') + key.slice(i);
  }
}

/** Rebuilds a mapping with one key renamed, keeping the order of the others. */
function renameKey(map: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(map)) setOwn(out, key === from ? to : key, map[key]);
  return out;
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isMapping(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) setOwn(out, key, clone(value[key]));
    return out;
  }
  return value;
}

export function applyStructural(value: unknown, mutations: readonly StructuralMutation[], bases: readonly Base[]): unknown {
  let root = clone(value);
  for (const mutation of mutations) {
    const paths = pathsOf(root);
    const path = paths[mutation.at % paths.length]!;
    const parentPath = path.slice(0, -1);
    const last = path[path.length - 1];
    const parent = path.length > 0 ? getAt(root, parentPath) : undefined;
    switch (mutation.kind) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(last as number, 1);
        else if (isMapping(parent)) delete parent[last as string];
        else root = undefined;
        break;
      case 'rename':
        if (isMapping(parent) && typeof last === 'string') root = setAt(root, parentPath, renameKey(parent, last, changeKey(last, mutation.how)));
        break;
      case 'add': {
        const target = getAt(root, path);
        const container = isMapping(target) ? target : isMapping(parent) ? parent : undefined;
        if (container) {
          const keys = Object.keys(container);
          const near = keys.length ? keys[mutation.at % keys.length]! : 'title';
          setOwn(container, changeKey(near, mutation.key), clone(mutation.value));
        }
        break;
      }
      case 'replace':
        root = setAt(root, path, clone(mutation.value));
        break;
      case 'graft': {
        const donor = bases[mutation.from % bases.length]!.value;
        const donorPaths = pathsOf(donor);
        root = setAt(root, path, clone(getAt(donor, donorPaths[mutation.fromAt % donorPaths.length]!)));
        break;
      }
      case 'wrap': {
        const current = getAt(root, path);
        root = setAt(root, path, mutation.as === 'list' ? [current] : mutation.as === 'map' ? { value: current } : nested(80, current, 'list'));
        break;
      }
      case 'empty': {
        const current = getAt(root, path);
        root = setAt(root, path, Array.isArray(current) ? [] : isMapping(current) ? {} : current === null ? '' : null);
        break;
      }
    }
  }
  return root;
}

// ---- text and byte damage -----------------------------------------------------------------------

const SNIPPETS = [
  '\t', '  ', '\n', ':', ': ', '- ', '{', '}', '[', ']', '"', "'", '#', ',', '&a ', '*a', '*v', '!!binary ', '!!set ', '!!omap ', '!!timestamp ',
  '!!js/function ', '!foo ', '!!str ', '!!int ', '!!float ', '<<: *a\n', '? ', '|', '>', '---\n', '...\n', '%YAML 1.1\n---\n', '%TAG ! tag:x,2000:\n',
  '${', '${vars.host}', '\r', '\u2028', '\ufeff', '\\', '__proto__: {x: 1}\n', 'x: &v { self: *v }\n', 'vars: &v { self: *v }\n', '&v [*v]',
  '/* c */', '// c\n', ',]', ',}', '\u0085', '\u00a0',
];

export type TextMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'cut'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'duplicate-line'; at: number }
  | { kind: 'swap-lines'; at: number }
  | { kind: 'tab-indent'; at: number }
  | { kind: 'crlf' }
  | { kind: 'bom' };

export const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  { arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 8 })) }), weight: 3 },
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('tab-indent' as const), at: fc.nat() }),
  fc.constant({ kind: 'crlf' as const }),
  fc.constant({ kind: 'bom' as const }),
);

export function applyText(text: string, mutations: readonly TextMutation[]): string {
  let out = text;
  for (const mutation of mutations) {
    const lines = () => out.split('\n');
    const offset = 'at' in mutation ? mutation.at % (out.length + 1) : 0;
    switch (mutation.kind) {
      case 'truncate':
        out = out.slice(0, offset);
        break;
      case 'cut':
        out = out.slice(0, offset) + out.slice(offset + mutation.length);
        break;
      case 'insert':
        out = out.slice(0, offset) + mutation.text + out.slice(offset);
        break;
      case 'duplicate-line': {
        const all = lines();
        const i = mutation.at % all.length;
        all.splice(i, 0, all[i]!);
        out = all.join('\n');
        break;
      }
      case 'swap-lines': {
        const all = lines();
        const i = mutation.at % all.length;
        if (i + 1 < all.length) [all[i], all[i + 1]] = [all[i + 1]!, all[i]!];
        out = all.join('\n');
        break;
      }
      case 'tab-indent': {
        const all = lines();
        const i = mutation.at % all.length;
        all[i] = all[i]!.replace(/^ {1,2}/, '\t');
        out = all.join('\n');
        break;
      }
      case 'crlf':
        out = out.replace(/\n/g, '\r\n');
        break;
      case 'bom':
        out = `\ufeff${out}`;
        break;
    }
  }
  return out;
}

export type ByteMutation = { kind: 'flip'; at: number; mask: number } | { kind: 'set'; at: number; byte: number } | { kind: 'invalid-utf8'; at: number; bytes: readonly number[] };

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x09, 0x0a, 0x0d, 0x22, 0x3a, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xfe, 0xff) }),
  fc.record({
    kind: fc.constant('invalid-utf8' as const),
    at: fc.nat(),
    bytes: fc.constantFrom<readonly number[]>([0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbb, 0xbf]),
  }),
);

export function applyBytes(bytes: Buffer, mutations: readonly ByteMutation[]): Buffer {
  let out = bytes;
  for (const mutation of mutations) {
    const at = mutation.at % (out.length + 1);
    if (mutation.kind === 'invalid-utf8') {
      out = Buffer.concat([out.subarray(0, at), Buffer.from(mutation.bytes), out.subarray(at)]);
    } else if (at < out.length) {
      out = Buffer.from(out);
      out[at] = mutation.kind === 'flip' ? out[at]! ^ mutation.mask : mutation.byte;
    }
  }
  return out;
}

// ---- whole inputs -------------------------------------------------------------------------------

export type Format = 'original' | 'yaml' | 'yaml-flow' | 'json' | 'json-compact';

export interface HostileInput {
  base: number;
  structural: StructuralMutation[];
  format: Format;
  /** The extension the file is given: JSON text may land in a .yaml file and the other way round. */
  ext: 'yaml' | 'yml' | 'json';
  text: readonly TextMutation[];
  bytes: readonly ByteMutation[];
}

export const hostileInput: fc.Arbitrary<HostileInput> = fc.record({
  base: fc.nat(),
  structural: fc.array(structuralMutation, { maxLength: 6 }),
  format: fc.constantFrom<Format>('original', 'yaml', 'yaml', 'yaml-flow', 'json', 'json-compact'),
  ext: fc.constantFrom<'yaml' | 'yml' | 'json'>('yaml', 'yaml', 'yml', 'json'),
  text: fc.oneof({ arbitrary: fc.constant<readonly TextMutation[]>([]), weight: 3 }, fc.array(textMutation, { minLength: 1, maxLength: 3 })),
  bytes: fc.oneof({ arbitrary: fc.constant<readonly ByteMutation[]>([]), weight: 6 }, fc.array(byteMutation, { minLength: 1, maxLength: 3 })),
});

function serialize(value: unknown, format: Format, original: string): string {
  try {
    switch (format) {
      case 'original':
        return original;
      case 'yaml':
        return stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 }) ?? '';
      case 'yaml-flow':
        return stringify(value, { aliasDuplicateObjects: false, collectionStyle: 'flow', lineWidth: 0 }) ?? '';
      case 'json':
        return JSON.stringify(value, null, 2) ?? '';
      case 'json-compact':
        return JSON.stringify(value) ?? '';
    }
  } catch {
    return JSON.stringify(value) ?? '';
  }
}

/** The file an input stands for: its bytes and its extension. */
export function renderInput(input: HostileInput, bases: readonly Base[]): { bytes: Buffer; ext: string; base: string } {
  const base = bases[input.base % bases.length]!;
  // Text-only bases and unmutated originals keep their comments, anchors and layout.
  const structural = base.value === undefined ? [] : input.structural;
  const format = structural.length === 0 && input.format !== 'json' && input.format !== 'json-compact' ? 'original' : input.format;
  const value = structural.length === 0 ? base.value : applyStructural(base.value, structural, bases);
  const text = applyText(format === 'original' || base.value === undefined ? base.text : serialize(value, format, base.text), input.text);
  return { bytes: applyBytes(Buffer.from(text, 'utf8'), input.bytes), ext: input.ext, base: base.name };
}
