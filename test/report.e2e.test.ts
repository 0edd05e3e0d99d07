// Reports as users get them: `faultline report` on saved journals in every format, its errors on
// files that are not journals, and the JUnit and Markdown files `faultline run` writes.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateXML } from 'xmllint-wasm';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { fixturePath, goldenPath, JOURNAL_FIXTURES } from './support/journals.js';
import { requireJunitSchema, SCHEMA_TEST_TIMEOUT_MS } from './support/junit-schema.js';

const STACK_TRACE = /\n\s+at .+\(.+:\d+:\d+\)/;

describe('faultline report', () => {
  it.each([
    ['junit', 'junit.xml'],
    ['markdown', 'md'],
    ['json', 'report.json'],
  ])('renders a saved journal as %s, the same as its golden file', async (format, extension) => {
    const result = await runCli(['report', fixturePath('deviated-timeouts'), '--format', format]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(await readFile(goldenPath(`deviated-timeouts.${extension}`), 'utf8'));
  });

  it('renders the terminal summary by default, verdicts first, and exits 0 whatever the run\'s result', async () => {
    const result = await runCli(['report', fixturePath('deviated-timeouts')]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[1]).toBe('Checkout | payments slow by 2.5s');
    expect(lines[2]).toMatch(/^ {2}verdict +result +evidence$/);
    expect(result.stdout).toContain('Result: DEVIATED — ');
    expect(result.stdout).toContain(`journal: ${fixturePath('deviated-timeouts')}`);
  });

  it('writes to --output, and makes one JUnit file of a folder of journals', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-report-'));
    const journals = join(dir, 'journals');
    await mkdir(journals);
    for (const name of JOURNAL_FIXTURES) await writeFile(join(journals, `${name}.json`), await readFile(fixturePath(name)));
    const result = await runCli(['report', journals, '--format', 'junit', '--output', join(dir, 'out', 'junit.xml')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`junit report: ${join(dir, 'out', 'junit.xml')}\n`);
    const xml = await readFile(join(dir, 'out', 'junit.xml'), 'utf8');
    expect(xml.match(/<testsuite /g)).toHaveLength(4);
    const json = JSON.parse((await runCli(['report', journals, '--format', 'json'])).stdout);
    expect(json.map((r: { runId: string }) => r.runId)).toHaveLength(4);
  });

  it('refuses what is not a journal with a clear error, a hint and exit code 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-report-bad-'));
    await writeFile(join(dir, 'truncated.json'), (await readFile(fixturePath('passed-verdicts'), 'utf8')).slice(0, 500));
    await writeFile(join(dir, 'future.json'), JSON.stringify({ journalVersion: 9, status: 'passed' }));
    await writeFile(join(dir, 'experiment.json'), JSON.stringify({ version: 1, title: 'an experiment, not a journal', method: [] }));
    await mkdir(join(dir, 'empty'));
    const cases: [string[], RegExp][] = [
      [[join(dir, 'missing.json')], /✖ cannot read the journal .*missing\.json: no such file\n {2}hint: a journal is the JSON file `faultline run` writes/],
      [[join(dir, 'truncated.json')], /✖ .*truncated\.json is not JSON: .*\n {2}hint: /],
      [[join(dir, 'future.json'), '--format', 'json'], /✖ .*future\.json has journalVersion 9; this faultline reads journalVersion 1\n {2}hint: render it with the faultline version that wrote it/],
      [[join(dir, 'experiment.json'), '--format', 'junit'], /✖ .*experiment\.json is not a faultline journal: it has no journalVersion\n/],
      [[join(dir, 'empty')], /✖ .*empty: no journals \(\*\.json\) in this folder\n/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['report', ...args]);
      expect(result.code, args[0]).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(STACK_TRACE);
      expect(result.stdout).toBe('');
    }
    const badFormat = await runCli(['report', fixturePath('no-workload'), '--format', 'pdf']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toMatch(/Allowed choices are text, junit, markdown, json, html/);
  });

  it('documents itself in --help, and run documents --junit and --markdown', async () => {
    const help = await runCli(['report', '--help']);
    expect(help.stdout).toMatch(/--format <format> +what to render \(choices: "text", "junit", "markdown",\s+"json", "html", default: "text"\)/);
    expect(help.stdout).toMatch(/--format html the history of the runs/);
    const runHelp = await runCli(['run', '--help']);
    expect(runHelp.stdout).toMatch(/--junit <path>/);
    expect(runHelp.stdout).toMatch(/--markdown <path> .*\$GITHUB_STEP_SUMMARY/s);
    expect(runHelp.stdout).toMatch(/--html \[path\] +write a self-contained HTML report here/);
  });
});

