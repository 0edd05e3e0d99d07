// The command line as users meet it: help, exit codes, init, drivers, schema, and bad input handled
// without a stack trace.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

describe('faultline CLI', () => {
  it('documents the exit codes in --help', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ', '5 ', '130']) expect(result.stdout).toContain(`  ${code}`);
    const runHelp = await runCli(['run', '--help']);
    expect(runHelp.stdout).toMatch(/--dry-run/);
    expect(runHelp.stdout).toMatch(/rollback incomplete/);
  });

  it('treats a usage mistake as invalid input', async () => {
    const result = await runCli(['run']);
    expect(result.code).toBe(2);
    const typo = await runCli(['rnu']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/did you mean run/i);
    // A bound Node's timers cannot wait (beyond 596h) would fire at once: refused, as is no time at all.
    for (const timeout of ['0s', '99999999h', '-5s']) {
      const result = await runCli(['run', 'any.yaml', '--timeout', timeout]);
      expect({ timeout, code: result.code }).toEqual({ timeout, code: 2 });
      expect(result.stderr).toMatch(/--timeout/);
    }
  });

  it('writes a starter experiment that validates, and refuses to overwrite it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-init-'));
    expect((await runCli(['init', 'exp.yaml'], { cwd: dir })).code).toBe(0);
    const validate = await runCli(['validate', 'exp.yaml'], { cwd: dir });
    expect(validate.stderr).toBe('');
    expect(validate.code).toBe(0);
    const again = await runCli(['init', 'exp.yaml'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('lists drivers with their arguments', async () => {
    const result = await runCli(['drivers']);
    expect(result.code).toBe(0);
    for (const ref of ['http.request', 'tcp.connect', 'command.run', 'process.kill', 'process.stop']) expect(result.stdout).toContain(ref);
    const json = JSON.parse((await runCli(['drivers', 'process', '--json'])).stdout);
    const stop = json[0].actions.find((a: { ref: string }) => a.ref === 'process.stop');
    expect(stop.reversible).toBe(true);
    expect(stop.arguments.map((a: { name: string }) => a.name)).toContain('pidfile');
  });

  it('reports bad input with file, line and column, exit 2, and no stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-bad-'));
    await writeFile(join(dir, 'bad.yaml'), 'version: 1\ntitle: x\nmethod:\n  - fault: process.stpo\n    with: { pid: 1 }\n');
    const result = await runCli(['run', join(dir, 'bad.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/bad\.yaml:4:\d+/);
    expect(result.stderr).toMatch(/process\.stop/);
    expect(result.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });

  it('reports a missing file and a directory clearly', async () => {
    const missing = await runCli(['validate', '/nonexistent/exp.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/exp\.yaml/);
    const dir = await mkdtemp(join(tmpdir(), 'faultline-empty-'));
    const empty = await runCli(['run', dir]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no experiment files/);
  });

  it('runs a folder in order with the worst exit code, and runs nothing when one file is broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-folder-'));
    const experiment = (title: string, run: string) =>
      `version: 1\ntitle: ${title}\nmethod:\n  - probe: command\n    with: { run: "touch ran-${title}; ${run}" }\n    expect: { exitCode: 0 }\n`;
    await writeFile(join(dir, 'a-passes.yaml'), experiment('a', 'true'));
    await writeFile(join(dir, 'b-deviates.yaml'), experiment('b', 'false'));
    const both = await runCli(['run', dir, '--journal', join(dir, 'journals'), '--ledger-dir', join(dir, 'ledger')], { cwd: dir });
    expect(both.code).toBe(1);
    const journals = await readdir(join(dir, 'journals'));
    expect(journals.sort()).toEqual(['a-passes.journal.json', 'b-deviates.journal.json']);
    expect(JSON.parse(await readFile(join(dir, 'journals', 'a-passes.journal.json'), 'utf8')).status).toBe('passed');

    await rm(join(dir, 'ran-a'));
    await writeFile(join(dir, 'c-broken.yaml'), 'version: 1\ntitle: c\nmethod:\n  - probe: comand\n');
    const broken = await runCli(['run', dir, '--ledger-dir', join(dir, 'ledger')], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/c-broken\.yaml:4:\d+/);
    expect(broken.stderr).toMatch(/nothing was run/);
    expect(await readdir(dir)).not.toContain('ran-a');
  });

  it('--repeat runs an experiment several times and journals every run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-repeat-'));
    await writeFile(join(dir, 'e.yaml'), 'version: 1\ntitle: counted\nmethod:\n  - probe: command\n    with: { run: "echo run >> runs.txt" }\n    expect: { exitCode: 0 }\n');
    const result = await runCli(['run', 'e.yaml', '--repeat', '3', '--journal', 'j.json', '--ledger-dir', 'ledger'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Run 3 of 3/);
    expect(result.stdout).toMatch(/run 2 of 3: PASSED/);
    expect((await readFile(join(dir, 'runs.txt'), 'utf8')).trim().split('\n')).toHaveLength(3);
    const journal = JSON.parse(await readFile(join(dir, 'j.json'), 'utf8'));
    expect(journal.repetitions.map((r: { index: number; status: string }) => `${r.index}:${r.status}`)).toEqual(['1:passed', '2:passed', '3:passed']);
    expect(new Set(journal.repetitions.map((r: { runId: string }) => r.runId)).size).toBe(3);
    for (const bad of [['--repeat', '0'], ['--repeat', 'x'], ['--repeat', '2', '--keep-faults']]) {
      expect((await runCli(['run', 'e.yaml', ...bad, '--ledger-dir', 'ledger'], { cwd: dir })).code).toBe(2);
    }
  });
});

