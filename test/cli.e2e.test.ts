// The command line as users meet it: help, exit codes, init, drivers, schema, and bad input handled
// without a stack trace.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
