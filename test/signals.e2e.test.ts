// Promise 1, end to end: a run interrupted during a fault undoes it; a run killed with SIGKILL leaves
// its fault in the ledger, and `faultline recover` from a new process undoes it, or the guardian does
// with no human; two runs sharing a ledger folder lose nothing; the exit code and the journal agree.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processState, runCli, startCli, waitFor } from './support/cli.js';

let dir: string;
let victim: ChildProcess;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-signals-'));
  victim = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await writeFile(join(dir, 'victim.pid'), `${victim.pid}\n`);
  await writeFile(
    join(dir, 'freeze.yaml'),
    [
      'version: 1',
      'title: freeze a process for a long time',
      'method:',
      '  - name: freeze the victim',
      '    fault: process.stop',
      `    with: { pidfile: ${join(dir, 'victim.pid')} }`,
      '    duration: 60s',
    ].join('\n'),
  );
});

afterEach(() => {
  if (victim.pid) process.kill(victim.pid, 'SIGCONT');
  victim.kill('SIGKILL');
});

const ledgerArgs = () => ['--ledger-dir', join(dir, 'ledger')];

describe('interrupts', () => {
  it('undoes the fault on SIGINT and exits 130', async () => {
    const run = startCli(['run', join(dir, 'freeze.yaml'), ...ledgerArgs(), '--journal', join(dir, 'journal.json')]);
    await waitFor('the victim to be stopped', async () => (await processState(victim.pid!)) === 'T');
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(await processState(victim.pid!)).not.toBe('T');
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8'));
    expect(journal.status).toBe('interrupted');
    expect(journal.faults[0].status).toBe('undone');
    const recover = await runCli(['recover', ...ledgerArgs()]);
    expect(recover.stdout).toMatch(/nothing to recover/);
  });

  it('undoes the fault on SIGTERM too', async () => {
    const run = startCli(['run', join(dir, 'freeze.yaml'), ...ledgerArgs(), '--journal', join(dir, 'journal-1.json')]);
    await waitFor('the victim to be stopped', async () => (await processState(victim.pid!)) === 'T');
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(130);
    expect(await processState(victim.pid!)).not.toBe('T');
  });

  it('without a guardian, leaves the fault in the ledger after SIGKILL, and recover undoes it once', async () => {
    const run = startCli(['run', join(dir, 'freeze.yaml'), ...ledgerArgs(), '--journal', join(dir, 'journal-2.json'), '--no-guardian']);
    await waitFor('the victim to be stopped', async () => (await processState(victim.pid!)) === 'T');
    run.child.kill('SIGKILL');
    await run.done;
    expect(await processState(victim.pid!)).toBe('T');

    const refused = await runCli(['run', join(dir, 'freeze.yaml'), ...ledgerArgs(), '--journal', join(dir, 'journal-3.json'), '--no-guardian']);
    expect(refused.code).toBe(4);
    // The refusal is the run's result: the reporter prints it with the journal's other results.
    expect(refused.stdout).toMatch(/still applied/);
    expect(refused.stdout).toMatch(/faultline recover/);

    const preview = await runCli(['recover', '--dry-run', ...ledgerArgs()]);
    expect(preview.stdout).toMatch(/would undo process.stop/);
    expect(await processState(victim.pid!)).toBe('T');

    const recover = await runCli(['recover', ...ledgerArgs()]);
    expect(recover.code).toBe(0);
    expect(recover.stdout).toMatch(/undone process.stop/);
    expect(await processState(victim.pid!)).not.toBe('T');

    const again = await runCli(['recover', ...ledgerArgs()]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to recover/);
  });

  it('killed with SIGKILL after a fault was prepared ahead of its instant: its entry was never applied, and recover settles it harmlessly', async () => {
    // At 4 s: prepared (its intent written) 2 s before, so the kill falls between the intent and the instant.
    await writeFile(join(dir, 'later.yaml'), (await readFile(join(dir, 'freeze.yaml'), 'utf8')).replace('    duration: 60s', '    at: 4s\n    duration: 60s'));
    const run = startCli(['run', join(dir, 'later.yaml'), ...ledgerArgs(), '--no-guardian']);
    const ledgerFile = join(dir, 'ledger', 'ledger.jsonl');
    await waitFor('the intent written ahead', async () => (await readFile(ledgerFile, 'utf8').catch(() => '')).includes('"kind":"intent"'), 30_000, 20);
    run.child.kill('SIGKILL');
    await run.done;
    expect(await readFile(ledgerFile, 'utf8')).not.toContain('"kind":"applied"');
    expect(await processState(victim.pid!)).not.toBe('T');
    // Its undo (SIGCONT) runs on a process never stopped: harmless, and the entry is settled.
    const recover = await runCli(['recover', ...ledgerArgs()]);
    expect(recover.code).toBe(0);
    expect(recover.stdout).toMatch(/undone process.stop/);
    expect(await processState(victim.pid!)).not.toBe('T');
    expect((await runCli(['recover', ...ledgerArgs()])).stdout).toMatch(/nothing to recover/);
  });

  it('plan and --dry-run touch nothing', async () => {
    const plan = await runCli(['plan', join(dir, 'freeze.yaml')]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`pid ${victim.pid}`);
    const dry = await runCli(['run', '--dry-run', join(dir, 'freeze.yaml'), ...ledgerArgs()]);
    expect(dry.code).toBe(0);
    expect(await processState(victim.pid!)).not.toBe('T');
  });

  it('the guardian undoes the fault of a run killed with SIGKILL, with no command typed', async () => {
    const run = startCli(['run', join(dir, 'freeze.yaml'), ...ledgerArgs()]);
    await waitFor('the victim to be stopped', async () => (await processState(victim.pid!)) === 'T');
    expect(run.output().stdout).toMatch(/guardian \(pid \d+\) watches this run/);
    run.child.kill('SIGKILL');
    await run.done;
    await waitFor('the guardian to undo the fault', async () => (await processState(victim.pid!)) !== 'T', 30_000);
    await waitFor('the ledger to say so', async () => (await readFile(join(dir, 'ledger', 'ledger.jsonl'), 'utf8')).includes('"by":"guardian"'), 10_000);
    const recover = await runCli(['recover', ...ledgerArgs()]);
    expect(recover.stdout).toMatch(/nothing to recover/);
  });

  it('the guardian undoes a fault whose ttl passed while the run hangs', async () => {
    await writeFile(
      join(dir, 'hang.yaml'),
      [
        'version: 1',
        'title: a run that hangs holding a fault',
        'method:',
        '  - name: freeze the victim',
        '    fault: process.stop',
        `    with: { pidfile: ${join(dir, 'victim.pid')} }`,
        '    ttl: 2s',
        '    duration: 60s',
      ].join('\n'),
    );
    const run = startCli(['run', join(dir, 'hang.yaml'), ...ledgerArgs()]);
    await waitFor('the victim to be stopped', async () => (await processState(victim.pid!)) === 'T');
    // The run is frozen (a hung run): only the guardian can undo the fault now.
    process.kill(run.child.pid!, 'SIGSTOP');
    try {
      await waitFor('the ttl to undo the fault', async () => (await processState(victim.pid!)) !== 'T', 30_000);
    } finally {
      process.kill(run.child.pid!, 'SIGCONT');
      run.child.kill('SIGKILL');
      await run.done;
    }
    expect(await readFile(join(dir, 'ledger', 'ledger.jsonl'), 'utf8')).toContain('"by":"guardian"');
  });

  it('two runs sharing a ledger folder, both killed: recover finds and undoes every fault of both', async () => {
    const second = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, 'second.pid'), `${second.pid}\n`);
      const experiment = (pidfile: string) =>
        ['version: 1', 'title: freeze', 'method:', ...[1, 2, 3].flatMap((n) => [`  - name: freeze ${n}`, '    fault: process.stop', `    with: { pidfile: ${pidfile} }`, `    at: ${n * 100}ms`, '    duration: 60s'])].join('\n');
      await writeFile(join(dir, 'a.yaml'), experiment(join(dir, 'victim.pid')));
      await writeFile(join(dir, 'b.yaml'), experiment(join(dir, 'second.pid')));
      const a = startCli(['run', join(dir, 'a.yaml'), ...ledgerArgs(), '--no-guardian']);
      const b = startCli(['run', join(dir, 'b.yaml'), ...ledgerArgs(), '--no-guardian']);
      const applied = async () => (await readFile(join(dir, 'ledger', 'ledger.jsonl'), 'utf8').catch(() => '')).split('"kind":"applied"').length - 1;
      await waitFor('six faults applied by the two runs', async () => (await applied()) === 6, 30_000);
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await Promise.all([a.done, b.done]);
      expect(await processState(victim.pid!)).toBe('T');
      expect(await processState(second.pid!)).toBe('T');
      const recover = await runCli(['recover', ...ledgerArgs(), '--json']);
      expect(recover.code).toBe(0);
      const report = JSON.parse(recover.stdout) as { entries: { result: string }[] };
      expect(report.entries.map((e) => e.result)).toEqual(Array(6).fill('undone'));
      expect(await processState(victim.pid!)).not.toBe('T');
      expect(await processState(second.pid!)).not.toBe('T');
    } finally {
      if (second.pid) process.kill(second.pid, 'SIGCONT');
      second.kill('SIGKILL');
    }
  });

  it('a signal in the first second (loading, or the run just starting) ends it with 130 and a message, not the default action', async () => {
    const run = startCli(['run', join(dir, 'freeze.yaml'), ...ledgerArgs()]);
    // Node's own boot takes about 100 ms; then bin/faultline.js installs the early handler before the
    // CLI loads, and the run replaces it with its own. A second lands in one of those two; either way
    // the answer is exit 130 with a message, and nothing is left frozen.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/SIGTERM: (exiting|stopping)/);
    expect(await processState(victim.pid!)).not.toBe('T');
  });

  it('an interrupt during the teardown makes the journal say interrupted, as the exit code does', async () => {
    await writeFile(
      join(dir, 'slow-teardown.yaml'),
      [
        'version: 1',
        'title: a slow teardown',
        'method:',
        '  - name: freeze the victim',
        '    fault: process.stop',
        `    with: { pidfile: ${join(dir, 'victim.pid')} }`,
        '    duration: 100ms',
        'teardown:',
        '  - action: command.run',
        `    with: { run: [sh, -c, "touch ${join(dir, 'teardown-started')}; sleep 2"] }`,
      ].join('\n'),
    );
    const run = startCli(['run', join(dir, 'slow-teardown.yaml'), ...ledgerArgs(), '--journal', join(dir, 'teardown.json')]);
    await waitFor('the teardown to start', async () => readFile(join(dir, 'teardown-started')).then(() => true, () => false), 30_000);
    run.child.kill('SIGINT');
    const result = await run.done;
    const journal = JSON.parse(await readFile(join(dir, 'teardown.json'), 'utf8'));
    expect(result.code).toBe(130);
    expect(journal.status).toBe('interrupted');
  });
});