describe('where a command writes', () => {
  const experiment = 'version: 1\ntitle: leaves a mark\nmethod:\n  - probe: command\n    with: { run: "touch ran" }\n    expect: { exitCode: 0 }\n';
  const noStack = /\n\s+at .+:\d+:\d+/;

  it('refuses, before anything runs, outputs that cannot be written: exit 2, a hint, no stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-outputs-'));
    await writeFile(join(dir, 'e.yaml'), experiment);
    await writeFile(join(dir, 'a-file'), 'x');
    const cases: [string[], RegExp][] = [
      [['--journal', '/proc/faultline/j.json'], /--journal: cannot write/],
      [['--ledger-dir', '/proc/faultline-ledger'], /--ledger-dir: cannot write/],
      [['--ledger-dir', join(dir, 'a-file')], /it is not a folder/],
      [['--junit', '/dev/null'], /not a regular file/],
      [['--markdown', join(dir, 'a-file', 'below.md')], /--markdown: cannot write/],
      [['--html', '/sys/faultline.html'], /--html: cannot write/],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(['run', 'e.yaml', '--ledger-dir', 'ledger', ...flags], { cwd: dir });
      expect({ flags, code: result.code }).toEqual({ flags, code: 2 });
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/hint:/);
      expect(result.stderr).not.toMatch(noStack);
      expect(await readdir(dir)).not.toContain('ran');
    }
    expect((await stat('/dev/null')).isCharacterDevice()).toBe(true);
  });

  it('recover with a ledger folder that cannot exist has nothing to recover, and says a file is not a folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-recover-'));
    const none = await runCli(['recover', '--ledger-dir', '/proc/faultline-ledger']);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/nothing to recover/);
    await writeFile(join(dir, 'ledger.jsonl'), '');
    const file = await runCli(['recover', '--ledger-dir', join(dir, 'ledger.jsonl')]);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/not a folder/);
  });

  it('report refuses to read a device or a pipe, or to write over one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-report-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const path of ['/dev/zero', fifo]) {
      const result = await runCli(['report', path]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/not a regular file/);
    }
    await writeFile(join(dir, 'e.yaml'), experiment);
    expect((await runCli(['run', 'e.yaml', '--journal', 'j.json', '--ledger-dir', 'ledger'], { cwd: dir })).code).toBe(0);
    const over = await runCli(['report', 'j.json', '--output', '/dev/null'], { cwd: dir });
    expect(over.code).toBe(2);
    expect((await stat('/dev/null')).isCharacterDevice()).toBe(true);
  });

  it('init writes into a new folder, and refuses a folder or a path it cannot create', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-init-'));
    expect((await runCli(['init', 'experiments/new/e.yaml'], { cwd: dir })).code).toBe(0);
    expect((await stat(join(dir, 'experiments', 'new', 'e.yaml'))).isFile()).toBe(true);
    for (const path of [dir, '/proc/faultline.yaml']) {
      const result = await runCli(['init', path]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/hint:/);
    }
  });
});

describe('a reader that goes away', () => {
  it('`faultline drivers | head -1` ends quietly, without an EPIPE stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn('sh', ['-c', `"${process.execPath}" bin/faultline.js drivers | head -1`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE/);
  });
});
