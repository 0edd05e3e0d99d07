import { validateXML } from 'xmllint-wasm';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../engine/journal.js';
import { expectGolden } from '../../test/support/golden.js';
import { goldenPath, JOURNAL_FIXTURES, loadFixture } from '../../test/support/journals.js';
import { requireJunitSchema, SCHEMA_TEST_TIMEOUT_MS } from '../../test/support/junit-schema.js';
import { renderJunit } from './junit.js';

/** libxml2's schema validation (xmllint --schema), compiled to WebAssembly: no system package needed. */
async function validate(xml: string, schema: string): Promise<string[]> {
  const result = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [schema] });
  return result.errors.map((error) => error.rawMessage);
}

/** The elements of a document, as [name, attributes] pairs in order; enough to check structure. */
function elements(xml: string, name: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  for (const match of xml.matchAll(new RegExp(`<${name}((?:\\s+[\\w.:-]+="[^"]*")*)\\s*/?>`, 'g'))) {
    found.push(Object.fromEntries([...match[1]!.matchAll(/([\w.:-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])));
  }
  return found;
}

describe('JUnit report', () => {
  it.each(JOURNAL_FIXTURES)('renders %s as its golden file', async (name) => {
    expectGolden(goldenPath(`${name}.junit.xml`), renderJunit([await loadFixture(name)]));
  });

  it('validates against the JUnit schema Jenkins reads (junit-10.xsd), each fixture and all of them in one file', async (ctx) => {
    const schema = await requireJunitSchema(ctx);
    const journals = await Promise.all(JOURNAL_FIXTURES.map(loadFixture));
    for (const journal of journals) expect(await validate(renderJunit([journal]), schema), journal.experiment.title).toEqual([]);
    expect(await validate(renderJunit(journals), schema)).toEqual([]);
  }, SCHEMA_TEST_TIMEOUT_MS);

  it('the schema check can fail: a testsuite without its required counts is rejected', async (ctx) => {
    const schema = await requireJunitSchema(ctx);
    const errors = await validate('<?xml version="1.0"?>\n<testsuites><testsuite name="x"><testcase name="y"/></testsuite></testsuites>\n', schema);
    expect(errors.join('\n')).toMatch(/attribute 'tests' is required/);
  }, SCHEMA_TEST_TIMEOUT_MS);

  it('stays valid XML with text that needs escaping: quotes, markup, CDATA ends, control characters, newlines', async (ctx) => {
    const schema = await requireJunitSchema(ctx);
    const journal = await loadFixture('deviated-timeouts');
    const nasty = 'a "quoted" <tag> & ]]> end\u0000\u0007\u001b[31m red\ttab\nline two \uFFFF done 🚀';
    const edited: Journal = {
      ...journal,
      experiment: { ...journal.experiment, title: nasty },
      reason: nasty,
      verdicts: journal.verdicts.map((v) => ({ ...v, title: nasty, evidence: { ...v.evidence, summary: nasty } })),
    };
    const xml = renderJunit([edited]);
    expect(await validate(xml, schema)).toEqual([]);
    expect(xml).toContain('name="a &quot;quoted&quot; &lt;tag&gt; &amp; ]]&gt; end\uFFFD\uFFFD\uFFFD[31m red&#9;tab&#10;line two \uFFFD done 🚀"');
  }, SCHEMA_TEST_TIMEOUT_MS);

  it('has one test case per verdict, per steady-state probe and phase, per method probe, and one for the run', async () => {
    const xml = renderJunit([await loadFixture('deviated-timeouts')]);
    const cases = elements(xml, 'testcase').map((c) => `${c.classname} / ${c.name}`);
    expect(cases).toEqual([
      'faultline.verdicts / timeouts: checkout answers within 2.5s while payments is slow',
      'faultline.verdicts / retries',
      'faultline.steady-state.before / checkout answers within 1s',
      'faultline.steady-state.before / orders &lt;list&gt; &amp; &quot;cart&quot; respond',
      'faultline.steady-state.during / checkout answers within 1s',
      'faultline.steady-state.during / orders &lt;list&gt; &amp; &quot;cart&quot; respond',
      'faultline.steady-state.after / checkout answers within 1s',
      'faultline.steady-state.after / orders &lt;list&gt; &amp; &quot;cart&quot; respond',
      'faultline.run / run',
    ]);
    const [suite] = elements(xml, 'testsuite');
    expect(suite).toMatchObject({ name: 'Checkout | payments slow by 2.5s', tests: '9', failures: '3', errors: '0', skipped: '0', time: '19.500', timestamp: '2026-05-04T09:45:00' });
    expect(elements(xml, 'failure')).toEqual([
      {
        type: 'verdict-failed',
        message: 'p99 latency 2.91s, bound ≤ 2.5s; requests dropped 3 (all slots held by slow requests), bound = 0 while slow-payments was live, 200 requests',
      },
      { type: 'missed', message: '1 of 2 checks missed; first: status 504, expected 200' },
      { type: 'missed', message: 'latency 1.42s, expected at most 1s' },
    ]);
    // The failure body carries every check, failed or not.
    expect(xml).toContain('✖ p99 latency: 2.91s (bound ≤ 2.5s)\n✖ requests dropped: 3 (all slots held by slow requests) (bound = 0)\nfaults: slow-payments\nwindows: fault slow-payments');
  });

  it('folds a repeated method probe into one test case', async () => {
    const xml = renderJunit([await loadFixture('no-workload')]);
    const method = elements(xml, 'testcase').filter((c) => c.classname === 'faultline.method');
    expect(method.map((c) => c.name)).toEqual(['gateway answers fast while backend-a is frozen', 'gateway keeps answering while backend-a is down', 'backend-a comes back by itself']);
  });

  it('skips a verdict that was not exercised with the reason, and makes a run error an <error>', async () => {
    const xml = renderJunit([await loadFixture('run-error-not-exercised')]);
    expect(elements(xml, 'skipped')).toEqual([
      { message: 'not exercised: its faults never took effect: slow-db apply-failed (toxiproxy.latency: proxy &quot;orders-db&quot; not found on http://127.0.0.1:8474)' },
      { message: 'not exercised: no fault of the method is judged by this verdict' },
    ]);
    expect(elements(xml, 'error')).toEqual([{ type: 'E_DRIVER', message: 'toxiproxy.latency: proxy &quot;orders-db&quot; not found on http://127.0.0.1:8474' }]);
    expect(xml).toContain('hint: create the proxy first (toxiproxy-cli create), or check targets.toxiproxy.proxies\nfaults: slow-db: apply-failed');
    expect(elements(xml, 'testsuite')[0]).toMatchObject({ tests: '5', failures: '0', errors: '1', skipped: '2' });
  });

  it.each([
    ['aborted', 'failure'],
    ['rollback-incomplete', 'error'],
    ['interrupted', 'error'],
    ['passed', undefined],
  ] as const)('reports a run that ended %s as %s', async (status, element) => {
    const journal = await loadFixture('no-workload');
    const xml = renderJunit([{ ...journal, status, reason: `ended ${status}` }]);
    const run = xml.slice(xml.indexOf('<testcase classname="faultline.run"'));
    if (element) expect(run).toMatch(new RegExp(`<${element} type="[\\w-]+" message="ended ${status}">`));
    else expect(run).not.toMatch(/<(failure|error)/);
  });

  it('sums the counts of several runs on <testsuites>', async () => {
    const xml = renderJunit(await Promise.all(JOURNAL_FIXTURES.map(loadFixture)));
    expect(elements(xml, 'testsuite')).toHaveLength(4);
    expect(elements(xml, 'testsuites')[0]).toEqual({ name: 'faultline', tests: '33', failures: '3', errors: '1', time: '64.717' });
  });
});
