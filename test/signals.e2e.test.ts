// Promise 1, end to end: a run interrupted during a fault undoes it; a run killed with SIGKILL leaves
// its fault in the ledger, and `faultline recover` from a new process undoes it.
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

  it('leaves the fault in the ledger after SIGKILL, and recover undoes it once', async () => {
    const run = startCli(['run', join(dir, 'freeze.yaml'), ...ledgerArgs(), '--journal', join(dir, 'journal-2.json')]);
    await waitFor('the victim to be stopped', async () => (await processState(victim.pid!)) === 'T');
    run.child.kill('SIGKILL');
    await run.done;
    expect(await processState(victim.pid!)).toBe('T');

    const refused = await runCli(['run', join(dir, 'freeze.yaml'), ...ledgerArgs(), '--journal', join(dir, 'journal-3.json')]);
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

  it('plan and --dry-run touch nothing', async () => {
    const plan = await runCli(['plan', join(dir, 'freeze.yaml')]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`pid ${victim.pid}`);
    const dry = await runCli(['run', '--dry-run', join(dir, 'freeze.yaml'), ...ledgerArgs()]);
    expect(dry.code).toBe(0);
    expect(await processState(victim.pid!)).not.toBe('T');
  });
});
