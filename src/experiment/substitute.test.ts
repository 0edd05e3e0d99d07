import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  findStepReferences,
  mergeVars,
  parseScalarText,
  resolveSecrets,
  substituteVariables,
  type Namespace,
  type SubstitutionContext,
} from './substitute.js';
import type { DocumentIssue } from './validate.js';

function substitute(value: unknown, overrides: Partial<SubstitutionContext> = {}) {
  const issues: DocumentIssue[] = [];
  const context: SubstitutionContext = {
    env: { HOST: 'db.internal', PORT: '5432', EMPTY: '' },
    vars: { port: 8080, demo: { without: 'timeouts' }, hosts: ['a', 'b'], flag: true },
    secrets: { token: 's3cret' },
    allowed: new Set<Namespace>(['env', 'vars', 'secrets', 'steps']),
    ...overrides,
  };
  const result = substituteVariables(value, context, ['x'], issues);
  return { result, issues };
}

describe('parseScalarText', () => {
  it('reads numbers and booleans, and keeps everything else as text', () => {
    expect(parseScalarText('1')).toBe(1);
    expect(parseScalarText('-2.5')).toBe(-2.5);
    expect(parseScalarText('true')).toBe(true);
    expect(parseScalarText('false')).toBe(false);
    expect(parseScalarText('timeouts')).toBe('timeouts');
    expect(parseScalarText('')).toBe('');
  });

  it('keeps numbers that would not read back the same as text', () => {
    expect(parseScalarText('007')).toBe('007');
    expect(parseScalarText('1.10')).toBe('1.10');
    expect(parseScalarText('1e3')).toBe('1e3');
    expect(parseScalarText('null')).toBe('null');
  });
});

describe('substituteVariables', () => {
  it('resolves env, vars and secrets inside text', () => {
    const { result, issues } = substitute('postgres://${env.HOST}:${vars.port}/${vars.demo.without}?t=${secrets.token}');
    expect(issues).toEqual([]);
    expect(result).toBe('postgres://db.internal:8080/timeouts?t=s3cret');
  });

  it('gives a string that is exactly one reference the value\'s type', () => {
    expect(substitute('${vars.port}').result).toBe(8080);
    expect(substitute('${vars.flag}').result).toBe(true);
    expect(substitute('${vars.demo}').result).toEqual({ without: 'timeouts' });
    expect(substitute('${vars.hosts.1}').result).toBe('b');
    expect(substitute('${env.PORT}').result).toBe(5432);
    expect(substitute('${secrets.token}').result).toBe('s3cret');
  });

  it('uses an env default when the variable is unset or empty', () => {
    expect(substitute('${env.MISSING:-8081}').result).toBe(8081);
    expect(substitute('${env.EMPTY:-fallback}').result).toBe('fallback');
    expect(substitute('${env.MISSING:-}').result).toBe('');
    expect(substitute('x${env.MISSING:-a b}y').result).toBe('xa by');
  });

  it('walks lists and mappings and leaves keys alone', () => {
    const { result } = substitute({ '${vars.port}': ['${vars.port}', { port: '${vars.port}' }], n: 3 });
    expect(result).toEqual({ '${vars.port}': [8080, { port: 8080 }], n: 3 });
  });

  it('unescapes $${ and leaves ${steps.…} for the engine', () => {
    expect(substitute('cost: $${vars.port}').result).toBe('cost: ${vars.port}');
    expect(substitute('${steps.kill.output.pid}').result).toBe('${steps.kill.output.pid}');
    // The engine unescapes strings it resolves later, so their escapes stay.
    expect(substitute('$${x} ${steps.kill.output.pid} ${vars.port}').result).toBe('$${x} ${steps.kill.output.pid} 8080');
  });

  it('reports an unknown var at the expression, with a hint', () => {
    const { result, issues } = substitute('port ${vars.prot}');
    expect(result).toBe('port ${vars.prot}');
    expect(issues).toEqual([{ path: ['x'], needle: '${vars.prot}', message: 'unknown var "prot"', hint: 'did you mean ${vars.port}?' }]);
    expect(substitute('${vars.demo.withot}').issues[0]?.hint).toBe('did you mean ${vars.demo.without}?');
  });

  it('reports unset env vars, unknown secrets, namespaces and unterminated expressions', () => {
    expect(substitute('${env.NOPE}').issues[0]).toMatchObject({ message: 'environment variable NOPE is not set', hint: expect.stringContaining('${env.NOPE:-value}') });
    expect(substitute('${secrets.tokn}').issues[0]).toMatchObject({ message: 'unknown secret "tokn"', hint: 'did you mean ${secrets.token}?' });
    expect(substitute('${var.port}').issues[0]).toMatchObject({ message: expect.stringContaining('unknown reference ${var.port}'), hint: expect.stringContaining('${vars.port}') });
    expect(substitute('a ${env.HOST').issues[0]).toMatchObject({ message: expect.stringContaining('unterminated ${'), needle: '${' });
  });

  it('refuses a mapping inside text', () => {
    expect(substitute('x ${vars.demo}').issues[0]?.message).toContain('vars.demo is a mapping');
  });

  it('allows only the namespaces of the context', () => {
    const { issues } = substitute('${vars.port}', { allowed: new Set<Namespace>(['env']) });
    expect(issues[0]?.message).toContain('cannot be used here');
  });
});

describe('mergeVars', () => {
  it('merges nested mappings, later values winning', () => {
    expect(mergeVars({ demo: { without: null, port: 1 }, a: 1 }, { demo: { without: 'retries' }, b: 2 })).toEqual({
      demo: { without: 'retries', port: 1 },
      a: 1,
      b: 2,
    });
  });
});

describe('resolveSecrets', () => {
  it('reads secrets from env and from files beside the experiment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-secrets-'));
    await writeFile(join(dir, 'token.txt'), 'from-file\n');
    const { values, issues } = await resolveSecrets(
      { a: { env: 'TOKEN' }, b: { file: 'token.txt' }, c: { env: 'UNSET' }, d: { file: 'missing.txt' } },
      { dir, env: { TOKEN: 'from-env' } },
    );
    expect(values).toEqual({ a: 'from-env', b: 'from-file' });
    expect(issues.map((i) => i.path)).toEqual([
      ['secrets', 'c', 'env'],
      ['secrets', 'd', 'file'],
    ]);
    expect(issues[1]?.message).toContain('does not exist');
  });
});

describe('step references', () => {
  it('finds the step ids a string refers to', () => {
    expect(findStepReferences('pid ${steps.kill.output.pid} and $${steps.no} ${ steps.b.x }')).toEqual([
      { id: 'kill', path: ['output', 'pid'], expression: '${steps.kill.output.pid}' },
      { id: 'b', path: ['x'], expression: '${ steps.b.x }' },
    ]);
  });
});

describe('names of prototype properties', () => {
  it.each(['${env.constructor}', '${env.__proto__}', '${secrets.toString}', '${secrets.constructor}', '${vars.constructor}', '${vars.demo.hasOwnProperty}'])(
    '%s resolves to nothing: only own properties count',
    (text) => {
      const { result, issues } = substitute(text);
      expect(result).toBe(text);
      expect(issues).toHaveLength(1);
      expect(issues[0]!.message).toMatch(/not set|unknown secret|unknown var/);
    },
  );
});
