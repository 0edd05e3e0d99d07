import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FaultlineError, InvalidInputError } from '../core/errors.js';
import { createLazyRegistry } from '../drivers/builtin.js';
import { DriverRegistry } from '../drivers/registry.js';
import type { Driver } from '../drivers/types.js';
import { findExperimentFiles, loadExperiment, MAX_FILE_BYTES, parseVarAssignments, readVarFile } from './load.js';

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

const demo: Driver = {
  name: 'demo',
  description: 'fake driver for loader tests',
  defaultProbe: 'get',
  actions: {
    stop: {
      description: 'stops a port',
      args: z.strictObject({ port: z.int(), token: z.string().optional() }),
      reversible: true,
      prepare: async () => ({ targets: [], undo: null }),
      apply: async () => ({}),
    },
  },
  probes: {
    get: { description: 'gets a url', args: z.strictObject({ url: z.string() }), outputs: {}, run: async () => ({}) },
  },
  undos: {},
};
const registry = new DriverRegistry([demo]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-load-'));
});

async function write(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function problemsOf(name: string, content: string | Buffer, env: Record<string, string> = {}) {
  await write(name, content);
  const error = await loadExperiment(name, { cwd: dir, env, registry }).then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(InvalidInputError);
  return (error as InvalidInputError).problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
}

async function fileErrorOf(path: string): Promise<FaultlineError> {
  const error = await loadExperiment(path, { cwd: dir, env: {}, registry }).then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(FaultlineError);
  expect(error).not.toBeInstanceOf(InvalidInputError);
  expect((error as FaultlineError).code).toBe('E_FILE');
  return error as FaultlineError;
}

const valid = `# yaml-language-server: $schema=../schema/experiment.json
version: 1
title: Stop the backend on \${vars.port}
vars:
  port: 8081
  demo: { without: none, other: 1 }
secrets:
  token: { env: API_TOKEN }
method:
  - id: stop
    fault: demo.stop
    duration: 2s
    with: { port: "\${vars.port}", token: "\${secrets.token}" }
  - probe: demo
    at: 1s
    with: { url: "http://localhost:\${env.PORT:-8080}/\${vars.demo.without}?pid=\${steps.stop.output.pid}" }
`;

describe('loadExperiment', () => {
  it('loads, substitutes and validates a YAML experiment', async () => {
    await write('valid.yaml', valid);
    const loaded = await loadExperiment('valid.yaml', { cwd: dir, env: { API_TOKEN: 'tok-123' }, registry });
    expect(loaded.file).toBe(join(dir, 'valid.yaml'));
    expect(loaded.experiment.title).toBe('Stop the backend on 8081');
    expect(loaded.experiment.method[0]).toMatchObject({ fault: 'demo.stop', duration: 2000, with: { port: 8081, token: 'tok-123' } });
    expect(loaded.experiment.method[1]?.with?.url).toBe('http://localhost:8080/none?pid=${steps.stop.output.pid}');
    expect(loaded.secretValues).toEqual(['tok-123']);
    expect((loaded.source as { method: { with: unknown }[] }).method[0]?.with).toEqual({ port: '${vars.port}', token: '${secrets.token}' });
  });

  it('lets --var values override the file\'s vars, merging nested ones', async () => {
    await write('valid.yaml', valid);
    const vars = parseVarAssignments(['port=9090', 'demo.without=timeouts']);
    const loaded = await loadExperiment('valid.yaml', { cwd: dir, env: { API_TOKEN: 't', PORT: '7000' }, vars, registry });
    expect(loaded.experiment.method[0]?.with?.port).toBe(9090);
    expect(loaded.experiment.method[1]?.with?.url).toContain('localhost:7000/timeouts?');
    expect(loaded.experiment.vars).toEqual({ port: 9090, demo: { without: 'timeouts', other: 1 } });
  });

  it('loads JSON with positions', async () => {
    const json = JSON.stringify({ version: 1, title: 'json', method: [{ fault: 'demo.stop', with: { port: 'x' } }] }, null, 2);
    expect(await problemsOf('bad-arg.json', json)).toEqual(['8:17 method[0].with.port: expected a number, found "x"']);
  });

  it('reports every problem at once, in document order, keys located at the key', async () => {
    const problems = await problemsOf(
      'many.yaml',
      `version: 1
titel: x
settings: { timeout: soon }
method:
  - fault: demo.stpo
  - probe: demo
    with: { url: "\${vars.nope}", extra: 1 }
`,
    );
    expect(problems).toEqual([
      '1:1 title: missing title: expected text',
      '2:1 titel: unknown key "titel"',
      '3:22 settings.timeout: expected a duration like 500ms, 2s or 1m, got "soon"',
      '5:12 method[0].fault: unknown action "demo.stpo"',
      '7:19 method[1].with.url: unknown var "nope"',
      '7:34 method[1].with.extra: unknown key "extra"',
    ]);
  });

  it('reports a missing secret source and ${steps.…} outside activities', async () => {
    const problems = await problemsOf(
      'secret.yaml',
      `version: 1
title: "\${steps.a.output}"
secrets:
  token: { env: NOT_SET }
method:
  - probe: demo
    with: { url: "x" }
`,
    );
    expect(problems).toEqual([
      '2:9 title: ${steps.a.output} can only be used inside setup, hypothesis probes, method, rollbacks, abort and teardown',
      '4:17 secrets.token.env: secret "token" comes from the environment variable NOT_SET, which is not set',
    ]);
  });

  it('explains a top level that is not a mapping, and alias problems', async () => {
    expect(await problemsOf('list.yaml', '- a\n- b\n')).toEqual(['1:1 : expected a mapping of experiment keys (version, title, method, …), found a list']);
    expect(await problemsOf('scalar.json', '"text"')).toEqual(['1:1 : expected a mapping of experiment keys (version, title, method, …), found a text']);
    expect(await problemsOf('alias.yaml', 'version: 1\ntitle: *nope\n')).toEqual(['2:8 : alias *nope refers to no anchor']);
  });

  it('locates JSON syntax errors V8 would not place', async () => {
    expect(await problemsOf('literal.json', '{\n  "version": tru\n}')).toEqual(['2:14 : expected a value, found "t"']);
    expect(await problemsOf('quote.json', "{\n  'version': 1\n}")).toEqual(['2:3 : expected a double-quoted property name, found "\'"']);
    expect(await problemsOf('missing-comma.json', '{"a": 1\n "b": 2}')).toEqual(['2:2 : expected "," or "}" after a property value, found "\\""']);
    expect(await problemsOf('unterminated.json', '{"a": "b}')).toEqual(['1:7 : a string that never ends: the closing " is missing']);
  });
});

describe('hostile inputs', () => {
  const n = 20_000;
  const cases: [string, () => string | Buffer, RegExp][] = [
    ['empty.yaml', () => '', /holds no experiment \(it is empty\)/],
    ['comments.yaml', () => '# nothing\n\n   \n# here\n', /holds no experiment \(only comments\)/],
    ['nul.yaml', () => 'version: 1\ntitle: "a\0b"\n', /binary data \(a NUL byte\)/],
    ['latin1.yaml', () => Buffer.from([0x74, 0x3a, 0x20, 0xe9, 0x0a]), /binary data \(bytes that are not UTF-8\)/],
    ['random.yaml', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)), /binary data/],
    ['brackets.yaml', () => '['.repeat(n) + ']'.repeat(n), /nested more than 64 levels/],
    ['dashes.yaml', () => '- '.repeat(n) + 'x\n', /nested more than 64 levels/],
    ['flow-maps.yaml', () => '{a: '.repeat(n) + '1' + '}'.repeat(n), /nested more than 64 levels/],
    ['deep.json', () => '{"a":'.repeat(n) + '1' + '}'.repeat(n), /nested more than 64 levels/],
    // 20,000 levels of "a:" with growing indentation are 400 MB; the size limit stops those, this is the deepest that fits.
    ['indented.yaml', () => Array.from({ length: 2_800 }, (_, i) => `${' '.repeat(i)}a:\n`).join(''), /nested more than 64 levels/],
    [
      'bomb.yaml',
      () =>
        ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)].join('\n'),
      /alias bomb/,
    ],
    ['many-tokens.yaml', () => '[' + '1,'.repeat(1_000_000) + '1]', /more than 50,000 tokens/],
    ['many-keys.yaml', () => Array.from({ length: 200_000 }, (_, i) => `k${i}: 1\n`).join(''), /more than 50,000 tokens/],
    ['tabs.yaml', () => 'version: 1\nmethod:\n\t- probe: demo\n', /tabs are not allowed as indentation/],
    ['two-docs.yaml', () => 'version: 1\n---\nversion: 1\n', /a second document starts here/],
    ['syntax.yaml', () => 'version: 1\ntitle: [unclosed\nmethod: []\n', /Flow sequence|must be sufficiently indented|Missing/],
    // A 20 KB var used 40,000 times: 800 MB if it were expanded.
    [
      'expansion-text.yaml',
      () =>
        `version: 1\ntitle: t\nvars:\n  a: ${'x'.repeat(20_000)}\nmethod:\n  - probe: demo\n    with:\n${Array.from({ length: 100 }, (_, i) => `      h${i}: "${'${vars.a}'.repeat(400)}"\n`).join('')}`,
      /expansion bomb/,
    ],
    ['expansion-values.yaml', () => `version: 1\ntitle: t\nvars:\n  a: [${Array(8000).fill('1').join(',')}]\ntags:\n${'  - ${vars.a}\n'.repeat(3000)}method: []\n`, /expansion bomb/],
    // 80,000 failing references: one problem for each text, not one for each reference.
    ['failing-references.yaml', () => `version: 1\ntitle: t\nvars:\n${Array.from({ length: 200 }, (_, i) => `  t${i}: "${'${vars.b}'.repeat(400)}"\n`).join('')}method: []\n`, /cannot be used here/],
    // 3,000 unclosed ${ in a text that 120 references repeat: quadratic scanning took 5.7 s.
    [
      'unclosed-expressions.yaml',
      () => `version: 1\ntitle: t\nvars:\n  a: ["${'${env.'.repeat(3000)}", ${Array(8000).fill('1').join(',')}]\ntags:\n${'  - ${vars.a}\n'.repeat(120)}method: []\n`,
      /unterminated \$\{/,
    ],
    ['self-alias.yaml', () => 'version: 1\ntitle: t\nvars: &v { a: [1, { b: *v }] }\nmethod: []\n', /inside the value of its own anchor/],
    [
      'deep-aliases.yaml',
      () => {
        // Each anchor nests the one before 50 levels deeper: fine in the text, 200 levels once expanded.
        const lines = ['version: 1', 'title: t', 'vars:', `  a0: &a0 ${'['.repeat(50)}1${']'.repeat(50)}`];
        for (let i = 1; i < 4; i++) lines.push(`  a${i}: &a${i} ${'['.repeat(50)}*a${i - 1}${']'.repeat(50)}`);
        return `${lines.join('\n')}\nmethod: []\n`;
      },
      /aliases nest the document more than 128 levels deep/,
    ],
  ];

  it.each(cases)('%s gets a clear error quickly', async (name, content, message) => {
    await write(name, content());
    const started = process.cpuUsage();
    const error = await loadExperiment(name, { cwd: dir, env: {}, registry }).then(() => undefined, (caught: unknown) => caught);
    // CPU time, not wall time, with room for a busy machine: this guards against a blow-up (seconds
    // of work on a hostile file), not against a slow one.
    expect(cpuMs(started)).toBeLessThan(2000);
    expect(error).toBeInstanceOf(InvalidInputError);
    const problems = (error as InvalidInputError).problems;
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.length).toBeLessThan(1000);
    expect(problems.map((p) => p.message).join('\n')).toMatch(message);
    for (const problem of problems) expect(problem.line).toBeGreaterThanOrEqual(1);
  });

  it('refuses a 20 MB file by its size, before reading it', async () => {
    await write('huge.yaml', `title: "${'x'.repeat(20 * 1024 * 1024)}"\n`);
    const started = process.cpuUsage();
    const error = await fileErrorOf('huge.yaml');
    expect(cpuMs(started)).toBeLessThan(2000); // refused by its size, never parsed
    expect(error.message).toMatch(/is 20\.0 MiB; experiment files are limited to 4 MiB/);
    expect(MAX_FILE_BYTES).toBe(4 * 1024 * 1024);
  });

  it('refuses missing files, folders and devices', async () => {
    expect((await fileErrorOf('missing.yaml')).message).toMatch(/missing\.yaml does not exist/);
    await mkdir(join(dir, 'folder.yaml'), { recursive: true });
    const folder = await fileErrorOf('folder.yaml');
    expect(folder.message).toMatch(/is a folder, not an experiment file/);
    expect(folder.hint).toContain('faultline run <folder>');
    expect((await fileErrorOf('/dev/null')).message).toMatch(/is not a regular file/);
  });
});