describe('faultline run --junit --markdown', () => {
  const experiment = (title: string, steadyState: string, method: string) =>
    [
      'version: 1',
      `title: ${title}`,
      'hypothesis:',
      '  probes:',
      '    - name: the service answers',
      '      probe: command',
      `      with: { run: "${steadyState}" }`,
      '      expect: { exitCode: 0 }',
      'method:',
      '  - name: a request goes through',
      '    probe: command',
      `    with: { run: "${method}" }`,
      '    expect: { exitCode: 0 }',
      '',
    ].join('\n');

  it('writes one JUnit file with a testsuite per experiment, valid against the schema, and the Markdown summary, also to the job summary', async (ctx) => {
    const schema = await requireJunitSchema(ctx);
    const dir = await mkdtemp(join(tmpdir(), 'faultline-run-reports-'));
    await mkdir(join(dir, 'experiments'));
    await writeFile(join(dir, 'experiments', 'a-holds.yaml'), experiment('a holds', 'true', 'true'));
    await writeFile(join(dir, 'experiments', 'b-breaks.yaml'), experiment('b <breaks> & "misses"', 'true', 'exit 3'));
    await writeFile(join(dir, 'summary.md'), '# earlier step\n');
    const result = await runCli(
      ['run', 'experiments', '--journal', 'journals', '--ledger-dir', 'ledger', '--junit', 'reports/junit.xml', '--markdown', 'reports/summary.md', '--seed', '5'],
      { cwd: dir, env: { GITHUB_STEP_SUMMARY: join(dir, 'summary.md') } },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`junit: ${join(dir, 'reports', 'junit.xml')}`);
    expect(result.stdout).toContain(`markdown: ${join(dir, 'reports', 'summary.md')}`);

    const xml = await readFile(join(dir, 'reports', 'junit.xml'), 'utf8');
    const validation = await validateXML({ xml: [{ fileName: 'junit.xml', contents: xml }], schema: [schema] });
    expect(validation.errors.map((e) => e.rawMessage)).toEqual([]);
    expect(xml.match(/<testsuite name="[^"]*"/g)).toEqual(['<testsuite name="a holds"', '<testsuite name="b &lt;breaks&gt; &amp; &quot;misses&quot;"']);
    // Per experiment: the steady-state probe before and after, the method probe, the run.
    expect(xml).toMatch(/<testsuites name="faultline" tests="8" failures="1" errors="0"/);
    expect(xml).toMatch(/<testcase classname="faultline.method" name="a request goes through" time="[\d.]+">\n {6}<failure type="missed" message="exitCode: expected 0, got 3">/);

    const markdown = await readFile(join(dir, 'reports', 'summary.md'), 'utf8');
    expect(markdown).toMatch(/^## faultline: 2 experiments \(1 passed, 1 deviated\)\n/);
    expect(markdown).toContain('### ❌ DEVIATED: b &lt;breaks&gt; &amp; "misses"');
    expect(markdown).toContain('faultline run experiments/b-breaks.yaml --seed 5');
    expect(await readFile(join(dir, 'summary.md'), 'utf8')).toBe(`# earlier step\n${markdown}\n`);
  }, SCHEMA_TEST_TIMEOUT_MS);

  it('writes an HTML page per experiment into the folder --html names, and a folder of journals renders as one history page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-run-html-'));
    await mkdir(join(dir, 'experiments'));
    await writeFile(join(dir, 'experiments', 'a-holds.yaml'), experiment('a holds', 'true', 'true'));
    await writeFile(join(dir, 'experiments', 'b-breaks.yaml'), experiment('b breaks', 'true', 'exit 3'));
    const result = await runCli(['run', 'experiments', '--journal', 'journals', '--ledger-dir', 'ledger', '--html', 'reports/html'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`html: ${join(dir, 'reports', 'html', 'b-breaks.html')}`);
    expect(await readFile(join(dir, 'reports', 'html', 'a-holds.html'), 'utf8')).toContain('<title>a holds: faultline run ');
    // A folder of journals renders as one history page.
    const history = await runCli(['report', 'journals', '--format', 'html', '--output', 'reports/history.html'], { cwd: dir });
    expect(history.code).toBe(0);
    expect(history.stderr).toBe(`html report: ${join(dir, 'reports', 'history.html')}\n`);
    expect(await readFile(join(dir, 'reports', 'history.html'), 'utf8')).toContain('<h1>History of 2 experiments</h1>');
  });

  it('writes the reports of a single experiment, and no job summary when GITHUB_STEP_SUMMARY is unset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-run-report-'));
    await writeFile(join(dir, 'exp.yaml'), experiment('just one', 'true', 'true'));
    const result = await runCli(['run', 'exp.yaml', '--ledger-dir', 'ledger', '--junit', 'junit.xml', '--markdown', 'summary.md', '--journal', 'journal.json', '--html'], { cwd: dir });
    expect(result.code).toBe(0);
    // --html without a path: beside the journal.
    expect(result.stdout).toContain(`html: ${join(dir, 'journal.html')}`);
    expect((await runCli(['report', 'journal.json', '--format', 'html'], { cwd: dir })).stdout).toBe(await readFile(join(dir, 'journal.html'), 'utf8'));
    expect(result.stdout).not.toContain('GITHUB_STEP_SUMMARY');
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<testsuites name="faultline" tests="4" failures="0" errors="0"/);
    // The saved journal renders to the same files later.
    expect((await runCli(['report', 'journal.json', '--format', 'junit'], { cwd: dir })).stdout).toBe(xml);
    expect((await runCli(['report', 'journal.json', '--format', 'markdown'], { cwd: dir })).stdout).toBe(await readFile(join(dir, 'summary.md'), 'utf8'));
  });

  it('fails with exit 2, before anything runs, when a report cannot be written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-run-report-bad-'));
    await writeFile(join(dir, 'exp.yaml'), experiment('blocked', 'true', 'true'));
    await writeFile(join(dir, 'file'), 'not a folder');
    const result = await runCli(['run', 'exp.yaml', '--ledger-dir', 'ledger', '--junit', 'file/junit.xml', '--journal', 'journal.json'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).not.toContain('Result:');
    expect(result.stderr).toMatch(/✖ --junit: cannot write .*file\/junit\.xml: /);
    expect(result.stderr).toMatch(/hint: /);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    await expect(readFile(join(dir, 'journal.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses, with exit 2 and the file named, a journal edited into values faultline never writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-report-edited-'));
    const journal = JSON.parse(await readFile(fixturePath('deviated-timeouts'), 'utf8'));
    journal.faults[0].targets = 5;
    await writeFile(join(dir, 'edited.json'), JSON.stringify(journal));
    await writeFile(join(dir, 'intact.json'), await readFile(fixturePath('deviated-timeouts'), 'utf8'));
    // (A history page of several journals shows no targets: html is asked of the edited one alone.)
    for (const [format, files] of [['text', ['intact.json', 'edited.json']], ['markdown', ['intact.json', 'edited.json']], ['html', ['edited.json']]] as const) {
      const result = await runCli(['report', ...files.map((file) => join(dir, file)), '--format', format, '--output', join(dir, `out.${format}`)]);
      expect({ format, code: result.code }).toEqual({ format, code: 2 });
      expect(result.stderr).toMatch(/edited\.json cannot be rendered/);
      expect(result.stderr).not.toMatch(/intact\.json/);
      expect(result.stderr).not.toMatch(STACK_TRACE);
    }
  });
});