describe('parseVarAssignments', () => {
  it('refuses __proto__, which would pollute the prototype of every object', () => {
    expect(() => parseVarAssignments(['__proto__.polluted=yes'])).toThrow(/is not a var name/);
    expect(() => parseVarAssignments(['a.__proto__=1'])).toThrow(/is not a var name/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('builds nested vars and reads scalars', () => {
    expect(parseVarAssignments(['demo.without=timeouts', 'port=8080', 'debug=true', 'id=007', 'empty=', 'demo.n=1', 'eq=a=b'])).toEqual({
      demo: { without: 'timeouts', n: 1 },
      port: 8080,
      debug: true,
      id: '007',
      empty: '',
      eq: 'a=b',
    });
  });

  it('refuses bad forms with a hint', () => {
    for (const bad of ['novalue', '=1', 'a..b=1', 'a b=1']) {
      const error = (() => {
        try {
          parseVarAssignments([bad]);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(FaultlineError);
      expect((error as FaultlineError).code).toBe('E_INPUT');
      expect((error as FaultlineError).hint).toContain('--var demo.without=timeouts');
    }
    expect(() => parseVarAssignments(['a=1', 'a.b=2'])).toThrow(/a is already set to a value/);
  });
});

describe('readVarFile', () => {
  it('reads YAML and JSON mappings', async () => {
    expect(await readVarFile(await write('vars.yaml', 'port: 1\ndemo:\n  without: retries\n'))).toEqual({ port: 1, demo: { without: 'retries' } });
    expect(await readVarFile(await write('vars.json', '{"port": 2}'))).toEqual({ port: 2 });
    expect(await readVarFile(await write('empty-vars.yaml', '# none\n'))).toEqual({});
  });

  it('reports a file that is not a mapping at its position', async () => {
    const error = await readVarFile(await write('list-vars.yaml', '\n- 1\n')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).problems[0]).toMatchObject({ line: 2, column: 1, message: 'expected a mapping of var names to values, found a list' });
  });
});

describe('findExperimentFiles', () => {
  it('lists YAML and JSON files, sorted, skipping folders and other files', async () => {
    const folder = join(dir, 'suite');
    await mkdir(join(folder, 'nested.yaml'), { recursive: true });
    for (const name of ['b.yml', 'a.yaml', 'c.json', 'notes.md', 'C.YAML']) await writeFile(join(folder, name), 'x: 1\n');
    await symlink(join(folder, 'a.yaml'), join(folder, 'd-link.yaml'));
    expect(await findExperimentFiles(folder)).toEqual(['C.YAML', 'a.yaml', 'b.yml', 'c.json', 'd-link.yaml'].map((name) => join(folder, name)));
  });

  it('refuses a missing folder', async () => {
    await expect(findExperimentFiles(join(dir, 'nope'))).rejects.toMatchObject({ code: 'E_FILE' });
  });
});

describe('loading only the drivers an experiment names', () => {
  const experiment = (fault: string) => `version: 1
title: lazy
targets:
  toxiproxy: { url: "http://127.0.0.1:8474" }
hypothesis:
  title: up
  probes:
    - { probe: http, with: { url: "http://127.0.0.1:1/" } }
method:
  - { fault: ${fault}, with: { pid: 1 }, at: 0s, duration: 1s }
verdicts:
  retries: { metric: { query: "up" } }
`;

  it('loads the drivers of activities, targets and metric verdicts, and no other', async () => {
    await write('lazy.yaml', experiment('process.stop'));
    const lazy = createLazyRegistry();
    await loadExperiment('lazy.yaml', { cwd: dir, env: {}, registry: lazy }).catch(() => undefined);
    for (const name of ['http', 'process', 'toxiproxy', 'prometheus']) expect(() => lazy.get(name), name).not.toThrow();
    for (const name of ['docker', 'kubernetes', 'faultproxy', 'tcp', 'command']) expect(() => lazy.get(name), name).toThrow(/before it was loaded/);
  });

  it('loads every driver when the experiment has a problem, so the hint can name any entry', async () => {
    await write('lazy-typo.yaml', experiment('process.stpo'));
    const lazy = createLazyRegistry();
    const error = await loadExperiment('lazy-typo.yaml', { cwd: dir, env: {}, registry: lazy }).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(lazy.partial).toBe(false);
    expect(JSON.stringify((error as InvalidInputError).problems)).toMatch(/did you mean process\.stop/);
  });
});
